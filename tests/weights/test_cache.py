"""What is derived from a Weights is computed once, cached, and left out of pickles."""

from __future__ import annotations

import dataclasses
import pickle
from collections import Counter

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from spillover import datasets
from spillover.linalg import spectral, structure
from spillover.linalg.logdet import log_determinant
from spillover.linalg.matrix import CACHED
from spillover.models.spatial import SpatialLag
from spillover.weights import queen

FACTS = {
    "is_symmetric": (structure, "is_symmetric"),
    "symmetric_similar": (structure, "symmetric_similar"),
    "is_row_standardised": (structure, "is_row_standardised"),
    "eigenvalues": (spectral, "eigenvalues"),
    "spectral_radius": (spectral, "spectral_radius"),
    "spectral_bound": (spectral, "spectral_bound"),
}


@pytest.fixture
def calls(monkeypatch):
    """Count calls of the functions behind each cached fact."""
    counter: Counter[str] = Counter()
    for name, (module, attr) in FACTS.items():
        original = getattr(module, attr)

        def counted(*args, _f=original, _name=name, **kwargs):
            counter[_name] += 1
            return _f(*args, **kwargs)

        monkeypatch.setattr(module, attr, counted)
    return counter


@pytest.fixture(scope="module")
def states():
    panel = datasets.us_states()
    return panel, queen(panel.geo)


def test_each_fact_is_computed_once(calls, states):
    _, w = states
    first = {name: getattr(w.row_standardize(), name) for name in CACHED}  # a fresh object
    calls.clear()
    binary = w.symmetrize()  # a new Weights: nothing cached yet
    for _ in range(3):
        values = [getattr(binary, name) for name in CACHED]
    assert all(calls[name] == 1 for name in FACTS), calls
    assert values[0] is True and binary.parameter_bounds[1] < 1  # binary: radius above 1
    assert first["parameter_bounds"] == (-1.0, 1.0) and first["is_row_standardised"]
    # ARPACK starts from a random vector: a second computation agrees to rounding only
    again = spectral.spectral_radius(binary.matrix)
    assert binary.spectral_radius == pytest.approx(again, rel=1e-12)


def test_a_model_fitted_twice_derives_w_once(calls, states):
    panel, w = states
    binary = w.symmetrize()  # not row-standardised: bounds need the eigenvalues
    model = SpatialLag("log_gsp ~ log_pcap + log_pc", panel, w=binary, effects="entity")
    first = model.fit()
    second = model.fit()
    assert_array_equal(first.params, second.params)
    # the eigenvalues serve both the parameter bounds and the "eigen" log-determinant
    assert calls["eigenvalues"] == 1 and calls["is_row_standardised"] == 1, calls
    assert calls["symmetric_similar"] == 1
    log_determinant(binary, method="lu")  # the banded kernel reuses the similar form
    assert calls["symmetric_similar"] == 1


def test_pickles_without_caches_and_stays_frozen(states):
    _, w = states
    r = w.row_standardize()
    radius, bounds = r.spectral_radius, r.parameter_bounds
    assert "spectral_radius" in r.__dict__
    back = pickle.loads(pickle.dumps(r))
    assert not set(CACHED) & set(back.__dict__)
    assert list(back.ids) == list(r.ids) and back.transform == "row"
    assert_array_equal(back.matrix.toarray(), r.matrix.toarray())
    assert back.spectral_radius == radius and back.parameter_bounds == bounds
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.ids = r.ids[::-1]
    assert np.isclose(radius, 1.0)
