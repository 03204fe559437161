"""Reuse of the Conley kernel matrix between fits: same numbers, no stale or unbounded hits."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from spillover import datasets
from spillover.inference import Conley
from spillover.inference import conley as conley_mod
from spillover.inference.conley import clear_kernel_cache, conley_meat
from spillover.models import FixedEffects


@pytest.fixture
def builds(monkeypatch):
    """Count the kernel-matrix constructions (cache misses), starting from an empty cache."""
    clear_kernel_cache()
    calls = []
    real = conley_mod._kernel_matrix

    def counted(*args):
        calls.append(args[1:])
        return real(*args)

    monkeypatch.setattr(conley_mod, "_kernel_matrix", counted)
    yield calls
    clear_kernel_cache()


def _panel(n_units=60, n_periods=4, seed=0):
    rng = np.random.default_rng(seed)
    home = np.column_stack([rng.uniform(4.0, 6.0, n_units), rng.uniform(45.0, 46.5, n_units)])
    ent = np.repeat(np.arange(n_units), n_periods)
    t = np.tile(np.arange(n_periods), n_units)
    return rng.normal(size=(len(ent), 3)), home[ent], ent, t


def test_second_fit_reuses_kernel_bit_identical(builds, monkeypatch):
    s, xy, ent, t = _panel()
    kw = dict(entity=ent, time=t, cutoff=40.0, metric="haversine", lags=1)
    first = conley_meat(s, xy, **kw)
    second = conley_meat(s * 2.0, xy.copy(), **kw)  # new scores, equal coordinates: a hit
    assert len(builds) == 1
    # the reference: caching switched off (no matrix fits the budget), built from scratch
    monkeypatch.setattr(conley_mod, "_CACHE_BYTES", 0)
    clear_kernel_cache()
    assert_array_equal(conley_meat(s, xy, **kw), first)
    assert_array_equal(conley_meat(s * 2.0, xy, **kw), second)
    assert len(builds) == 3 and not conley_mod._cache


@pytest.mark.parametrize(
    "change",
    [
        {"cutoff": 40.000001},
        {"kernel": "uniform"},
        {"metric": "euclidean"},
        {"nudge": True},
    ],
)
def test_different_locations_or_options_miss(builds, change):
    s, xy, ent, t = _panel()
    kw = dict(entity=ent, time=t, cutoff=40.0, metric="haversine", kernel="bartlett")
    base = conley_meat(s, xy, **kw)
    xy2 = xy.copy()
    if change.pop("nudge", False):  # one location moved by the smallest representable step
        xy2[ent == 0, 0] = np.nextafter(xy2[ent == 0, 0], np.inf)
    other = conley_meat(s, xy2, **{**kw, **change})
    assert len(builds) == 2
    # and the miss computed its own matrix: compare to a fresh, uncached computation
    clear_kernel_cache()
    assert_array_equal(other, conley_meat(s, xy2, **{**kw, **change}))
    assert base.shape == other.shape


def test_cache_is_bounded_and_read_only(builds):
    s, xy, ent, t = _panel()
    for cutoff in (10.0, 20.0, 30.0, 40.0, 50.0, 60.0):
        conley_meat(s, xy, entity=ent, time=t, cutoff=cutoff, metric="haversine")
    assert len(conley_mod._cache) == conley_mod._CACHE_ENTRIES
    kept = {key[3] for key in conley_mod._cache}
    assert kept == {30.0, 40.0, 50.0, 60.0}  # least recently used dropped first
    k_mat = next(iter(conley_mod._cache.values()))
    with pytest.raises(ValueError):
        k_mat.data[0] = 1.0


def test_model_refits_build_the_kernel_once(builds):
    produc = datasets.us_states()
    model = FixedEffects("log_gsp ~ log_pcap + log_pc + log_emp + unemp", produc)
    first = model.fit(vcov=Conley(cutoff_km=500, lags=2))
    again = model.fit(vcov=Conley(cutoff_km=500, lags=2))
    assert len(builds) == 1
    assert_array_equal(first.vcov.to_numpy(), again.vcov.to_numpy())
    model.fit(vcov=Conley(cutoff_km=600, lags=2))
    assert len(builds) == 2
