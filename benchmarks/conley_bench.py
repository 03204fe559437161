"""Conley spatial HAC timing: 100,000 units x 10 periods, and a naive dense computation beside.

Run with ``.venv/bin/python -m benchmarks.conley_bench`` (add ``--quick`` for a smoke run).
Writes ``benchmarks/results/conley.json`` and ``benchmarks/results/conley.md``.

A second measurement times repeated model fits with the same ``Conley(...)`` on one
simulated 200,000 firm-year panel (20,000 firms x 10 years, EPSG:5070 metres): the first
fit builds the spatial kernel matrix, later fits reuse it from the kernel cache
(``spillover.inference.conley``); an uncached fit is timed beside for the ratio.

Design: units at fixed random locations over the contiguous United States (lon -125..-67,
lat 25..49), k = 5 score columns, Bartlett kernel, 2 serial lags, great-circle distances.
The naive reference builds the full N x N great-circle distance matrix per period (as the
Stata/R reference implementations do) at a size where that fits in memory.
"""

from __future__ import annotations

import numpy as np

from benchmarks._common import close_machine, machine, quick_flag, timed, write_results
from spillover import simulate
from spillover.inference import Conley
from spillover.inference import conley as conley_mod
from spillover.inference.conley import clear_kernel_cache, conley_meat
from spillover.models import FixedEffects
from spillover.weights._distance import haversine_km

REFIT_FORMULA = "log_value_added ~ log_geo_pool + log_rd_stock + log_capital + log_employment"

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


def repeated_fits(n_firms: int, cutoff_km: float = 100.0, lags: int = 2) -> dict:
    """Seconds for an uncached fit, a first (cold-cache) fit and a second (cached) fit."""
    sim = simulate.firms(n_firms, 10, seed=0)
    model = FixedEffects(REFIT_FORMULA, sim.panel, effects="twoway")
    spec = Conley(cutoff_km=cutoff_km, lags=lags)
    budget = conley_mod._CACHE_BYTES
    try:
        conley_mod._CACHE_BYTES = 0  # nothing fits the budget: every fit rebuilds
        clear_kernel_cache()
        uncached, t_uncached = timed(model.fit, vcov=spec)
    finally:
        conley_mod._CACHE_BYTES = budget
    clear_kernel_cache()
    first, t_first = timed(model.fit, vcov=spec)
    second, t_second = timed(model.fit, vcov=spec)
    clear_kernel_cache()
    same = bool(
        np.array_equal(uncached.vcov.to_numpy(), second.vcov.to_numpy())
        and np.array_equal(first.vcov.to_numpy(), second.vcov.to_numpy())
    )
    return {
        "rows": len(sim.panel.data),
        "cutoff_km": cutoff_km,
        "lags": lags,
        "seconds_uncached": round(t_uncached, 3),
        "seconds_first_fit": round(t_first, 3),
        "seconds_second_fit": round(t_second, 3),
        "speedup_second_vs_uncached": round(t_uncached / t_second, 1),
        "bit_identical": same,
    }


def run(quick: bool) -> dict:
    lags, k = 2, 5
    big_units = 10_000 if quick else 100_000
    dense_units = 1_000 if quick else 3_000
    record: dict = {"machine": machine(), "large": []}
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
    record["repeated_fits"] = repeated_fits(2_000 if quick else 20_000)
    return close_machine(record)


def write(record: dict, quick: bool) -> None:
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
    r = record["repeated_fits"]
    lines += [
        f"Repeated `FixedEffects(...).fit(vcov=Conley(cutoff_km={r['cutoff_km']:g}, "
        f"lags={r['lags']}))` on {r['rows']:,} simulated firm-years: uncached "
        f"{r['seconds_uncached']} s, first fit {r['seconds_first_fit']} s, second fit "
        f"{r['seconds_second_fit']} s (kernel matrix reused), x{r['speedup_second_vs_uncached']}"
        f"; covariances bit-identical: {r['bit_identical']}.",
        "",
    ]
    write_results("conley_quick" if quick else "conley", record, "\n".join(lines))


def main() -> None:
    quick = quick_flag(__doc__)
    write(run(quick), quick)


if __name__ == "__main__":
    main()
