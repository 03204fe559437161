"""Poisson PML with three absorbed effect sets on DuckDB, beside in memory and pyfixest.

Run with ``.venv/bin/python -m benchmarks.poisson_duckdb_bench`` (``--quick`` for 25,000
firms, ``--firms N`` to change the size, ``--memory-limit`` for DuckDB's cap, default
2GB). Writes ``benchmarks/results/poisson_duckdb.json`` and ``poisson_duckdb.md``
(``poisson_duckdb_quick.*`` with ``--quick``).

Design: the panel of :mod:`benchmarks.poisson_bench` (250,000 firms, about 2,000,000
firm-years, 50 regions, 10 years, a count outcome on firm, year and region x year
effects); firm, year and region x year effects absorbed, SEs clustered by firm. Three
estimators, each in its own process: pyfixest ``fepois`` on the DataFrame, spillover's
PoissonHDFE in memory on the Panel, and PoissonHDFE on DuckDB reading the rows from a
Parquet file (``ParquetPanel``; the file is written before timing). All use the "fe"
separation check only (pyfixest's default; ``separation_check=("fe",)`` for spillover,
the check the DuckDB backend runs) and their default stopping rule (relative deviance
change 1e-8). The in-memory estimators are warmed up once on a 20,000-row slice (JIT
compilation not counted); the DuckDB one needs no warm-up. Peak memory is the growth of
the process's peak resident set during the timed call (for DuckDB this includes DuckDB's
own buffers, capped by ``memory_limit``).
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

from benchmarks._common import run_child
from benchmarks.hdfe_bench import _compare, _rss_kb, _short
from benchmarks.poisson_bench import simulate

RESULTS = Path(__file__).resolve().parent / "results"
ABSORB = ["firm", "year", "region:year"]
PEERS = ("spillover", "spillover-duckdb", "pyfixest")
TIMEOUT = 3600


def _prepare(peer: str, df: pd.DataFrame, memory_limit: str, folder: Path):
    from spillover import Panel
    from spillover.backends import DuckDBBackend, ParquetPanel
    from spillover.inference import Cluster
    from spillover.models import PoissonHDFE

    if peer.startswith("spillover"):
        if peer == "spillover":
            data, backend = Panel(df, entity="firm", time="year"), None
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


def run_one(peer: str, n_firms: int, memory_limit: str) -> dict:
    """Time one estimator in this process (called in a child process)."""
    df = simulate(n_firms)
    rows = len(df)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if peer != "spillover-duckdb":
            _prepare(peer, df.iloc[:20_000].copy(), memory_limit, folder)()
        run = _prepare(peer, df, memory_limit, folder)
        if peer == "spillover-duckdb":
            del df  # the rows are in the Parquet file
        before = _rss_kb()
        start = time.perf_counter()
        coef, se, nobs = run()
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "peak_mb": max(peak - before, 0) / 1024,
        "coef": [float(v) for v in np.asarray(coef)],
        "se": [float(v) for v in np.asarray(se)],
        "nobs": int(nobs),
        "rows": rows,
    }


def main(n_firms: int, tag: str, memory_limit: str) -> dict:
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "firms": n_firms,
        "memory_limit": memory_limit,
        "load_average_start": os.getloadavg()[0],
        "rows": {},
    }
    rows = report["rows"]
    for peer in PEERS:
        if peer == "pyfixest" and importlib.util.find_spec(peer) is None:
            rows[peer] = {"skipped": f"{peer} not installed"}
        else:
            args = ["--child", peer, "--firms", str(n_firms), "--memory-limit", memory_limit]
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
        "# Poisson PML on DuckDB (firm, year and region x year effects)",
        "",
        f"`.venv/bin/python -m benchmarks.poisson_duckdb_bench{flag} --memory-limit "
        f"{report['memory_limit']}` on {report['machine']}, Python {report['python']}; "
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
        "folder); pyfixest: fepois. All with the 'fe' separation check only and SEs "
        "clustered by firm (CR1). Relative differences are against in-memory spillover; "
        "they reflect the default stopping rules (deviance change 1e-8), not the "
        "conventions: at tight tolerances DuckDB and memory agree to 1e-15 and pyfixest to "
        "1e-8 (tests/backends/test_duckdb_poisson.py).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=250_000)
    parser.add_argument("--quick", action="store_true", help="25,000 firms, results *_quick")
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB's memory cap")
    parser.add_argument("--child", metavar="PEER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.stdout.write(json.dumps(run_one(args.child, args.firms, args.memory_limit)) + "\n")
    elif args.quick:
        main(25_000, "_quick", args.memory_limit)
    else:
        main(args.firms, "", args.memory_limit)
