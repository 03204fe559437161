"""Out of core: spillover.HDFE on DuckDB from a Parquet folder, beside pyfixest in memory.

Run with ``.venv/bin/python -m benchmarks.duckdb_bench`` (``--rows N`` firm-years,
default 5,000,000; ``--quick`` for 200,000; ``--memory-limit`` DuckDB's cap, default 1GB;
``--case 20m``: 20,000,000 firm-years with a 2GB cap, results ``duckdb_20m``). Writes
``benchmarks/results/duckdb.json`` and ``duckdb.md`` (rewritten after each estimator, so an
interrupted run keeps what finished).

Design: an unbalanced firm-year panel over 20 years: each firm enters in a random year and
stays 2-14 years (cut at the window's end), firms added until ``rows`` firm-years are
written (about rows / 6.25 firms; before the ``--case`` option the script wrote
rows / 7.5 firms, i.e. about 0.83 rows, which is what the older results record); 100
regions; y = 0.5 x1 - 0.2 x2 + firm + region x year effects + noise, x1 correlated with
the firm effect. The script writes it as a folder of Parquet files (250,000 firms per file,
written chunk by chunk; not timed). The regression absorbs firm + year + region x year
effects with standard errors clustered by firm, in three child processes:

* ``spillover-duckdb``: ``HDFE(folder, backend=DuckDBBackend(memory_limit=..., threads=2,
  temp_directory=...))``: the rows stay in DuckDB, which reads the folder itself;
* ``pyfixest``: ``pandas.read_parquet(folder)`` then ``feols`` (pyfixest, like every peer,
  needs the data in memory);
* ``spillover-memory``: ``read_parquet`` then the in-memory ``HDFE``.

Time is wall clock from the folder to the results (reading included, as a user runs it),
after one warm-up call on a 20,000-row file (numba compilation is not counted). Peak
memory is the child's peak resident set (``ru_maxrss``, whole process: Python, pandas and
DuckDB's buffers). Coefficients and SEs are compared across the three.
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

PEERS = ("spillover-duckdb", "pyfixest", "spillover-memory")
ABSORB = ["firm", "year", "region:year"]
FIRMS_PER_FILE = 250_000
TIMEOUT = 1800
#: Named sizes: firm-years and DuckDB's memory cap.
CASES = {"20m": (20_000_000, "2GB")}


def write_panel(folder: Path, rows: int, seed: int = 0) -> int:
    """Write the panel as Parquet files into ``folder``; return the rows written."""
    rng = np.random.default_rng(seed)
    region_year = rng.normal(size=(100, 20))
    written, start, i = 0, 0, 0
    while written < rows:
        entry = rng.integers(0, 20, FIRMS_PER_FILE)
        length = np.minimum(rng.integers(2, 15, FIRMS_PER_FILE), 20 - entry)
        n = int(np.searchsorted(np.cumsum(length), rows - written)) + 1  # firms still needed
        n = min(n, FIRMS_PER_FILE)
        entry, length = entry[:n], length[:n]
        local = np.repeat(np.arange(n), length)
        first = np.repeat(np.cumsum(length) - length, length)
        year = np.repeat(entry, length) + np.arange(len(local)) - first
        region = rng.integers(0, 100, n)[local]
        a_firm = rng.normal(size=n)[local]
        x1 = rng.normal(size=len(local)) + 0.5 * a_firm
        x2 = rng.normal(size=len(local))
        y = 0.5 * x1 - 0.2 * x2 + a_firm + region_year[region, year] + rng.normal(size=len(local))
        frame = pd.DataFrame(
            {
                "firm": start + local,
                "year": 2000 + year,
                "region": region,
                "x1": x1,
                "x2": x2,
                "y": y,
            }
        )
        frame.to_parquet(folder / f"part{i:03d}.parquet", index=False)
        written, start, i = written + len(frame), start + n, i + 1
    return written


def _run(peer: str, folder: Path, spill: Path, memory_limit: str):
    from spillover import Panel
    from spillover.backends import DuckDBBackend
    from spillover.inference import Cluster
    from spillover.models import HDFE

    if peer == "spillover-duckdb":
        backend = DuckDBBackend(memory_limit=memory_limit, temp_directory=spill, threads=2)
        res = HDFE("y ~ x1 + x2", folder, absorb=ABSORB, backend=backend).fit(vcov=Cluster("firm"))
        return res.params[["x1", "x2"]], res.std_errors[["x1", "x2"]], res.nobs
    df = pd.read_parquet(folder)
    if peer == "pyfixest":
        import pyfixest as pf

        fit = pf.feols("y ~ x1 + x2 | firm + year + region^year", data=df, vcov={"CRV1": "firm"})
        return fit.coef()[["x1", "x2"]], fit.se()[["x1", "x2"]], fit._N
    panel = Panel(df, entity="firm", time="year")
    res = HDFE("y ~ x1 + x2", panel, absorb=ABSORB).fit(vcov=Cluster("firm"))
    return res.params[["x1", "x2"]], res.std_errors[["x1", "x2"]], res.nobs


def run_one(peer: str, folder: Path, memory_limit: str) -> dict:
    """Time one estimator (called in a child process)."""
    import warnings

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm"
        warm.mkdir()
        pd.read_parquet(sorted(folder.glob("*.parquet"))[0]).iloc[:20_000].to_parquet(
            warm / "w.parquet"
        )
        _run(peer, warm, Path(tmp) / "spill", memory_limit)
        start = time.perf_counter()
        coef, se, nobs = _run(peer, folder, Path(tmp) / "spill", memory_limit)
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "coef": [float(v) for v in np.asarray(coef)],
        "se": [float(v) for v in np.asarray(se)],
        "nobs": int(nobs),
    }


def main(
    rows: int, memory_limit: str, tag: str, peers: tuple[str, ...] = PEERS, case: str = ""
) -> dict:
    report = {
        "case": case,
        "tag": tag,
        "requested_rows": rows,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "memory_limit": memory_limit,
        "memory_total_gb": _memory_total_gb(),
        "commit": _commit(),
        "load_average_start": os.getloadavg()[0],
        "peers": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "panel"
        folder.mkdir()
        report["rows"] = write_panel(folder, rows)
        report["files"] = len(list(folder.glob("*.parquet")))
        report["parquet_mb"] = sum(f.stat().st_size for f in folder.glob("*.parquet")) / 2**20
        for peer in peers:
            args = ["--child", peer, str(folder), "--memory-limit", memory_limit]
            report["peers"][peer] = run_child("duckdb_bench", args, TIMEOUT)
            sys.stdout.write(f"{peer:18} {report['peers'][peer]}\n")
            sys.stdout.flush()
            report["load_average_end"] = os.getloadavg()[0]
            _compare(report["peers"])
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / f"duckdb{tag}.json").write_text(json.dumps(report, indent=2) + "\n")
            (RESULTS / f"duckdb{tag}.md").write_text(_markdown(report))
    return report


def _memory_total_gb() -> float:
    """Physical memory of the machine (Linux ``/proc/meminfo``), GB; NaN elsewhere."""
    try:
        line = Path("/proc/meminfo").read_text().splitlines()[0]
    except OSError:
        return float("nan")
    return int(line.split()[1]) / 2**20


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


def _command(report: dict) -> str:
    chosen = tuple(report["peers"])
    peers = "" if chosen == PEERS else " --peers " + " ".join(chosen)
    if report.get("case"):
        suffix = report.get("tag", "").removeprefix(f"_{report['case']}")
        return f"--case {report['case']}{peers}" + (f" --tag {suffix}" if suffix else "")
    return f"--rows {report['requested_rows']}{peers}"


def _markdown(report: dict) -> str:
    lines = [
        "# HDFE out of core (DuckDB) beside pyfixest",
        "",
        f"`.venv/bin/python -m benchmarks.duckdb_bench {_command(report)}` on "
        f"{report['machine']}"
        + (f", {report['memory_total_gb']:.0f} GB RAM" if "memory_total_gb" in report else "")
        + f", Python {report['python']}"
        + (f", commit {report['commit']}" if "commit" in report else "")
        + f"; {report['rows']:,} firm-years in {report['files']} Parquet files"
        + (f" ({report['parquet_mb']:.0f} MB)" if "parquet_mb" in report else "")
        + "; firm + year + region x year effects, SEs clustered by firm; DuckDB memory_limit "
        f"{report['memory_limit']}, 2 threads. 1-minute load average "
        f"{report['load_average_start']:.1f} at start, {report['load_average_end']:.1f} at "
        "end (shared machine: compare within a run).",
        "",
        "| estimator | rows used | seconds | x DuckDB | peak RSS MB | x DuckDB | coef rel. diff "
        "| SE rel. diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for peer, r in report["peers"].items():
        if "skipped" in r:
            lines.append(f"| {peer} | | skipped: {r['skipped']} | | | | | |")
            continue
        lines.append(
            f"| {peer} | {r['nobs']:,} | {r['seconds']:.1f} | {r.get('time_vs_duckdb', 1):.2f} "
            f"| {r['peak_rss_mb']:.0f} | {r.get('rss_vs_duckdb', 1):.2f} | "
            f"{r.get('max_rel_diff_coef', 0):.1e} | {r.get('max_rel_diff_se', 0):.1e} |"
        )
    lines += [
        "",
        "Seconds: from the Parquet folder to the results (reading included). Peak RSS: the "
        "whole child process. pyfixest's clustered SEs use its own small-sample convention "
        "(fixef_k nested), hence the SE differences; the two spillover backends agree.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--quick", action="store_true", help="200,000 rows, results *_quick")
    parser.add_argument("--peers", nargs="+", choices=PEERS, default=list(PEERS))
    parser.add_argument("--tag", default="", help="suffix of the results files")
    parser.add_argument(
        "--case", choices=sorted(CASES), help="a named size: rows, memory cap, results tag"
    )
    parser.add_argument("--child", nargs=2, metavar=("PEER", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        peer, folder = args.child
        sys.stdout.write(json.dumps(run_one(peer, Path(folder), args.memory_limit)) + "\n")
    elif args.case:
        rows, cap = CASES[args.case]
        main(rows, cap, f"_{args.case}{args.tag}", tuple(args.peers), case=args.case)
    elif args.quick:
        main(200_000, args.memory_limit, "_quick", tuple(args.peers))
    else:
        main(args.rows, args.memory_limit, args.tag, tuple(args.peers))
