"""Spillover-pool and R&D-stock timings up to 1,000,000 firms, beside what users write by hand.

Run with ``.venv/bin/python -m benchmarks.measures_bench`` (``--quick`` for a smoke run).
Writes ``benchmarks/results/measures.json`` and ``benchmarks/results/measures.md``
(``measures_quick.*`` with ``--quick``).

Design: firms at random lon/lat points over Europe (lon -10..30, lat 35..60), k = 10
nearest-neighbour binary weights on great-circle distances, one period, a gamma-distributed
stock. Each measurement runs in a fresh process: setup (points, weights, data) is not
timed; the timed step is one pool. Peak memory is the rise of the process's resident-set
high-water mark over its size before the step (Linux ``VmHWM``, reset before the step;
glibc is told to return freed large blocks to the system so that they are counted).
Naive alternatives, fed the same neighbour pairs so that every method computes the same
numbers (checked on every run):

* ``pandas merge``: edge list merged with the stock table, then ``groupby().sum()``;
* ``libpysal lag_spatial (cold)``: ``lag_spatial(w, y)`` on a libpysal ``W`` built from
  neighbour dicts, first call (builds ``w.sparse``, as a one-off pool does);
* ``libpysal lag_spatial (warm)``: the second call, once ``w.sparse`` is cached.

Distance bands: ``pools_by_distance_band`` with annuli 0-1, 1-2 and 2-5 km, the KD-tree pair
search included in the timed step (no naive counterpart: it would need all N^2 distances).

R&D stocks: ``rd_stock`` on firms x 10 years beside a per-firm Python loop
(``groupby().apply``), the way the recursion is usually written.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from libpysal.weights import W, lag_spatial

from benchmarks._common import machine, quick_flag, status_kb, write_results
from spillover import Panel
from spillover.measures import pools_by_distance_band, rd_stock, spillover_pool
from spillover.weights import Weights
from spillover.weights._distance import knn_pairs

LON, LAT = (-10.0, 30.0), (35.0, 60.0)
K, YEARS, DELTA, GROWTH = 10, 10, 0.15, 0.05
BANDS_KM = (0.0, 1.0, 2.0, 5.0)


# ---------------------------------------------------------------------- data
def _points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xy = np.column_stack([rng.uniform(*LON, n), rng.uniform(*LAT, n)])
    return xy, rng.gamma(2.0, 50.0, n)


def _setup_pool(n: int, naive: str | None) -> dict[str, Any]:
    xy, stock = _points(n)
    i, j, _ = knn_pairs(xy, K, metric="haversine")
    state: dict[str, Any] = {"n": n}
    if naive is None:
        df = pd.DataFrame({"firm": np.arange(n), "year": 2020, "k": stock})
        state["panel"] = Panel(df, entity="firm", time="year")
        state["w"] = Weights(sp.csr_array((np.ones(len(i)), (i, j)), shape=(n, n)), np.arange(n))
    elif naive == "merge":
        state["edges"] = pd.DataFrame({"firm": i, "neighbour": j})
        state["stock"] = pd.DataFrame({"neighbour": np.arange(n), "k": stock})
    else:
        neighbours = dict(zip(range(n), j.reshape(n, K).tolist(), strict=True))
        state["w"] = W(neighbours, silence_warnings=True)
        state["y"] = stock
        if naive == "libpysal_warm":
            _ = state["w"].sparse
    return state


def _setup_bands(n: int) -> dict[str, Any]:
    xy, stock = _points(n)
    df = pd.DataFrame({"firm": np.arange(n), "year": 2020, "k": stock})
    coords = pd.DataFrame(xy, columns=["lon", "lat"])
    return {"panel": Panel(df, entity="firm", time="year"), "coords": coords}


def _setup_stock(n_firms: int, as_panel: bool) -> pd.DataFrame | Panel:
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "firm": np.repeat(np.arange(n_firms), YEARS),
            "year": np.tile(np.arange(2000, 2000 + YEARS), n_firms),
            "rd": rng.gamma(2.0, 5.0, n_firms * YEARS),
        }
    )
    return Panel(df, entity="firm", time="year") if as_panel else df


# ---------------------------------------------------------------------- timed steps
def _step(case: str, state: Any) -> np.ndarray:
    if case == "pool":
        return spillover_pool(state["panel"], "k", state["w"]).to_numpy()
    if case == "bands":
        return pools_by_distance_band(
            state["panel"], "k", state["coords"], bands=BANDS_KM, metric="haversine"
        ).to_numpy()[:, -1]
    if case == "merge":
        m = state["edges"].merge(state["stock"], on="neighbour", how="left")
        s = m.groupby("firm")["k"].sum()
        return s.reindex(np.arange(state["n"]), fill_value=0.0).to_numpy()
    if case in ("libpysal_cold", "libpysal_warm"):
        return np.asarray(lag_spatial(state["w"], state["y"]))
    if case == "stock":
        return rd_stock(state, "rd", depreciation=DELTA, growth=GROWTH).to_numpy()
    if case == "stock_loop":
        return state.groupby("firm", sort=True)["rd"].apply(_loop_stock).explode().to_numpy()
    raise ValueError(case)


def _loop_stock(r: pd.Series) -> list[float]:
    out, k = [], None
    for x in r.to_numpy():
        k = x / (GROWTH + DELTA) if k is None else (1 - DELTA) * k + x
        out.append(k)
    return out


def measure(case: str, n: int) -> dict[str, Any]:
    """Run one case in this (fresh) process: untimed setup, then the timed step."""
    if case.startswith("stock"):
        state: Any = _setup_stock(n, as_panel=case == "stock")
    elif case == "bands":
        state = _setup_bands(n)
    else:
        naive = {"pool": None, "merge": "merge"}.get(case, case)
        state = _setup_pool(n, naive)
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
        "seconds": round(seconds, 4),
        "peak_mb": round(max(peak - before, 0) / 1024, 1),
        "sample": np.asarray(out[:2000], dtype=float).tolist(),
    }


def _run_fresh(case: str, n: int) -> dict[str, Any]:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(measure, case, n).result()


# ---------------------------------------------------------------------- driver
LABELS = {
    "pool": "spillover_pool",
    "merge": "pandas merge + groupby",
    "libpysal_cold": "libpysal lag_spatial (cold)",
    "libpysal_warm": "libpysal lag_spatial (warm)",
    "bands": "pools_by_distance_band, 3 annuli (incl. KD-tree pairs)",
    "stock": "rd_stock",
    "stock_loop": "groupby-apply Python loop",
}


def plan(quick: bool) -> list[tuple[str, str, list[int]]]:
    pool_sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    stock_sizes = [1_000, 10_000] if quick else [10_000, 100_000]
    loop_sizes = [1_000] if quick else [10_000]
    return [
        ("pool", "pool", pool_sizes),
        ("pool", "merge", pool_sizes),
        ("pool", "libpysal_cold", pool_sizes),
        ("pool", "libpysal_warm", pool_sizes),
        ("bands", "bands", pool_sizes),
        ("stock", "stock", stock_sizes),
        ("stock", "stock_loop", loop_sizes),
    ]


def run(quick: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "machine": machine(),
        "k": K,
        "years": YEARS,
        "bands_km": list(BANDS_KM),
        "results": [],
    }
    reference: dict[tuple[str, int], list[float]] = {}
    for group, case, sizes in plan(quick):
        for n in sizes:
            res = _run_fresh(case, n)
            base = group  # our method's case is named like its group
            sample = res.pop("sample")
            if case == base:
                reference[(group, n)] = sample
            elif (group, n) in reference:
                # every method must compute the same numbers (up to summation order)
                np.testing.assert_allclose(sample, reference[(group, n)], rtol=1e-10)
            res["group"] = group
            record["results"].append(res)
            sys.stdout.write(f"{LABELS[case]:<30} n={n:>9,}  {res['seconds']:9.3f} s  "
                             f"{res['peak_mb']:8.1f} MB\n")  # fmt: skip
            sys.stdout.flush()
    return record


def to_markdown(record: dict[str, Any]) -> str:
    rows = pd.DataFrame(record["results"])
    ours = rows[rows["case"] == rows["group"]].set_index(["group", "n"])["seconds"]
    lines = [
        f"# measures benchmark ({record['machine']['cpus']} CPUs, Python "
        f"{record['machine']['python']})",
        "",
        f"Spillover pool over k = {record['k']} nearest neighbours (great-circle), one period;"
        f" distance-band pools {record['bands_km']} km; R&D stock over firms x "
        f"{record['years']} years (n counts firms). Reproduce with "
        "`.venv/bin/python -m benchmarks.measures_bench`.",
        "",
        "| task | method | n (firms) | seconds | peak MB | time / ours |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows.itertuples():
        base = ours.get((r.group, r.n), np.nan)
        ratio = r.seconds / base if base and np.isfinite(base) else float("nan")
        lines.append(
            f"| {r.group} | {LABELS[r.case]} | {r.n:,} | {r.seconds:.3f} | {r.peak_mb:.1f} | "
            f"{ratio:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    quick = quick_flag(__doc__, argv)
    # glibc: serve every block above 64 kB by mmap and unmap it on free, so that a freed
    # setup array is not silently reused and the step's peak resident memory is visible
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", "65536")
    record = run(quick)
    write_results("measures_quick" if quick else "measures", record, to_markdown(record))


if __name__ == "__main__":
    main()
