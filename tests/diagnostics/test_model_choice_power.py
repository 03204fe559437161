"""The issue's criterion: with N = 400, T = 10 and moderate dependence, the true W and the
true family get the highest posterior probability in at least 90% of draws (the design of
``benchmarks/model_choice_power.py``: candidates kNN(5), kNN(10), inverse distance x SLX,
SAR, SEM, SDM, SDEM; truths SAR, SEM, SDM, SDEM on each W; rho or lambda ~ U(0.3, 0.4))."""

from __future__ import annotations

import pytest

from benchmarks.model_choice_power import power_study

#: 8 draws for each of the 12 true (W, family): 96 draws. At the benchmark's pooled rate
#: (0.943 in 300 draws, SE 0.013; benchmarks/results/model_choice_power.md) the binomial SE
#: of a 96-draw share is sqrt(.943 x .057 / 96) = 0.024, and a share below 0.90 has
#: probability P(Binomial(96, 0.943) <= 86) = 0.047; with seed 17 the run is fixed. The
#: true W alone was first in 99.7% of the benchmark's draws. SDEM is the hard family (SDM
#: with the same W wins up to 28% of its draws), so the criterion is pooled over designs.
DRAWS_PER_DESIGN = 8


@pytest.mark.slow
def test_true_weights_and_family_have_the_highest_posterior_probability():
    record = power_study(DRAWS_PER_DESIGN, seed=17, progress=False)
    pooled = record["pooled"]["probability"]
    n = record["pooled"]["draws"]["count"]
    assert n == 96
    assert pooled["weights"] >= 0.90, f"true W first in {pooled['weights']:.1%} of {n} draws"
    assert pooled["joint"] >= 0.90, f"true (W, family) first in {pooled['joint']:.1%} of {n}"
