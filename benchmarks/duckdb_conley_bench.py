"""Conley standard errors of HDFE on DuckDB (out of core) beside the same fit in memory.

Run with ``.venv/bin/python -m benchmarks.duckdb_conley_bench`` (``--quick`` for 20,000
firms). Writes ``benchmarks/results/duckdb_conley.json`` and ``duckdb_conley.md``
(``duckdb_conley_quick`` for ``--quick``).

Design: 200,000 firms at fixed random points of a 1,000 x 1,000 km square (projected
coordinates in km, columns ``x_km``, ``y_km``), each present in each of 12 years with
probability 0.85 (about 2,040,000 firm-years, unbalanced with gaps); a cutoff of 7 km gives
about 31 neighbours per firm (200,000 pi 7^2 / 10^6). y = 0.5 x1 - 0.2 x2 + firm + year
effects + a spatially smooth shock + noise. The data are written as Parquet (not timed).
Each estimator runs in its own child process:

* ``spillover-duckdb``: ``HDFE(ParquetPanel(folder), backend=DuckDBBackend(memory_limit=
  "1GB", threads=2))``;
* ``spillover-memory``: ``pandas.read_parquet`` then the in-memory ``HDFE``.

Both absorb firm + year and fit ``vcov=Conley(cutoff_km=7, lags=2, coords=("x_km",
"y_km"), metric="euclidean")`` (Bartlett kernel), then ``Cluster("firm")`` on the same model
for scale. Time is wall clock from the folder to the Conley results (reading and
absorbing included), after a warm-up on 20,000 rows; the Conley step alone is the second
fit minus the time of a cluster-robust refit (both reuse the absorbed sample). Peak memory
is the child's peak resident set (``ru_maxrss``: Python, pandas and DuckDB's buffers).
Standard errors are compared between the two.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import RESULTS, run_child

PEERS = ("spillover-duckdb", "spillover-duckdb-256MB", "spillover-memory")
YEARS = 12
CUTOFF_KM = 7.0
LAGS = 2
SIDE_KM = 1_000.0
TIMEOUT = 3600


def write_panel(folder: Path, n_firms: int, seed: int = 0) -> int:
    """Write the firm-year panel into ``folder`` (one file per 50,000 firms); rows."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, SIDE_KM, size=(n_firms, 2))
    waves = rng.normal(size=(4, 2)) * 2 * np.pi / 200.0  # smooth shock over ~200 km
    written = 0
    for start in range(0, n_firms, 50_000):
        firms = np.arange(start, min(n_firms, start + 50_000))
        present = rng.random((len(firms), YEARS)) < 0.85
        f_idx, year = np.nonzero(present)
        firm = firms[f_idx]
        shock = np.cos(xy[firm] @ waves.T).sum(axis=1) * (1 + 0.1 * year)
        a_firm = np.random.default_rng(seed + 1 + start).normal(size=len(firms))[f_idx]
        x1 = rng.normal(size=len(firm)) + 0.5 * a_firm + 0.3 * shock
        x2 = rng.normal(size=len(firm))
        y = 0.5 * x1 - 0.2 * x2 + a_firm + 0.1 * year + shock + rng.normal(size=len(firm))
        lat = 40.0 + xy[firm, 1] / 111.195  # the square placed at 40-49 N, 10-24 E
        lon = 10.0 + xy[firm, 0] / (111.195 * np.cos(np.radians(lat)))
        frame = pd.DataFrame(
            {"firm": firm, "year": 2000 + year, "x_km": xy[firm, 0], "y_km": xy[firm, 1],
             "lon": lon, "lat": lat, "x1": x1, "x2": x2, "y": y}
        )  # fmt: skip
        frame.to_parquet(folder / f"part{start // 50_000:03d}.parquet", index=False)
        written += len(frame)
    return written


def _model(peer: str, folder: Path, memory_limit: str):
    from spillover import Panel
    from spillover.backends import DuckDBBackend, ParquetPanel
    from spillover.models import HDFE

    if peer.startswith("spillover-duckdb"):
        cap = "256MB" if peer.endswith("256MB") else memory_limit
        backend = DuckDBBackend(memory_limit=cap, threads=2)
        data = ParquetPanel(folder, entity="firm", time="year")
        return HDFE("y ~ x1 + x2", data, absorb=["firm", "year"], backend=backend)
    panel = Panel(pd.read_parquet(folder), entity="firm", time="year")
    return HDFE("y ~ x1 + x2", panel, absorb=["firm", "year"])


def _spec(lonlat: bool):
    from spillover.inference import Conley

    if lonlat:
        return Conley(cutoff_km=CUTOFF_KM, lags=LAGS, coords=("lon", "lat"))
    return Conley(cutoff_km=CUTOFF_KM, lags=LAGS, coords=("x_km", "y_km"), metric="euclidean")


def _fits(peer: str, folder: Path, memory_limit: str, lonlat: bool) -> tuple:
    from spillover.inference import Cluster

    spec = _spec(lonlat)
    start = time.perf_counter()
    model = _model(peer, folder, memory_limit)
    res = model.fit(vcov=spec)
    total = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(vcov=spec)
    refit = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(vcov=Cluster("firm"))
    cluster = time.perf_counter() - start
    if hasattr(model, "close"):
        model.close()
    return res, total, refit, cluster


def run_one(peer: str, folder: Path, memory_limit: str, lonlat: bool) -> dict:
    """Time one estimator (called in a child process)."""
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm"
        warm.mkdir()
        first = sorted(folder.glob("*.parquet"))[0]
        pd.read_parquet(first).iloc[:20_000].to_parquet(warm / "w.parquet")
        _fits(peer, warm, memory_limit, lonlat)
    res, total, refit, cluster = _fits(peer, folder, memory_limit, lonlat)
    return {
        "seconds": total,
        "seconds_conley_refit": refit,
        "seconds_cluster_refit": cluster,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "coef": [float(v) for v in res.params[["x1", "x2"]]],
        "se": [float(v) for v in res.std_errors[["x1", "x2"]]],
        "nobs": int(res.nobs),
        "vcov_name": res.vcov_name,
    }


def main(n_firms: int, memory_limit: str, tag: str, lonlat: bool = False) -> dict:
    report = {
        "coordinates": "lon/lat, great circles" if lonlat else "projected km",
        "firms": n_firms,
        "years": YEARS,
        "cutoff_km": CUTOFF_KM,
        "lags": LAGS,
        "expected_neighbours": n_firms * np.pi * CUTOFF_KM**2 / SIDE_KM**2,
        "memory_limit": memory_limit,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "load_average_start": os.getloadavg()[0],
        "peers": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "panel"
        folder.mkdir()
        report["rows"] = write_panel(folder, n_firms)
        for peer in PEERS:
            args = ["--child", peer, str(folder), "--memory-limit", memory_limit]
            args += ["--lonlat"] if lonlat else []
            report["peers"][peer] = run_child("duckdb_conley_bench", args, TIMEOUT)
            sys.stdout.write(f"{peer:18} {report['peers'][peer]}\n")
            sys.stdout.flush()
    report["load_average_end"] = os.getloadavg()[0]
    mem = report["peers"].get("spillover-memory", {})
    ours = [r for p, r in report["peers"].items() if p != "spillover-memory" and "se" in r]
    if "se" in mem and ours:
        se = np.array([r["se"] for r in ours])
        coef = np.array([r["coef"] for r in ours])
        report["max_abs_diff_se"] = float(np.max(np.abs(se - mem["se"])))
        report["max_rel_diff_se"] = float(np.max(np.abs(se - mem["se"]) / np.abs(mem["se"])))
        report["max_abs_diff_coef"] = float(np.max(np.abs(coef - mem["coef"])))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"duckdb_conley{tag}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"duckdb_conley{tag}.md").write_text(_markdown(report, tag))
    return report


def _markdown(report: dict, tag: str) -> str:
    quick = {"": "", "_quick": " --quick", "_lonlat": " --lonlat"}[tag]
    spec = (
        'coords=("lon", "lat")'
        if tag == "_lonlat"
        else 'coords=("x_km", "y_km"), metric="euclidean"'
    )
    lines = [
        "# Conley standard errors: HDFE on DuckDB vs in memory",
        "",
        f"Command: `.venv/bin/python -m benchmarks.duckdb_conley_bench{quick}`",
        f"Machine: {report['machine']}, Python {report['python']}, load average "
        f"{report['load_average_start']:.1f} at start, {report['load_average_end']:.1f} at end "
        "(the machine is shared; timings include that contention).",
        "",
        f"{report['rows']:,} firm-years, {report['firms']:,} firms at fixed points (km), "
        f"{report['years']} years (unbalanced); firm + year absorbed; "
        f"`Conley(cutoff_km={report['cutoff_km']:g}, lags={report['lags']}, {spec})`, "
        "Bartlett, about "
        f"{report['expected_neighbours']:.0f} neighbours per firm. DuckDB memory cap "
        f"{report['memory_limit']} (and 256MB for the second row).",
        "",
        "| estimator | seconds (folder to Conley SEs) | Conley refit s | cluster refit s "
        "| peak RSS MB |",
        "|---|---|---|---|---|",
    ]
    for peer, r in report["peers"].items():
        if "seconds" not in r:
            lines.append(f"| {peer} | {r.get('skipped', 'failed')} | | | |")
            continue
        lines.append(
            f"| {peer} | {r['seconds']:.1f} | {r['seconds_conley_refit']:.1f} | "
            f"{r['seconds_cluster_refit']:.1f} | {r['peak_rss_mb']:.0f} |"
        )
    if "max_abs_diff_se" in report:
        lines += [
            "",
            "Largest difference of the DuckDB SEs (x1, x2) from the in-memory ones: "
            f"{report['max_abs_diff_se']:.1e} absolute, "
            f"{report['max_rel_diff_se']:.1e} relative; coefficients "
            f"{report['max_abs_diff_coef']:.1e}.",
        ]
    return "\n".join(lines) + "\n"


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 firms")
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--lonlat", action="store_true", help="lon/lat columns, great circles")
    parser.add_argument("--child", nargs=2, metavar=("PEER", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        peer, folder = args.child
        print(json.dumps(run_one(peer, Path(folder), args.memory_limit, args.lonlat)))
        return
    n_firms = 20_000 if args.quick else 200_000
    tag = "_quick" if args.quick else "_lonlat" if args.lonlat else ""
    main(n_firms, args.memory_limit, tag, args.lonlat)


if __name__ == "__main__":
    cli()
