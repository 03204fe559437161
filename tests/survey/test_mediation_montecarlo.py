"""Monte Carlo: the bootstrap recovers simulated indirect effects and covers them.

Acceptance bands come from the replications themselves: with R replications, the coverage
of a 95% interval has binomial standard error sqrt(0.95 * 0.05 / R), and we accept
coverage within 3 of those of 0.95; the mean estimate must lie within 4 Monte Carlo
standard errors (SD / sqrt(R)) of the truth (products of OLS paths are nearly unbiased).
"""

import numpy as np
import pandas as pd
import pytest

from spillover.survey import Mediation
from spillover.survey._bootstrap import bc_interval

A1, A2, D21, B1, B2, CP = 0.4, 0.2, 0.3, 0.3, 0.4, 0.1
TRUTH = {
    "x -> m1 -> y": A1 * B1,
    "x -> m2 -> y": A2 * B2,
    "x -> m1 -> m2 -> y": A1 * D21 * B2,
    "total indirect": A1 * B1 + A2 * B2 + A1 * D21 * B2,
}


def _simulate(rng, n, clusters=None):
    """Serial model; with ``clusters``, a shared cluster shock (SD 0.7) in every equation."""
    g = np.arange(n) % clusters if clusters else np.arange(n)
    shock = (lambda: 0.7 * rng.normal(size=clusters)[g]) if clusters else (lambda: 0.0)
    x, w = rng.normal(size=n) + shock(), rng.normal(size=n)
    m1 = A1 * x + 0.2 * w + rng.normal(size=n) + shock()
    m2 = A2 * x + D21 * m1 + rng.normal(size=n) + shock()
    y = CP * x + B1 * m1 + B2 * m2 + 0.2 * w + rng.normal(size=n) + shock()
    return pd.DataFrame({"x": x, "m1": m1, "m2": m2, "y": y, "w": w, "g": g})


def _run(reps, n, draws, seed, clusters=None):
    rng = np.random.default_rng(seed)
    hits = {"percentile": [], "bc": []}
    estimates = []
    for _ in range(reps):
        data = _simulate(rng, n, clusters)
        model = Mediation(
            data,
            x="x",
            mediators=["m1", "m2"],
            y="y",
            covariates=["w"],
            kind="serial",
            cluster="g" if clusters else None,
        )
        res = model.fit(bootstrap=draws, seed=rng)
        truth = np.array([TRUTH[k] for k in res.indirect.index])
        est = res.indirect["estimate"].to_numpy()
        low, high = bc_interval(res.draws.to_numpy(), est, 0.95)
        hits["percentile"].append(
            (res.indirect["lower"] <= truth) & (truth <= res.indirect["upper"])
        )
        hits["bc"].append((low <= truth) & (truth <= high))
        estimates.append(est)
    return {k: np.mean(v, axis=0) for k, v in hits.items()}, np.array(estimates)


def _check(coverage, estimates, reps):
    band = 3 * np.sqrt(0.95 * 0.05 / reps)
    truth = np.array(list(TRUTH.values()))
    mc_se = estimates.std(axis=0, ddof=1) / np.sqrt(reps)
    assert np.all(np.abs(estimates.mean(axis=0) - truth) < 4 * mc_se)
    for method, cover in coverage.items():
        assert np.all(np.abs(cover - 0.95) < band), (method, cover, band)


@pytest.mark.slow
def test_row_bootstrap_recovers_and_covers():
    reps = 200
    coverage, estimates = _run(reps, n=200, draws=999, seed=20261202)
    _check(coverage, estimates, reps)


@pytest.mark.slow
def test_cluster_bootstrap_covers_with_cluster_shocks():
    reps = 150
    coverage, estimates = _run(reps, n=300, draws=499, seed=7, clusters=60)
    _check(coverage, estimates, reps)
