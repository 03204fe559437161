"""Conley spatial HAC timing: 100,000 units x 10 periods, and a naive dense computation beside.

Run with ``.venv/bin/python -m benchmarks.conley_bench`` (add ``--quick`` for a smoke run).
Writes ``benchmarks/results/conley.json`` and ``benchmarks/results/conley.md``.

Design: units at fixed random locations over the contiguous United States (lon -125..-67,
lat 25..49), k = 5 score columns, Bartlett kernel, 2 serial lags, great-circle distances.
The naive reference builds the full N x N great-circle distance matrix per period (as the
Stata/R reference implementations do) at a size where that fits in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from spillover.inference.conley import conley_meat
from spillover.weights._distance import haversine_km

RESULTS = Path(__file__).resolve().parent / "results"
LON, LAT = (-125.0, -67.0), (25.0, 49.0)


def make_panel(n_units: int, n_periods: int, k: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    home = np.column_stack([rng.uniform(*LON, n_units), rng.uniform(*LAT, n_units)])
    entity = np.repeat(np.arange(n_units), n_periods)
    time_ = np.tile(np.arange(n_periods), n_units)
    return {
        "scores": rng.normal(size=(n_units * n_periods, k)),
        "coords": home[entity],
        "entity": entity,
        "time": time_,
    }


def naive_dense_meat(data: dict[str, np.ndarray], cutoff: float, lags: int) -> np.ndarray:
    """Full N x N distance and kernel matrices per period; dense T x T lag weights."""
    s, xy, ent, t = data["scores"], data["coords"], data["entity"], data["time"]
    meat = np.zeros((s.shape[1], s.shape[1]))
    for p in np.unique(t):
        rows = t == p
        pts, sp_ = xy[rows], s[rows]
        d = haversine_km(pts[:, None, 0], pts[:, None, 1], pts[None, :, 0], pts[None, :, 1])
        kern = np.where(d <= cutoff, 1.0 - d / cutoff, 0.0)
        meat += sp_.T @ kern @ sp_
    # balanced, unit-major rows (as make_panel builds them): one T x T lag-weight matrix
    n_per = len(np.unique(t))
    blocks = s[np.lexsort((t, ent))].reshape(-1, n_per, s.shape[1])
    gap = np.abs(np.arange(n_per)[:, None] - np.arange(n_per)[None, :])
    w = np.where((gap >= 1) & (gap <= lags), 1.0 - gap / (lags + 1), 0.0)
    meat += np.einsum("utk,tv,uvm->km", blocks, w, blocks, optimize=True)
    return meat


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def run(quick: bool) -> dict:
    lags, k = 2, 5
    big_units = 10_000 if quick else 100_000
    dense_units = 1_000 if quick else 3_000
    record: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": os.getloadavg(),
        },
        "large": [],
    }
    for cutoff in (50.0, 100.0):
        data = make_panel(big_units, 10, k)
        _, seconds = timed(
            conley_meat, **data, cutoff=cutoff, metric="haversine", kernel="bartlett", lags=lags
        )
        record["large"].append(
            {"units": big_units, "periods": 10, "k": k, "cutoff_km": cutoff, "lags": lags,
             "seconds": round(seconds, 2)}
        )  # fmt: skip
    data = make_panel(dense_units, 10, k, seed=1)
    ours, t_ours = timed(
        conley_meat, **data, cutoff=100.0, metric="haversine", kernel="bartlett", lags=lags
    )
    dense, t_dense = timed(naive_dense_meat, data, 100.0, lags)
    record["dense_comparison"] = {
        "units": dense_units,
        "periods": 10,
        "k": k,
        "cutoff_km": 100.0,
        "lags": lags,
        "seconds_spillover": round(t_ours, 3),
        "seconds_naive_dense": round(t_dense, 3),
        "speedup": round(t_dense / t_ours, 1),
        "max_rel_difference": float(np.max(np.abs(ours - dense)) / np.max(np.abs(dense))),
    }
    record["machine"]["load_average_at_end"] = os.getloadavg()
    return record


def write(record: dict, quick: bool) -> None:
    RESULTS.mkdir(exist_ok=True)
    stem = "conley_quick" if quick else "conley"
    (RESULTS / f"{stem}.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        "# Conley spatial HAC benchmark",
        "",
        "Command: `.venv/bin/python -m benchmarks.conley_bench" + (" --quick`" if quick else "`"),
        f"Machine: {record['machine']['cpus']} CPUs, Python {record['machine']['python']}, "
        f"load average at start {record['machine']['load_average_at_start'][0]:.1f} "
        "(the machine is shared; timings include that contention).",
        "",
        "| units | periods | k | cutoff (km) | lags | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for r in record["large"]:
        lines.append(
            f"| {r['units']:,} | {r['periods']} | {r['k']} | {r['cutoff_km']:g} | {r['lags']} "
            f"| {r['seconds']} |"
        )
    c = record["dense_comparison"]
    lines += [
        "",
        f"Naive dense N x N per period at {c['units']:,} units x {c['periods']} periods "
        f"(cutoff {c['cutoff_km']:g} km, {c['lags']} lags): {c['seconds_naive_dense']} s vs "
        f"{c['seconds_spillover']} s here, speed-up x{c['speedup']}; max relative difference "
        f"{c['max_rel_difference']:.1e}.",
        "",
    ]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    record = run(args.quick)
    write(record, args.quick)


if __name__ == "__main__":
    main()
