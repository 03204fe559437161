"""Firm points placed in region polygons, Parquet in and Parquet out: out of core against
in memory and geopandas.

Run with ``.venv/bin/python -m benchmarks.locate_bench`` (``--quick`` for a smoke run).
Writes ``benchmarks/results/locate_bench.json`` and ``.md`` (``locate_bench_quick.*``).

Design. N firm points uniform on a square of side sqrt(N) km (projected metres) and
3,000 regions: the Voronoi cells of 3,000 random seeds clipped to the square (irregular
polygons of 10-20 vertices, like counties or labour-market areas). The points are
written to one Parquet file in untimed setup; every method reads that file, places each
point and writes a Parquet result, all inside the timed step:

* ``duckdb``: :func:`spillover.backends.locate_firms` (DuckDB batches of 10^6 rows, 2 GB cap);
* ``memory``: ``pandas.read_parquet``, :func:`spillover.geo.points_from_xy`,
  :func:`spillover.geo.assign_regions`, ``to_parquet`` (everything in memory);
* ``geopandas``: ``pandas.read_parquet``, ``geopandas.points_from_xy``,
  ``geopandas.sjoin(predicate="within")``, ``to_parquet`` (the peer; points on borders
  would repeat, none fall on one here).

Each measurement runs in a fresh process. Seconds are wall time; "peak MB" is the peak
resident set of the process during the step (Linux ``VmHWM`` reset before it). The
region codes of every method must agree on every point (checked).
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._common import close_machine, machine, quick_flag, status_kb, write_results

REGIONS = 3_000
CRS = "EPSG:3035"


def _regions(side: float) -> Any:
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(7)
    seeds = shapely.multipoints(rng.uniform(0, side, (REGIONS, 2)))
    frame = shapely.box(0, 0, side, side)
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame))
    cells = shapely.intersection(cells, frame)
    return gpd.GeoDataFrame({"code": np.arange(len(cells))}, geometry=cells, crs=CRS)


def _setup(n: int, folder: Path) -> tuple[Path, Any]:
    rng = np.random.default_rng(n)
    side = np.sqrt(n) * 1_000.0
    xy = rng.uniform(0.0, side, (n, 2))
    path = folder / "firms.parquet"
    pd.DataFrame({"firm": np.arange(n), "x": xy[:, 0], "y": xy[:, 1]}).to_parquet(path)
    return path, _regions(side)


def _step(case: str, path: Path, regions: Any, out: Path) -> None:
    if case == "duckdb":
        from spillover.backends import DuckDBBackend, locate_firms

        locate_firms(path, x="x", y="y", crs=CRS, regions=regions, region_key="code", out=out,
                     backend=DuckDBBackend(memory_limit="2GB"))  # fmt: skip
    elif case == "memory":
        from spillover.geo import assign_regions, points_from_xy

        pts = points_from_xy(pd.read_parquet(path), x="x", y="y", crs=CRS)
        pd.DataFrame(assign_regions(pts, regions, region_key="code")).drop(
            columns="geometry").to_parquet(out)  # fmt: skip
    elif case == "geopandas":
        import geopandas as gpd

        frame = pd.read_parquet(path)
        pts = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.x, frame.y), crs=CRS)
        joined = gpd.sjoin(pts, regions, predicate="within", how="inner")
        pd.DataFrame(joined).drop(columns=["geometry", "index_right"]).to_parquet(out)
    else:
        raise ValueError(case)


def measure(case: str, n: int) -> dict[str, Any]:
    """Untimed setup, then the timed step, in this (fresh) process."""
    with tempfile.TemporaryDirectory() as tmp:
        path, regions = _setup(n, Path(tmp))
        import geopandas  # noqa: F401 - imports are not timed

        import spillover.backends
        import spillover.geo  # noqa: F401

        Path("/proc/self/clear_refs").write_text("5")
        start = time.perf_counter()
        _step(case, path, regions, Path(tmp) / "out")
        seconds = time.perf_counter() - start
        peak = status_kb("VmHWM")
        codes = pd.read_parquet(Path(tmp) / "out", columns=["firm", "code"]).sort_values("firm")
    return {"case": case, "n": n, "seconds": round(seconds, 2), "peak_mb": round(peak / 1024),
            "rows": len(codes), "code_sum": int(codes["code"].sum())}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    quick = quick_flag(__doc__ or "", argv)
    sizes = [100_000] if quick else [1_000_000, 10_000_000]
    record: dict[str, Any] = {"machine": machine(), "runs": []}
    for n in sizes:
        for case in ("duckdb", "memory", "geopandas"):
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                run = pool.submit(measure, case, n).result()
            print(run, file=sys.stderr)
            record["runs"].append(run)
        same = {(r["rows"], r["code_sum"]) for r in record["runs"] if r["n"] == n}
        if len(same) != 1:
            raise SystemExit(f"methods disagree at N = {n}: {same}")
    close_machine(record)
    lines = [
        "# Points in regions (Parquet in, Parquet out; 3,000 Voronoi regions)",
        "",
        f"Load average {record['machine']['load_average_at_start']} at start, "
        f"{record['machine']['load_average_at_end']} at end; every method gives the same "
        "region for every point.",
        "",
        "| N points | method | seconds | peak MB |",
        "|---:|---|---:|---:|",
    ]
    lines += [f"| {r['n']:,} | {r['case']} | {r['seconds']} | {r['peak_mb']:,} |"
              for r in record["runs"]]  # fmt: skip
    stem = "locate_bench_quick" if quick else "locate_bench"
    write_results(stem, record, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
