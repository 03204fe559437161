"""HDFE on Dask (2 workers) beside DuckDB and in memory, from the same Parquet folder.

Run with ``.venv/bin/python -m benchmarks.dask_bench`` (``--rows N [N ...]`` firm-years,
default 2,000,000 and 6,000,000; ``--quick`` for 200,000, results ``*_quick``;
``--memory-limit`` per Dask worker, default 4GiB; DuckDB's cap 1GB as in duckdb_bench).
Writes ``benchmarks/results/dask_bench.json`` and ``dask_bench.md``.

Design: the panel of :mod:`benchmarks.duckdb_bench` (unbalanced firm-years over 20 years,
about rows / 7.5 firms, 100 regions, firm + year + region x year effects, SEs clustered by
firm), written as Parquet files of 250,000 firms each (not timed). Each size runs three
child processes:

* ``spillover-dask``: ``HDFE(folder, backend=DaskBackend(n_workers=2,
  threads_per_worker=1, memory_limit=...))``, a LocalCluster of two worker processes
  started before the clock (as a user with a running cluster); the workers read the files;
* ``spillover-duckdb``: ``DuckDBBackend(memory_limit="1GB", threads=2)`` on the folder;
* ``spillover-memory``: ``pandas.read_parquet`` then the in-memory ``HDFE``.

Time is wall clock from the folder to the results, after one warm-up fit on a
20,000-row file (imports, the workers' included). Peak memory is the largest sum of the
resident sets of the child and all its descendants (the Dask worker processes), sampled
every 0.1 s; the child's own ``ru_maxrss`` is recorded beside it. Coefficients and SEs
are compared with the in-memory fit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from benchmarks._common import RESULTS, run_child
from benchmarks.duckdb_bench import write_panel

PEERS = ("spillover-dask", "spillover-duckdb", "spillover-memory")
ABSORB = ["firm", "year", "region:year"]
TIMEOUT = 1800


class TreeMemory:
    """Peak of the summed resident set of this process and its descendants."""

    def __init__(self, every: float = 0.1) -> None:
        self.peak, self.every = 0, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)
            time.sleep(self.every)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _fit(peer: str, folder: Path, spill: Path, backend):
    from spillover import Panel
    from spillover.backends import DuckDBBackend
    from spillover.inference import Cluster
    from spillover.models import HDFE

    if peer == "spillover-memory":
        panel = Panel(pd.read_parquet(folder), entity="firm", time="year")
        res = HDFE("y ~ x1 + x2", panel, absorb=ABSORB).fit(vcov=Cluster("firm"))
    else:
        if peer == "spillover-duckdb":
            backend = DuckDBBackend(memory_limit="1GB", temp_directory=spill, threads=2)
        res = HDFE("y ~ x1 + x2", folder, absorb=ABSORB, backend=backend).fit(vcov=Cluster("firm"))
    return res.params[["x1", "x2"]], res.std_errors[["x1", "x2"]], res.nobs


def run_one(peer: str, folder: Path, memory_limit: str) -> dict:
    """Time one estimator (called in a child process)."""
    import warnings

    from spillover.backends import DaskBackend

    warnings.simplefilter("ignore")
    backend = None
    if peer == "spillover-dask":
        backend = DaskBackend(n_workers=2, threads_per_worker=1, memory_limit=memory_limit)
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm"
        warm.mkdir()
        first = sorted(folder.glob("*.parquet"))[0]
        pd.read_parquet(first).iloc[:20_000].to_parquet(warm / "w.parquet", index=False)
        _fit(peer, warm, Path(tmp) / "spill", backend)
        with TreeMemory() as memory:
            start = time.perf_counter()
            coef, se, nobs = _fit(peer, folder, Path(tmp) / "spill", backend)
            seconds = time.perf_counter() - start
    if backend is not None:
        backend.close()
    return {
        "seconds": seconds,
        "peak_tree_mb": memory.peak / 2**20,
        "peak_rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "coef": [float(v) for v in np.asarray(coef)],
        "se": [float(v) for v in np.asarray(se)],
        "nobs": int(nobs),
    }


def main(sizes: list[int], memory_limit: str, tag: str) -> dict:
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "dask_memory_limit": memory_limit,
        "load_average_start": os.getloadavg()[0],
        "runs": [],
    }
    for rows in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "panel"
            folder.mkdir()
            run = {"requested_rows": rows, "rows": write_panel(folder, rows), "peers": {}}
            run["files"] = len(list(folder.glob("*.parquet")))
            for peer in PEERS:
                args = ["--child", peer, str(folder), "--memory-limit", memory_limit]
                run["peers"][peer] = run_child("dask_bench", args, TIMEOUT)
                sys.stdout.write(f"{rows:>10,} {peer:18} {run['peers'][peer]}\n")
                sys.stdout.flush()
        _compare(run["peers"])
        report["runs"].append(run)
    report["load_average_end"] = os.getloadavg()[0]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"dask_bench{tag}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"dask_bench{tag}.md").write_text(_markdown(report, sizes))
    return report


def _compare(rows: dict) -> None:
    ref = rows.get("spillover-memory", {})
    base = rows.get("spillover-dask", {})
    for row in rows.values():
        if "seconds" not in row:
            continue
        if "seconds" in base:
            row["time_vs_dask"] = row["seconds"] / base["seconds"]
            row["memory_vs_dask"] = row["peak_tree_mb"] / base["peak_tree_mb"]
        if "coef" in ref:
            for key in ("coef", "se"):
                diff = np.abs(np.subtract(row[key], ref[key])) / np.abs(ref[key])
                row[f"max_rel_diff_{key}"] = float(diff.max())


def _markdown(report: dict, sizes: list[int]) -> str:
    lines = [
        "# HDFE on Dask beside DuckDB and in memory",
        "",
        f"`.venv/bin/python -m benchmarks.dask_bench --rows {' '.join(map(str, sizes))} "
        f"--memory-limit {report['dask_memory_limit']}` on "
        f"{report['machine']}, Python {report['python']}. Firm + year + region x year "
        "effects, SEs clustered by firm, from a folder of Parquet files. Dask: LocalCluster "
        f"of 2 worker processes x 1 thread, {report['dask_memory_limit']} each; DuckDB: "
        "memory_limit 1GB, 2 threads. 1-minute load average "
        f"{report['load_average_start']:.1f} at start, {report['load_average_end']:.1f} at "
        "end (shared machine: compare within a run).",
        "",
        "| firm-years | estimator | rows used | seconds | x Dask | peak MB (tree) | x Dask "
        "| coef rel. diff | SE rel. diff |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        for peer, r in run["peers"].items():
            if "skipped" in r:
                lines.append(f"| {run['rows']:,} | {peer} | | skipped: {r['skipped']} |||||")
                continue
            lines.append(
                f"| {run['rows']:,} | {peer} | {r['nobs']:,} | {r['seconds']:.1f} | "
                f"{r.get('time_vs_dask', 1):.2f} | {r['peak_tree_mb']:.0f} | "
                f"{r.get('memory_vs_dask', 1):.2f} | {r.get('max_rel_diff_coef', 0):.1e} | "
                f"{r.get('max_rel_diff_se', 0):.1e} |"
            )
    lines += [
        "",
        "Seconds: from the Parquet folder to the results (reading included; the Dask "
        "cluster already running). Peak MB (tree): the largest summed resident set of the "
        "benchmark process and its children (the two Dask workers), sampled every 0.1 s. "
        "Differences are relative to the in-memory fit.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000_000, 6_000_000])
    parser.add_argument("--memory-limit", default="4GiB")
    parser.add_argument("--quick", action="store_true", help="200,000 rows, results *_quick")
    parser.add_argument("--tag", default="", help="suffix of the results files")
    parser.add_argument("--child", nargs=2, metavar=("PEER", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        peer, folder = args.child
        sys.stdout.write(json.dumps(run_one(peer, Path(folder), args.memory_limit)) + "\n")
    elif args.quick:
        main([200_000], args.memory_limit, "_quick")
    else:
        main(args.rows, args.memory_limit, args.tag)
