"""Poisson PML with three absorbed effect sets on DuckDB and Dask, beside in memory and
pyfixest.

Run with ``.venv/bin/python -m benchmarks.poisson_duckdb_bench`` (``--quick`` for 25,000
firms, ``--firms N`` to change the size, ``--memory-limit`` for DuckDB's cap, default
2GB, ``--dask-memory-limit`` per Dask worker, default 4GiB). Writes
``benchmarks/results/poisson_duckdb.json`` and ``poisson_duckdb.md``
(``poisson_duckdb_quick.*`` with ``--quick``).

Design: the panel of :mod:`benchmarks.poisson_bench` (250,000 firms, about 2,000,000
firm-years, 50 regions, 10 years, a count outcome on firm, year and region x year
effects); firm, year and region x year effects absorbed, SEs clustered by firm. Four
estimators, each in its own process: pyfixest ``fepois`` on the DataFrame, spillover's
PoissonHDFE in memory on the Panel, PoissonHDFE on DuckDB reading the rows from a Parquet
file (``ParquetPanel``), and PoissonHDFE on Dask (a LocalCluster of two worker processes
of one thread and ``--dask-memory-limit`` each, started before the clock) reading the
same rows from a folder of four Parquet files, whole firms in each (the files are written
before timing). All use the "fe" separation check only (pyfixest's default;
``separation_check=("fe",)`` for spillover, the check the out-of-core backends run) and
their default stopping rule (relative deviance change 1e-8). The in-memory and Dask
estimators are warmed up once on a 20,000-row slice (JIT compilation, the workers' imports
not counted); the DuckDB one needs no warm-up. Peak memory is the growth of the process's
peak resident set during the timed call (for DuckDB this includes DuckDB's own buffers,
capped by ``memory_limit``); for Dask it is the growth of the summed resident sets of the
process and its worker processes (peak sampled every 0.1 s).
"""

from __future__ import annotations

import argparse
import importlib.util
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
import psutil

from benchmarks._common import run_child
from benchmarks.dask_bench import TreeMemory
from benchmarks.hdfe_bench import _compare, _rss_kb, _short
from benchmarks.poisson_bench import simulate

RESULTS = Path(__file__).resolve().parent / "results"
ABSORB = ["firm", "year", "region:year"]
PEERS = ("spillover", "spillover-duckdb", "spillover-dask", "pyfixest")
TIMEOUT = 3600


def _prepare(peer: str, df: pd.DataFrame, memory_limit: str, folder: Path, cluster=None):
    from spillover import Panel
    from spillover.backends import DuckDBBackend, ParquetPanel
    from spillover.inference import Cluster
    from spillover.models import PoissonHDFE

    if peer.startswith("spillover"):
        if peer == "spillover":
            data, backend = Panel(df, entity="firm", time="year"), None
        elif peer == "spillover-dask":
            files = folder / "panel"
            files.mkdir()
            for i in range(4):  # whole firms in each file
                df[df["firm"] % 4 == i].to_parquet(files / f"part{i}.parquet", index=False)
            data, backend = ParquetPanel(files, entity="firm", time="year"), cluster
        else:
            path = folder / "panel.parquet"
            df.to_parquet(path, index=False)
            data = ParquetPanel(path, entity="firm", time="year")
            backend = DuckDBBackend(memory_limit=memory_limit, temp_directory=folder / "spill")

        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # rows dropped as separated or singletons
                with PoissonHDFE("y ~ x1 + x2", data, absorb=ABSORB, separation_check=("fe",),
                                 backend=backend) as model:  # fmt: skip
                    res = model.fit(vcov=Cluster("firm"))
            return res.params[["x1", "x2"]], res.std_errors[["x1", "x2"]], res.nobs

        return run
    import pyfixest as pf

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = pf.fepois(
                "y ~ x1 + x2 | firm + year + region_year", data=df, vcov={"CRV1": "firm"}
            )
        return fit.coef()[["x1", "x2"]], fit.se()[["x1", "x2"]], fit._N

    return run


def run_one(peer: str, n_firms: int, memory_limit: str, dask_memory_limit: str) -> dict:
    """Time one estimator in this process (called in a child process)."""
    from spillover.backends import DaskBackend

    df = simulate(n_firms)
    rows = len(df)
    cluster = None
    if peer == "spillover-dask":
        cluster = DaskBackend(n_workers=2, threads_per_worker=1, memory_limit=dask_memory_limit)
    with tempfile.TemporaryDirectory() as tmp:
        if peer != "spillover-duckdb":
            warm = Path(tmp) / "warm"
            warm.mkdir()
            _prepare(peer, df.iloc[:20_000].copy(), memory_limit, warm, cluster)()
        folder = Path(tmp)
        run = _prepare(peer, df, memory_limit, folder, cluster)
        if peer in ("spillover-duckdb", "spillover-dask"):
            del df  # the rows are in the Parquet files
        before, tree_before = _rss_kb(), _tree_rss_mb()
        with TreeMemory() as tree:
            start = time.perf_counter()
            coef, se, nobs = run()
            seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    grown = max(peak - before, 0) / 1024
    if cluster is not None:
        grown = max(tree.peak / 2**20 - tree_before, 0)
        cluster.close()
    return {
        "seconds": seconds,
        "peak_mb": grown,
        "coef": [float(v) for v in np.asarray(coef)],
        "se": [float(v) for v in np.asarray(se)],
        "nobs": int(nobs),
        "rows": rows,
    }


def _tree_rss_mb() -> float:
    """The summed resident set of this process and its descendants (the Dask workers)."""
    me = psutil.Process()
    return sum(p.memory_info().rss for p in [me, *me.children(recursive=True)]) / 2**20


def main(n_firms: int, tag: str, memory_limit: str, dask_memory_limit: str) -> dict:
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "firms": n_firms,
        "memory_limit": memory_limit,
        "dask_memory_limit": dask_memory_limit,
        "load_average_start": os.getloadavg()[0],
        "rows": {},
    }
    rows = report["rows"]
    for peer in PEERS:
        if peer == "pyfixest" and importlib.util.find_spec(peer) is None:
            rows[peer] = {"skipped": f"{peer} not installed"}
        else:
            args = ["--child", peer, "--firms", str(n_firms), "--memory-limit", memory_limit,
                    "--dask-memory-limit", dask_memory_limit]  # fmt: skip
            rows[peer] = run_child("poisson_duckdb_bench", args, TIMEOUT)
        sys.stdout.write(f"{peer:18} {_short(rows[peer])}\n")
        sys.stdout.flush()
    _compare(rows)
    report["load_average_end"] = os.getloadavg()[0]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"poisson_duckdb{tag}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"poisson_duckdb{tag}.md").write_text(_markdown(report, tag))
    return report


def _markdown(report: dict, tag: str) -> str:
    flag = " --quick" if tag else f" --firms {report['firms']}"
    lines = [
        "# Poisson PML on DuckDB and Dask (firm, year and region x year effects)",
        "",
        f"`.venv/bin/python -m benchmarks.poisson_duckdb_bench{flag} --memory-limit "
        f"{report['memory_limit']} --dask-memory-limit {report['dask_memory_limit']}` on "
        f"{report['machine']}, Python {report['python']}; "
        f"{report['firms']:,} firms; 1-minute load average {report['load_average_start']:.1f} "
        f"at start, {report['load_average_end']:.1f} at end (shared machine: compare ratios "
        "within a run).",
        "",
        "| estimator | rows | used | seconds | x spillover | peak MB | coef rel. diff | "
        "SE rel. diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for peer, r in report["rows"].items():
        if "skipped" in r:
            lines.append(f"| {peer} | | | skipped: {r['skipped']} | | | | |")
            continue
        lines.append(
            f"| {peer} | {r['rows']:,} | {r['nobs']:,} | {r['seconds']:.2f} | "
            f"{r.get('time_ratio_vs_spillover', float('nan')):.2f} | {r['peak_mb']:.0f} | "
            f"{r.get('max_rel_diff_coef', float('nan')):.1e} | "
            f"{r.get('max_rel_diff_se', float('nan')):.1e} |"
        )
    lines += [
        "",
        "spillover: PoissonHDFE in memory; spillover-duckdb: the same model on DuckDB from a "
        "Parquet file (DuckDB capped at the memory limit above, spilling to a temporary "
        "folder); spillover-dask: the same model on a local Dask cluster of two worker "
        "processes reading four Parquet files (peak MB: growth summed over the process and "
        "its workers); "
        "pyfixest: fepois. All with the 'fe' separation check only and SEs "
        "clustered by firm (CR1). Relative differences are against in-memory spillover; "
        "they reflect the default stopping rules (deviance change 1e-8), not the "
        "conventions: at tight tolerances DuckDB, Dask and memory agree to 1e-15 and pyfixest "
        "to 1e-8 (tests/backends/test_duckdb_poisson.py, test_dask_poisson.py).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=250_000)
    parser.add_argument("--quick", action="store_true", help="25,000 firms, results *_quick")
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB's memory cap")
    parser.add_argument("--dask-memory-limit", default="4GiB", help="per Dask worker")
    parser.add_argument("--child", metavar="PEER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        found = run_one(args.child, args.firms, args.memory_limit, args.dask_memory_limit)
        sys.stdout.write(json.dumps(found) + "\n")
    elif args.quick:
        main(25_000, "_quick", args.memory_limit, args.dask_memory_limit)
    else:
        main(args.firms, "", args.memory_limit, args.dask_memory_limit)
