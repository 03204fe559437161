"""Cost of exact against Monte Carlo traces in the spatial ML information matrix.

Run with ``.venv/bin/python -m benchmarks.trace_cost`` (``--quick``: N = 400 only).
Prints, per N and family (SAR, SAC on a row-standardised k = 6 nearest-neighbour W of
uniform points; T = 3, entity effects), the CPU and wall seconds of the traces, the work
``N x nnz(LU) x solves`` that :data:`spillover.models.spatial._variance.EXACT_MAX_WORK`
bounds, and the relative difference of the Monte Carlo SEs of rho and lambda from the
exact ones, beside the precision the results state. Not a ``*_bench.py``: ``run_all``
does not run it. The figures in ``EXACT_MAX_WORK``'s comment come from this script.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

import spillover.models.spatial._variance as variance
from spillover.models.spatial import SAC, SpatialLag
from spillover.simulate import spatial_panel


def knn_matrix(n: int, k: int = 6, seed: int = 0) -> sp.csr_array:
    xy = np.random.default_rng(seed).uniform(size=(n, 2))
    _, idx = cKDTree(xy).query(xy, k + 1)
    rows = np.repeat(np.arange(n), k)
    return sp.csr_array((np.full(n * k, 1.0 / k), (rows, idx[:, 1:].ravel())), shape=(n, n))


def case(n: int, model: type) -> str:
    sim = spatial_panel(knn_matrix(n), 3, model="sac" if model is SAC else "sar", rho=0.4,
                        lam=0.3 if model is SAC else 0.0, beta=[1.0, -0.5],
                        effects="entity", seed=1)  # fmt: skip
    spec = model("y ~ x1 + x2", sim.panel, w=sim.weights, effects="entity")
    seconds: list[tuple[float, float]] = []
    original = variance._traces

    def timed(*args, **kwargs):
        cpu, wall = time.process_time(), time.perf_counter()
        out = original(*args, **kwargs)
        seconds.append((time.process_time() - cpu, time.perf_counter() - wall))
        return out

    variance._traces = timed
    try:
        limit = variance.EXACT_MAX_WORK
        variance.EXACT_MAX_WORK = float("inf")
        exact = spec.fit()
        variance.EXACT_MAX_WORK = 0.0
        mc = spec.fit()
        variance.EXACT_MAX_WORK = limit
    finally:
        variance._traces = original
    spatial = [p for p in ("rho", "lambda") if p in exact.params.index]
    diff = (mc.std_errors / exact.std_errors - 1)[spatial].map("{:.1e}".format).to_dict()
    (ex_cpu, ex_wall), (mc_cpu, _) = seconds
    return (
        f"N={n:>6} {model.__name__:<10} exact {ex_cpu:6.2f}s cpu {ex_wall:6.2f}s wall | "
        f"mc {mc_cpu:5.2f}s cpu | mc SE rel. diff {diff} | stated: {mc.info['Traces']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    sizes = [400] if parser.parse_args().quick else [1500, 3085, 5000]
    for n in sizes:
        for model in (SpatialLag, SAC):
            print(case(n, model), flush=True)


if __name__ == "__main__":
    main()
