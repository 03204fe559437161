"""Test results pickle: statistics, text and tables unchanged after a round trip.

Companion of the estimator contract (tests/models/test_contract.py), for what the
diagnostics return and for spatial results fitted with random effects or one W per period.
"""

import pickle

import pandas as pd
import pytest

from spillover import datasets, diagnostics, weights
from spillover.models import FixedEffects, Pooled, RandomEffects, SpatialDurbin, SpatialLag
from spillover.weights import WeightsByPeriod
from tests.munnell import FORMULA


@pytest.fixture(scope="module")
def states():
    panel = datasets.us_states()
    return panel, weights.queen(panel.geo).row_standardize()


def _round_trip(obj):
    back = pickle.loads(pickle.dumps(obj))
    assert type(back) is type(obj)
    assert str(back) == str(obj)
    return back


def test_specification_and_lm_tests_pickle(states):
    panel, w = states
    fe, re_ = FixedEffects(FORMULA, panel).fit(), RandomEffects(FORMULA, panel).fit()
    x = panel.data[["log_pcap", "unemp"]].assign(const=1.0)
    for result in (
        diagnostics.hausman(fe, re_),
        diagnostics.pesaran_cd(fe.residuals),
        diagnostics.lm_tests(panel["log_gsp"], x, w),
        diagnostics.moran_residuals(Pooled(FORMULA, panel).fit().residuals, w),
    ):
        back = _round_trip(result)
        assert back == result


def test_bsk_tests_pickle(states):
    panel, w = states
    out = diagnostics.bsk_tests(FORMULA, panel, w=w)
    back = _round_trip(out)
    pd.testing.assert_frame_equal(back.to_frame(), out.to_frame(), check_exact=True)


@pytest.mark.parametrize("effects", ["random", "entity"])
def test_spatial_results_pickle_and_give_the_same_impacts(states, effects):
    panel, w = states
    res = SpatialLag(FORMULA, panel, w=w, effects=effects).fit()
    back = pickle.loads(pickle.dumps(res))
    pd.testing.assert_series_equal(back.params, res.params, check_exact=True)
    assert back.weights.matrix.nnz == res.weights.matrix.nnz
    want = res.impacts(method="delta")
    pd.testing.assert_frame_equal(back.impacts(method="delta"), want, check_exact=True)


def test_results_with_weights_by_period_pickle(states):
    panel, queen = states
    knn = weights.knn(panel.geo, 4).row_standardize()
    by_period = WeightsByPeriod({p: (queen if p < 1979 else knn) for p in panel.periods})
    res = SpatialDurbin(FORMULA, panel, w=by_period, bias_correction=None).fit()
    back = pickle.loads(pickle.dumps(res))
    assert len(back.weights_by_period) == len(res.weights_by_period)
    # periods sharing one W still share it after loading (pickled once)
    assert back.weights_by_period[0] is back.weights_by_period[1]
    want = res.impacts(draws=40, seed=2)
    pd.testing.assert_frame_equal(back.impacts(draws=40, seed=2), want, check_exact=True)


def test_spatial_results_leave_what_w_caches_behind(states):
    """A cached factorisation or log-determinant closure on W must not block pickling."""
    panel, _ = states
    w = weights.queen(panel.geo).row_standardize()  # a W of this test's own
    res = SpatialLag(FORMULA, panel, w=w).fit()
    res.weights.__dict__["_cached_logdet"] = lambda rho: 0.0  # as a cache on W could hold
    back = pickle.loads(pickle.dumps(res))
    assert "_cached_logdet" not in back.weights.__dict__
    assert (back.weights.matrix != res.weights.matrix).nnz == 0
    assert list(back.weights.ids) == list(res.weights.ids)
