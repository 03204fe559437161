"""HDFE with a ``W(x)`` term: DuckDB and Dask out of core beside memory and pyfixest, one run.

Run with ``.venv/bin/python -m benchmarks.duckdb_wx_bench`` (``--firms N``, default
1,000,000, x 10 years; ``--quick`` for 20,000 firms; ``--memory-limit`` DuckDB's cap,
default 2GB). Writes ``benchmarks/results/duckdb_wx.json`` and ``duckdb_wx.md``
(``duckdb_wx_quick`` with ``--quick``), rewritten after each estimator.

Design: a balanced panel (``W(x)`` needs every firm in every year) of N firms x 10 years,
firms at uniform random points of the unit square, W the 10 nearest neighbours
(``weights.knn``, binary, 10 N stored entries), 200 regions; y = 0.5 x1 + 0.3 W x1 - 0.2
x2 + firm + region x year effects + noise. The panel is written as Parquet files (250,000
firms per file) and the points as a .npy file (not timed). The regression is ``y ~ x1 +
W(x1) + x2``, absorbing firm + year + region x year, SEs clustered by firm, in four child
processes, each building W from the points first (timed apart: ``w_seconds``):

* ``spillover-duckdb``: ``HDFE(ParquetPanel(folder, ...), w=w, backend=DuckDBBackend(
  memory_limit=..., threads=2, temp_directory=...))``: W x is computed in DuckDB (an edge
  table of W's 10 N entries joined with the rows, summed by firm-year), then absorbed;
* ``spillover-dask``: ``HDFE(ParquetPanel(folder, ...), w=w, backend=DaskBackend(
  n_workers=2, processes=False))``: a local cluster of 2 thread workers in the child
  (started inside the timed call, about a second; thread workers so that the child's
  peak RSS holds the workers' memory too), the files read as partitions, shuffled by
  year, W x per year on the workers, then shuffled by firm and absorbed;
* ``spillover-memory``: ``read_parquet`` then the in-memory ``HDFE(..., w=w)``;
* ``pyfixest``: ``read_parquet``, W x1 by one sparse product per year (scipy), then
  ``feols`` (pyfixest has no spatial lag term).

Time is wall clock from the folder to the results (reading and the lag included), after a
warm-up call on 2,000 firms (numba compilation not counted). Peak memory is the child's
peak resident set (``ru_maxrss``: Python, pandas, W, and DuckDB's buffers).
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
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import RESULTS, run_child

PEERS = ("spillover-duckdb", "spillover-dask", "spillover-memory", "pyfixest")
ABSORB = ["firm", "year", "region:year"]
FORMULA = "y ~ x1 + W(x1) + x2"
YEARS = 10
K = 10
FIRMS_PER_FILE = 250_000
TIMEOUT = 3600


def knn_weights(xy: np.ndarray):
    from spillover import weights

    return weights.knn(xy, K, metric="euclidean", ids=np.arange(len(xy)))


def write_panel(folder: Path, n_firms: int, seed: int = 0) -> int:
    """Write the panel as Parquet files and the points as ``points.npy``; return rows."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(size=(n_firms, 2))
    np.save(folder.parent / "points.npy", xy)
    w = knn_weights(xy).matrix
    region = rng.integers(0, 200, n_firms)
    region_year = rng.normal(size=(200, YEARS))
    firm = rng.normal(size=n_firms)
    x1 = rng.normal(size=(n_firms, YEARS)) + 0.5 * firm[:, None]
    x2 = rng.normal(size=(n_firms, YEARS))
    wx1 = w @ x1
    y = (
        0.5 * x1
        + 0.3 * wx1
        - 0.2 * x2
        + firm[:, None]
        + region_year[region]
        + rng.normal(size=(n_firms, YEARS))
    )
    for i, lo in enumerate(range(0, n_firms, FIRMS_PER_FILE)):
        hi = min(lo + FIRMS_PER_FILE, n_firms)
        ids = np.arange(lo, hi)
        pd.DataFrame(
            {
                "firm": np.repeat(ids, YEARS),
                "year": np.tile(2000 + np.arange(YEARS), hi - lo),
                "region": np.repeat(region[lo:hi], YEARS),
                "x1": x1[lo:hi].ravel(),
                "x2": x2[lo:hi].ravel(),
                "y": y[lo:hi].ravel(),
            }
        ).to_parquet(folder / f"part{i:03d}.parquet", index=False)
    return n_firms * YEARS


def _run(peer: str, folder: Path, w, spill: Path, memory_limit: str):
    from spillover import Panel
    from spillover.backends import DaskBackend, DuckDBBackend, ParquetPanel
    from spillover.inference import Cluster
    from spillover.models import HDFE

    names = ["x1", "W_x1", "x2"]
    if peer == "spillover-duckdb":
        backend = DuckDBBackend(memory_limit=memory_limit, temp_directory=spill, threads=2)
        source = ParquetPanel(folder, entity="firm", time="year")
        with HDFE(FORMULA, source, absorb=ABSORB, w=w, backend=backend) as model:
            res = model.fit(vcov=Cluster("firm"))
        return res.params[names], res.std_errors[names], res.nobs
    if peer == "spillover-dask":
        source = ParquetPanel(folder, entity="firm", time="year")
        with (
            DaskBackend(n_workers=2, processes=False) as backend,
            HDFE(FORMULA, source, absorb=ABSORB, w=w, backend=backend) as model,
        ):
            res = model.fit(vcov=Cluster("firm"))
        return res.params[names], res.std_errors[names], res.nobs
    df = pd.read_parquet(folder)
    if peer == "pyfixest":
        import pyfixest as pf

        df = df.sort_values(["firm", "year"], ignore_index=True)
        wide = df["x1"].to_numpy().reshape(-1, YEARS)  # balanced, firm-major
        df["W_x1"] = (w.matrix @ wide).ravel()
        fit = pf.feols(
            "y ~ x1 + W_x1 + x2 | firm + year + region^year", data=df, vcov={"CRV1": "firm"}
        )
        return fit.coef()[names], fit.se()[names], fit._N
    panel = Panel(df, entity="firm", time="year")
    res = HDFE(FORMULA, panel, absorb=ABSORB, w=w).fit(vcov=Cluster("firm"))
    return res.params[names], res.std_errors[names], res.nobs


def run_one(peer: str, folder: Path, memory_limit: str) -> dict:
    """Time one estimator (called in a child process)."""
    import warnings

    warnings.simplefilter("ignore")
    xy = np.load(folder.parent / "points.npy")
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm"
        warm.mkdir()
        first = pd.read_parquet(sorted(folder.glob("*.parquet"))[0])
        first[first["firm"] < 2000].to_parquet(warm / "w.parquet")
        _run(peer, warm, knn_weights(xy[:2000]), Path(tmp) / "spill", memory_limit)
        start = time.perf_counter()
        w = knn_weights(xy)
        w_seconds = time.perf_counter() - start
        rss_w = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        coef, se, nobs = _run(peer, folder, w, Path(tmp) / "spill", memory_limit)
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "w_seconds": w_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_after_w_mb": rss_w,
        "coef": [float(v) for v in np.asarray(coef)],
        "se": [float(v) for v in np.asarray(se)],
        "nobs": int(nobs),
    }


def main(n_firms: int, memory_limit: str, tag: str, peers: tuple[str, ...] = PEERS) -> dict:
    report = {
        "firms": n_firms,
        "years": YEARS,
        "k": K,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "memory_limit": memory_limit,
        "commit": _commit(),
        "load_average_start": os.getloadavg()[0],
        "peers": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "panel"
        folder.mkdir()
        report["rows"] = write_panel(folder, n_firms)
        report["files"] = len(list(folder.glob("*.parquet")))
        for peer in peers:
            args = ["--child", peer, str(folder), "--memory-limit", memory_limit]
            report["peers"][peer] = run_child("duckdb_wx_bench", args, TIMEOUT)
            sys.stdout.write(f"{peer:18} {report['peers'][peer]}\n")
            sys.stdout.flush()
            report["load_average_end"] = os.getloadavg()[0]
            _compare(report["peers"])
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / f"duckdb_wx{tag}.json").write_text(json.dumps(report, indent=2) + "\n")
            (RESULTS / f"duckdb_wx{tag}.md").write_text(_markdown(report, tag))
    return report


def _commit() -> str:
    import subprocess

    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def _compare(rows: dict) -> None:
    ours = rows.get("spillover-duckdb", {})
    if "seconds" not in ours:
        return
    for row in rows.values():
        if "seconds" in row:
            row["time_vs_duckdb"] = row["seconds"] / ours["seconds"]
            row["rss_vs_duckdb"] = row["peak_rss_mb"] / ours["peak_rss_mb"]
            for key in ("coef", "se"):
                diff = np.abs(np.subtract(row[key], ours[key])) / np.abs(ours[key])
                row[f"max_rel_diff_{key}"] = float(diff.max())


def _markdown(report: dict, tag: str) -> str:
    command = "--quick" if tag == "_quick" else f"--firms {report['firms']}"
    lines = [
        "# HDFE with a W(x) term out of core (DuckDB, Dask) beside memory and pyfixest",
        "",
        f"`.venv/bin/python -m benchmarks.duckdb_wx_bench {command}` on {report['machine']}, "
        f"Python {report['python']}, commit {report['commit']}; {report['rows']:,} "
        f"firm-years ({report['firms']:,} firms x {report['years']} years, balanced) in "
        f"{report['files']} Parquet files; `{FORMULA}` with W = kNN({report['k']}) "
        f"({report['k'] * report['firms']:,} entries), firm + year + region x year effects, "
        f"SEs clustered by firm; DuckDB memory_limit {report['memory_limit']}, 2 threads; "
        "Dask: a local cluster of 2 thread workers, started in the timed call. "
        f"1-minute load average {report['load_average_start']:.1f} at start, "
        f"{report.get('load_average_end', float('nan')):.1f} at end (shared machine: "
        "compare within a run).",
        "",
        "| estimator | rows used | seconds | x DuckDB | W build s | peak RSS MB | x DuckDB "
        "| of which W built | coef rel. diff | SE rel. diff |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for peer, r in report["peers"].items():
        if "skipped" in r:
            lines.append(f"| {peer} | | skipped: {r['skipped']} | | | | | | | |")
            continue
        lines.append(
            f"| {peer} | {r['nobs']:,} | {r['seconds']:.1f} | {r.get('time_vs_duckdb', 1):.2f} "
            f"| {r['w_seconds']:.1f} | {r['peak_rss_mb']:.0f} | {r.get('rss_vs_duckdb', 1):.2f} "
            f"| {r['peak_rss_after_w_mb']:.0f} | {r.get('max_rel_diff_coef', 0):.1e} "
            f"| {r.get('max_rel_diff_se', 0):.1e} |"
        )
    lines += [
        "",
        "Seconds: from the Parquet folder to the results (reading and W x included; building "
        "W from the points is the W build column, the same for all). Peak RSS: the whole "
        "child process, W included; 'of which W built' is the peak once W is built (and "
        "the warm-up run), before the data are read. pyfixest's clustered SEs use its own "
        "small-sample convention (fixef_k nested), hence SE differences; the spillover "
        "backends agree.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=1_000_000)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--quick", action="store_true", help="20,000 firms, results *_quick")
    parser.add_argument("--peers", nargs="+", choices=PEERS, default=list(PEERS))
    parser.add_argument("--child", nargs=2, metavar=("PEER", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        peer, folder = args.child
        sys.stdout.write(json.dumps(run_one(peer, Path(folder), args.memory_limit)) + "\n")
    elif args.quick:
        main(20_000, args.memory_limit, "_quick", tuple(args.peers))
    else:
        main(args.firms, args.memory_limit, "", tuple(args.peers))
