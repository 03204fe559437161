"""Time spillover's k-nearest and distance-band weights beside libpysal's constructors.

Run from the repository root::

    .venv/bin/python -m benchmarks.weights_bench                 # N = 10k, 100k, 1M
    .venv/bin/python -m benchmarks.weights_bench --sizes 10000 100000 --budget 120

Points are uniform in a 1,000 km x 1,000 km square of projected metres (seeded), k = 10,
and the distance band is chosen so that a unit has 10 neighbours on average. Every
measurement runs in its own Python process, so one result's memory never leaks into
the next: seconds are wall time of the constructor call alone (points already in
memory, libraries imported), peak memory is the growth of the process's peak resident
set (``ru_maxrss``) during the call. libpysal runs are skipped when the time
extrapolated linearly from the previous size exceeds ``--budget`` seconds, and stopped
at ``--timeout``; the result files say so. Results go to
``benchmarks/results/weights_bench.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

from benchmarks._common import write_results

SIDE_M = 1_000_000.0
K = 10
MEAN_NEIGHBOURS = 10
IMPLS = ("spillover", "libpysal.weights", "libpysal.graph")
TASKS = ("knn", "distance_band")


def points(n: int) -> np.ndarray:
    return np.random.default_rng(20240601).uniform(0.0, SIDE_M, size=(n, 2))


def threshold(n: int) -> float:
    """Band radius giving MEAN_NEIGHBOURS expected neighbours at uniform density."""
    return float(np.sqrt(MEAN_NEIGHBOURS / (np.pi * n / SIDE_M**2)))


def _builder(task: str, impl: str, n: int) -> Any:
    import warnings

    warnings.simplefilter("ignore")  # disconnected-graph and island warnings at random
    r = threshold(n)
    if impl == "spillover":
        from spillover import weights

        ids = np.arange(n)
        if task == "knn":
            return lambda xy: weights.knn(xy, K, metric="euclidean", ids=ids).nnz
        return lambda xy: (
            weights.distance_band(
                xy, r, unit="crs", metric="euclidean", ids=ids, islands="keep"
            ).nnz
        )
    if impl == "libpysal.weights":
        from libpysal import weights as lw

        if task == "knn":
            return lambda xy: lw.KNN.from_array(xy, k=K).sparse.nnz
        return lambda xy: lw.DistanceBand.from_array(xy, r, silence_warnings=True).sparse.nnz
    from libpysal.graph import Graph

    if task == "knn":
        return lambda xy: Graph.build_knn(xy, k=K).sparse.nnz
    return lambda xy: Graph.build_distance_band(xy, r).sparse.nnz


def run_one(task: str, impl: str, n: int) -> dict[str, Any]:
    """One measurement in this process: seconds, peak RSS growth (MB), non-zeros."""
    build = _builder(task, impl, n)
    xy = points(n)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    nnz = build(xy)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mb": (peak - base) / 1024.0, "nnz": int(nnz)}


def measure(task: str, impl: str, n: int, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.weights_bench", "--one", task, impl, str(n)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"skipped": f"stopped after {timeout:.0f} s"}
    except subprocess.CalledProcessError as err:
        return {"skipped": f"failed: {err.stderr.strip().splitlines()[-1:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(sizes: list[int], budget: float, timeout: float) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    last: dict[tuple[str, str], tuple[int, float]] = {}
    for n in sizes:
        for task in TASKS:
            row: dict[str, Any] = {"n": n, "task": task}
            for impl in IMPLS:
                prev = last.get((task, impl))
                guess = prev[1] * n / prev[0] if prev else 0.0
                if impl != "spillover" and guess > budget:
                    row[impl] = {"skipped": f"~{guess:.0f} s extrapolated from N={prev[0]:,}"}
                else:
                    row[impl] = measure(task, impl, n, timeout)
                if "seconds" in row[impl]:
                    last[(task, impl)] = (n, row[impl]["seconds"])
            rows.append(row)
    return {"environment": environment(), "k": K, "mean_neighbours": MEAN_NEIGHBOURS, "rows": rows}


def environment() -> dict[str, Any]:
    import libpysal
    import scipy

    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "libpysal": libpysal.__version__,
    }


def _cell(result: dict[str, Any], ours: dict[str, Any] | None = None) -> list[str]:
    if "seconds" not in result:
        return [result["skipped"], "", ""]
    ratio = ""
    if ours and "seconds" in ours:
        ratio = f"{result['seconds'] / ours['seconds']:.1f}x"
        if result["nnz"] != ours["nnz"]:
            ratio += f" (nnz {result['nnz']})"
    return [f"{result['seconds']:.2f}", f"{result['peak_mb']:.0f}", ratio]


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [
        "# Weights construction: spillover vs libpysal",
        "",
        f"Uniform random points in a 1,000 km square (projected metres); k = {report['k']}; "
        f"band radius for {report['mean_neighbours']} neighbours on average. Wall seconds of "
        "the constructor call and growth of peak resident memory (MB), each in a fresh "
        "process; ratio = libpysal seconds / spillover seconds.",
        "",
        f"Machine: {env['cpus']} CPUs, load average at start {env['load_average_at_start']}; "
        f"Python {env['python']}, numpy {env['numpy']}, scipy {env['scipy']}, "
        f"libpysal {env['libpysal']}; {env['date_utc']} UTC.",
        "",
        "| N | weights | spillover s | MB | nnz | libpysal W s | MB | ratio "
        "| libpysal Graph s | MB | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        ours = row["spillover"]
        cells = [f"{row['n']:,}", row["task"], *_cell(ours)[:2], str(ours.get("nnz", ""))]
        cells += _cell(row["libpysal.weights"], ours) + _cell(row["libpysal.graph"], ours)
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "nnz in brackets: libpysal's count where it differs from ours. libpysal.graph stores "
        "each unit without neighbours as a zero-weight self-loop, counted in its nnz; the "
        "non-zero weights are the same pairs (checked at N = 10,000). Timings depend on the "
        "machine's load (see the load average above): compare within a row.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--budget", type=float, default=400.0, help="skip libpysal beyond")
    parser.add_argument("--timeout", type=float, default=900.0, help="stop any run after")
    parser.add_argument("--one", nargs=3, metavar=("TASK", "IMPL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        task, impl, n = args.one
        sys.stdout.write(json.dumps(run_one(task, impl, int(n))) + "\n")
        return
    report = run(sorted(args.sizes), args.budget, args.timeout)
    write_results("weights_bench", report, markdown(report))
    sys.stdout.write(markdown(report))


if __name__ == "__main__":
    main()
