"""Technology spillover pools at register scale, Parquet in and Parquet out: out of core
(DuckDB) against in memory.

Run with ``.venv/bin/python -m benchmarks.tech_pool_bench`` (``--quick`` for a smoke run).
Writes ``benchmarks/results/tech_pool_bench.json`` and ``.md`` (``tech_pool_bench_quick.*``).

Design. N firms over 5 years, each firm-year present with probability 0.9 (unbalanced),
a log-normal R&D stock; patent profiles over 400 classes, each firm patenting in 1-6
classes drawn with Zipf-like popularity (a few large classes, a long tail), counts
1-50. Rows and profiles are written to Parquet in untimed setup; every method reads
them, computes the Jaffe pool (and, as a second case, the Mahalanobis pool) and writes a
Parquet result, all inside the timed step:

* ``duckdb``: :func:`spillover.backends.technology_pool` (2 GB cap);
* ``dask``: the same function on a local Dask cluster of two thread workers (started in
  the untimed setup, in the measured process, so that its peak counts the workers too),
  the rows read from the same data split into four Parquet files (four partitions);
* ``memory``: ``pandas.read_parquet``, :func:`spillover.measures.technology_pool` with
  the long-format profiles (sparse products), ``to_parquet``.

No other Python package computes technology pools (the literature's code forms the
N x N proximity matrix, impossible at these N). Each measurement runs in a fresh
process; seconds are wall time, "peak MB" the process's peak resident set during the
step (Linux ``VmHWM`` reset before it). All methods' pools must agree (the sum and
the sum of squares to 1e-9 relative; checked).
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

CLASSES, YEARS = 400, 5


def _setup(n: int, folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(n)
    firm = np.repeat(np.arange(n), YEARS)
    year = np.tile(np.arange(2000, 2000 + YEARS), n)
    keep = rng.uniform(size=len(firm)) < 0.9
    rows = pd.DataFrame({"firm": firm[keep], "year": year[keep]})
    rows["rd"] = rng.lognormal(size=len(rows))
    per_firm = rng.integers(1, 7, n)
    popularity = 1.0 / np.arange(1, CLASSES + 1)
    cls = rng.choice(CLASSES, size=int(per_firm.sum()), p=popularity / popularity.sum())
    profiles = pd.DataFrame({"firm": np.repeat(np.arange(n), per_firm), "class": cls})
    profiles = profiles.drop_duplicates(["firm", "class"])
    profiles["count"] = rng.integers(1, 51, len(profiles)).astype(float)
    profiles = profiles[profiles["firm"].isin(rows["firm"])]  # firms absent every year
    rows.to_parquet(folder / "rows.parquet")
    profiles.to_parquet(folder / "profiles.parquet")
    return folder / "rows.parquet", folder / "profiles.parquet"


def _step(
    case: str, proximity: str, rows: Path, profiles: Path, out: Path, cluster: Any = None
) -> None:
    if case == "dask":
        from spillover.backends import technology_pool

        technology_pool(rows, column="rd", shares=profiles, entity="firm", time="year", out=out,
                        proximity=proximity, backend=cluster)  # fmt: skip
    elif case == "duckdb":
        from spillover.backends import DuckDBBackend, technology_pool

        technology_pool(rows, column="rd", shares=profiles, entity="firm", time="year", out=out,
                        proximity=proximity, backend=DuckDBBackend(memory_limit="2GB"))  # fmt: skip
    elif case == "memory":
        from spillover import Panel
        from spillover.measures import technology_pool

        panel = Panel(pd.read_parquet(rows), entity="firm", time="year")
        counts = pd.read_parquet(profiles).set_index(["firm", "class"])["count"]
        pool = technology_pool(panel, "rd", counts, proximity=proximity)
        panel.data.assign(rd_tech_pool=pool).reset_index().to_parquet(out)
    else:
        raise ValueError(case)


def _cluster(rows: Path) -> Any:
    """A started local cluster of two thread workers, and the rows split into four files
    beside ``rows`` (untimed setup)."""
    import logging

    from spillover.backends import DaskBackend

    logging.getLogger("distributed").setLevel(logging.ERROR)
    frame = pd.read_parquet(rows)
    (rows.parent / "parts").mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), 4)):
        frame.iloc[part].to_parquet(rows.parent / "parts" / f"part-{i}.parquet")
    backend = DaskBackend(n_workers=2, processes=False)
    backend.client  # noqa: B018 - start the cluster before the clock
    return backend


def measure(case: str, proximity: str, n: int) -> dict[str, Any]:
    """Untimed setup, then the timed step, in this (fresh) process."""
    with tempfile.TemporaryDirectory() as tmp:
        rows, profiles = _setup(n, Path(tmp))
        import spillover.backends
        import spillover.measures  # noqa: F401 - imports are not timed

        cluster = _cluster(rows) if case == "dask" else None
        source = rows.parent / "parts" if case == "dask" else rows
        Path("/proc/self/clear_refs").write_text("5")
        start = time.perf_counter()
        _step(case, proximity, source, profiles, Path(tmp) / "out", cluster)
        seconds = time.perf_counter() - start
        peak = status_kb("VmHWM")
        if cluster is not None:
            cluster.close()
        pool = pd.read_parquet(Path(tmp) / "out", columns=["rd_tech_pool"])["rd_tech_pool"]
        entries = len(pd.read_parquet(profiles, columns=["firm"]))
    return {"case": case, "proximity": proximity, "firms": n, "rows": len(pool),
            "profile_entries": entries, "seconds": round(seconds, 2),
            "peak_mb": round(peak / 1024), "sum": float(pool.sum()),
            "sum_sq": float((pool**2).sum())}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    quick = quick_flag(__doc__ or "", argv)
    sizes = [20_000] if quick else [1_000_000, 4_000_000]
    record: dict[str, Any] = {"machine": machine(), "runs": []}
    for n in sizes:
        for proximity in ("jaffe", "mahalanobis"):
            runs = []
            for case in ("duckdb", "dask", "memory"):
                with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                    run = pool.submit(measure, case, proximity, n).result()
                print(run, file=sys.stderr)
                runs.append(run)
            for key in ("sum", "sum_sq"):
                b = runs[-1][key]
                for a in (r[key] for r in runs[:-1]):
                    if abs(a - b) > 1e-9 * abs(b):
                        raise SystemExit(
                            f"methods disagree at N = {n} ({proximity}, {key}): {a} {b}"
                        )
            record["runs"] += runs
    close_machine(record)
    lines = [
        f"# Technology pools ({CLASSES} classes, {YEARS} years, 90% of firm-years present)",
        "",
        f"Load average {record['machine']['load_average_at_start']} at start, "
        f"{record['machine']['load_average_at_end']} at end; the pools of all methods agree "
        "(sum and sum of squares to 1e-9 relative). Dask: a local cluster of two thread "
        "workers in the measured process, the rows in four Parquet files.",
        "",
        "| firms | firm-years | profile entries | proximity | method | seconds | peak MB |",
        "|---:|---:|---:|---|---|---:|---:|",
    ]
    lines += [f"| {r['firms']:,} | {r['rows']:,} | {r['profile_entries']:,} | {r['proximity']} "
              f"| {r['case']} | {r['seconds']} | {r['peak_mb']:,} |"
              for r in record["runs"]]  # fmt: skip
    stem = "tech_pool_bench_quick" if quick else "tech_pool_bench"
    write_results(stem, record, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
