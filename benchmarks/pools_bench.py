"""Register-scale spillover pools: tiled kNN and distance-band pools, technology pool.

Run with ``.venv/bin/python -m benchmarks.pools_bench`` (``--quick`` for a smoke run).
Writes ``benchmarks/results/pools_bench.json`` and ``.md`` (``pools_bench_quick.*``).

Design. Firms are uniform points at one firm per km^2 (a square of side sqrt(N) km, in
projected metres), so neighbourhoods look alike at every N: k = 10 nearest neighbours,
and a distance band of sqrt(10 / pi) = 1.78 km (10 neighbours on average). One period,
a gamma-distributed stock. Each measurement runs in a fresh process; setup (points, the
Panel, the share table) is not timed. Seconds are wall time of the timed step; memory
is the peak resident set during the step (Linux ``VmHWM`` reset before it) minus the
resident set before it ("step MB"), and the peak itself ("peak MB").

Methods, each computing the same pool (checked: every method's first 2,000 values
must equal ours to rtol 1e-10 at the same N):

* ``tiled``: :func:`spillover.measures.knn_pool` / :func:`distance_band_pool` with the
  default 250,000 firms per tile;
* ``in-memory``: ``spillover_pool(panel, "k", weights.knn(...))`` (or
  ``weights.distance_band``), building the N x N sparse weights in the timed step;
* ``libpysal``: ``Graph.build_knn`` / ``Graph.build_distance_band`` then ``Graph.lag``
  (libpysal.graph, its current API), also timed from the points.

Technology pool: N firms x 100 patent classes, each firm patenting in 1 to 8 classes
drawn with Zipf-like class popularity. ``long`` passes the (firm, class) counts as a
long Series (the sparse N x C share matrix F, Jaffe pool F (F' K) - K); ``wide`` passes
the same profiles as a dense N x 100 DataFrame (the existing input); ``N x N`` builds
``weights.technology`` (the stored proximity matrix) and pools through it, which is
refused beyond 50 million stored proximities and so runs only at small N.
"""

from __future__ import annotations

import gc
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._common import close_machine, machine, quick_flag, status_kb, write_results

K = 10
BAND_M = float(np.sqrt(10 / np.pi) * 1_000.0)
CLASSES = 100
TIMEOUT = 1_800.0


# ---------------------------------------------------------------------- data
def _geo_setup(n: int) -> dict[str, Any]:
    from spillover import Panel

    rng = np.random.default_rng(n)
    side = np.sqrt(n) * 1_000.0
    xy = rng.uniform(0.0, side, (n, 2))
    df = pd.DataFrame({"firm": np.arange(n), "year": 2020, "k": rng.gamma(2.0, 50.0, n)})
    return {
        "n": n,
        "xy": xy,
        "coords": pd.DataFrame(xy, columns=["x", "y"]),
        "panel": Panel(df, entity="firm", time="year"),
    }


def _tech_setup(n: int, wide: bool) -> dict[str, Any]:
    from spillover import Panel

    rng = np.random.default_rng(n + 1)
    per = rng.integers(1, 9, n)
    firm = np.repeat(np.arange(n), per)
    popularity = 1.0 / np.arange(1, CLASSES + 1)
    cls = rng.choice(CLASSES, len(firm), p=popularity / popularity.sum())
    long = pd.Series(rng.poisson(2.0, len(firm)) + 1.0, index=[firm, cls])
    long = long.groupby(level=[0, 1]).sum()
    df = pd.DataFrame({"firm": np.arange(n), "year": 2020, "k": rng.gamma(2.0, 50.0, n)})
    state: dict[str, Any] = {"panel": Panel(df, entity="firm", time="year"), "long": long}
    if wide:
        state["wide"] = long.unstack(fill_value=0.0)
        del state["long"]
    return state


# ---------------------------------------------------------------------- timed steps
def _step(case: str, state: dict[str, Any]) -> np.ndarray:
    from spillover import measures, weights

    panel, n = state.get("panel"), state.get("n")
    if case == "knn_tiled":
        return measures.knn_pool(panel, "k", state["coords"], k=K, metric="euclidean").to_numpy()
    if case == "band_tiled":
        return measures.distance_band_pool(
            panel, "k", state["coords"], threshold=BAND_M, unit="crs", metric="euclidean",
            islands="keep",
        ).to_numpy()  # fmt: skip
    if case == "knn_memory":
        w = weights.knn(state["xy"], K, metric="euclidean", ids=np.arange(n))
        return measures.spillover_pool(panel, "k", w).to_numpy()
    if case == "band_memory":
        w = weights.distance_band(state["xy"], BAND_M, unit="crs", metric="euclidean",
                                  ids=np.arange(n), islands="keep")  # fmt: skip
        return measures.spillover_pool(panel, "k", w).to_numpy()
    if case in ("knn_libpysal", "band_libpysal"):
        from libpysal.graph import Graph

        y = panel.data["k"].to_numpy()
        if case == "knn_libpysal":
            g = Graph.build_knn(state["xy"], k=K)
        else:
            g = Graph.build_distance_band(state["xy"], BAND_M)
        return np.asarray(g.lag(y))
    if case == "tech_long":
        return measures.technology_pool(panel, "k", state["long"]).to_numpy()
    if case == "tech_wide":
        return measures.technology_pool(panel, "k", state["wide"]).to_numpy()
    if case == "tech_nxn":
        w = weights.technology(state["wide"])
        return measures.spillover_pool(panel, "k", w).to_numpy()
    raise ValueError(case)


def measure(case: str, n: int) -> dict[str, Any]:
    """Run one case in this (fresh) process: untimed setup, then the timed step."""
    warnings.simplefilter("ignore")  # disconnected-graph warnings on random points
    if case.startswith("tech"):
        state = _tech_setup(n, wide=case != "tech_long")
    else:
        state = _geo_setup(n)
    gc.collect()
    before = status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
    start = time.perf_counter()
    out = _step(case, state)
    seconds = time.perf_counter() - start
    peak = status_kb("VmHWM")
    return {
        "case": case,
        "n": n,
        "seconds": round(seconds, 3),
        "step_mb": round(max(peak - before, 0) / 1024, 1),
        "peak_mb": round(peak / 1024, 1),
        "sample": np.asarray(out[:2000], dtype=float).tolist(),
    }


def _run_fresh(case: str, n: int) -> dict[str, Any]:
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            return pool.submit(measure, case, n).result(timeout=TIMEOUT)
    except (BrokenProcessPool, TimeoutError, MemoryError) as exc:
        return {"case": case, "n": n, "skipped": f"{type(exc).__name__}: {exc}"[:200]}
    except Exception as exc:  # a refusal (e.g. too many stored proximities) is a result
        return {"case": case, "n": n, "skipped": f"{type(exc).__name__}: {exc}"[:300]}


# ---------------------------------------------------------------------- driver
LABELS = {
    "knn_tiled": "knn_pool (tiled)",
    "knn_memory": "spillover_pool + weights.knn (in memory)",
    "knn_libpysal": "libpysal Graph.build_knn + lag",
    "band_tiled": "distance_band_pool (tiled)",
    "band_memory": "spillover_pool + weights.distance_band (in memory)",
    "band_libpysal": "libpysal Graph.build_distance_band + lag",
    "tech_long": "technology_pool, long (firm, class) input: F (F' K)",
    "tech_wide": "technology_pool, dense N x 100 DataFrame input",
    "tech_nxn": "weights.technology (N x N stored) + spillover_pool",
}


def plan(quick: bool) -> list[tuple[str, list[int]]]:
    """(case, sizes); the first case of each task is the reference for the others."""
    big = [10_000, 100_000] if quick else [1_000_000, 10_000_000]
    mid = [10_000, 100_000] if quick else [1_000_000]
    tech = [2_000, 100_000] if quick else [2_000, 1_000_000]
    return [
        ("knn_tiled", big),
        ("knn_memory", mid),
        ("knn_libpysal", mid),
        ("band_tiled", big),
        ("band_memory", mid),
        ("band_libpysal", mid),
        ("tech_long", tech),
        ("tech_wide", tech),
        ("tech_nxn", [2_000]),
    ]


def run(quick: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "machine": machine(),
        "k": K,
        "band_m": BAND_M,
        "classes": CLASSES,
        "results": [],
    }
    reference: dict[tuple[str, int], list[float]] = {}
    for case, sizes in plan(quick):
        task = case.split("_")[0]
        for n in sizes:
            res = _run_fresh(case, n)
            sample = res.pop("sample", None)
            if sample is not None:
                if (task, n) not in reference:
                    reference[(task, n)] = sample
                else:  # every method must compute the same pool
                    np.testing.assert_allclose(sample, reference[(task, n)], rtol=1e-10)
                    res["checked"] = True
            res["task"] = task
            record["results"].append(res)
            shown = res.get("skipped") or (
                f"{res['seconds']:9.2f} s {res['step_mb']:9.1f} MB step {res['peak_mb']:9.1f} MB"
            )
            sys.stdout.write(f"{LABELS[case]:<55} n={n:>11,}  {shown}\n")
            sys.stdout.flush()
    return close_machine(record)


def to_markdown(record: dict[str, Any]) -> str:
    m = record["machine"]
    lines = [
        f"# Register-scale pools ({m['cpus']} CPUs, Python {m['python']})",
        "",
        f"Uniform firms at 1 per km^2 (projected metres); kNN pool with k = {record['k']}; "
        f"distance-band pool within {record['band_m'] / 1000:.3f} km (10 neighbours on "
        f"average); technology pool over {record['classes']} classes. One period. Fresh "
        "process per row; setup untimed. step MB = peak resident set during the step "
        "minus the resident set before it; peak MB = the process's peak. Load average "
        f"{m['load_average_at_start']} at start, {m.get('load_average_at_end')} at end. "
        "Reproduce with `.venv/bin/python -m benchmarks.pools_bench`.",
        "",
        "| task | method | N (firms) | seconds | step MB | peak MB | same values |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in record["results"]:
        if "skipped" in r:
            lines.append(f"| {r['task']} | {LABELS[r['case']]} | {r['n']:,} | "
                         f"not run: {r['skipped']} | | | |")  # fmt: skip
            continue
        same = "yes (rtol 1e-10)" if r.get("checked") else "reference"
        lines.append(
            f"| {r['task']} | {LABELS[r['case']]} | {r['n']:,} | {r['seconds']:.2f} | "
            f"{r['step_mb']:.0f} | {r['peak_mb']:.0f} | {same} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    quick = quick_flag(__doc__, argv)
    # glibc: serve blocks above 64 kB by mmap and unmap them on free, so that freed setup
    # arrays are not silently reused and the step's peak resident memory is visible
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", "65536")
    record = run(quick)
    write_results("pools_bench_quick" if quick else "pools_bench", record, to_markdown(record))


if __name__ == "__main__":
    main()
