"""Moran's I per period and LISA against esda run directly on libpysal weights."""

import warnings

import numpy as np
import pandas as pd
import pytest
from esda.moran import Moran, Moran_Local
from libpysal.weights import lat2W, w_subset
from numpy.testing import assert_allclose, assert_array_equal

from spillover import Panel
from spillover.errors import SpecificationError
from spillover.measures import lisa, morans_i
from spillover.weights import Weights

SIDE, T = 8, 3
N = SIDE * SIDE


@pytest.fixture(scope="module")
def lattice():
    return lat2W(SIDE, SIDE)  # rook contiguity on an 8 x 8 grid, ids 0..63


@pytest.fixture(scope="module")
def panel(lattice):
    rng = np.random.default_rng(0)
    w = Weights.from_libpysal(lattice).row_standardize().matrix
    rows = []
    for t in range(T):
        # a spatially smoothed field, so that I is clearly positive
        y = rng.normal(size=N)
        y = y + 0.8 * (w @ y) + 0.5 * (w @ (w @ y))
        rows.append(pd.DataFrame({"cell": np.arange(N), "t": 2000 + t, "y": y}))
    return Panel(pd.concat(rows), entity="cell", time="t")


def _esda_moran(y, w, seed):
    np.random.seed(seed)  # noqa: NPY002  (esda permutes with the legacy global generator)
    return Moran(y, w, permutations=99)


def test_morans_i_equals_esda_each_period(panel, lattice):
    got = morans_i(panel, "y", Weights.from_libpysal(lattice), permutations=99, seed=42)
    assert list(got.index) == [2000, 2001, 2002]
    for k, t in enumerate(got.index):
        y = panel.data.xs(t, level="t")["y"].to_numpy()
        ref = _esda_moran(y, lat2W(SIDE, SIDE), 42 + k)
        row = got.loc[t]
        # the very same esda computation on the same data and permutations: identical
        assert_allclose(
            row[["I", "EI", "z_norm", "p_norm", "z_rand", "p_rand", "p_sim"]].to_numpy(float),
            [ref.I, ref.EI, ref.z_norm, ref.p_norm, ref.z_rand, ref.p_rand, ref.p_sim],
            rtol=1e-12,
        )
    assert (got["I"] > 0.2).all()


def test_morans_i_unbalanced_uses_the_period_subset(panel, lattice):
    drop = panel.data.index[[3, 50, 100]]  # cells 1, 16, 33 in different years
    sub = Panel(panel.data.drop(index=drop), entity="cell", time="t")
    got = morans_i(sub, "y", lattice, permutations=0)
    for t in got.index:
        ys = sub.data.xs(t, level="t")["y"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wt = w_subset(lat2W(SIDE, SIDE), list(ys.index))
        ref = Moran(ys.to_numpy(), wt, permutations=0)
        assert got.loc[t, "n"] == len(ys)
        assert got.loc[t, "I"] == pytest.approx(ref.I, rel=1e-12)
        assert got.loc[t, "z_norm"] == pytest.approx(ref.z_norm, rel=1e-12)
    assert got["p_sim"].isna().all()


def test_morans_i_time_varying_weights_and_global_state(panel, lattice):
    w = Weights.from_libpysal(lattice)
    ws = {2000: w, 2001: w.subset(list(reversed(w.ids))), 2002: w}
    np.random.seed(7)  # noqa: NPY002
    before = np.random.random()  # noqa: NPY002
    np.random.seed(7)  # noqa: NPY002
    got = morans_i(panel, "y", ws, permutations=19, seed=1)
    after = np.random.random()  # noqa: NPY002
    assert before == after  # the caller's global generator is left as it was
    static = morans_i(panel, "y", w, permutations=19, seed=1)
    assert_allclose(got.to_numpy(float), static.to_numpy(float), rtol=1e-12)


def test_lisa_equals_esda(panel, lattice):
    got = lisa(panel, "y", lattice, period=2001, permutations=99, seed=3, alpha=0.1)
    y = panel.data.xs(2001, level="t")["y"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = Moran_Local(y, lat2W(SIDE, SIDE), permutations=99, seed=3)
    assert_allclose(got["Is"], ref.Is, rtol=1e-12)
    assert_allclose(got["p_sim"], ref.p_sim, rtol=1e-12)
    labels = np.array(["", "HH", "LH", "LL", "HL"])[ref.q]
    assert_array_equal(got["quadrant"], labels)
    assert_array_equal(got["significant"], ref.p_sim <= 0.1)
    assert_array_equal(got["cluster"], np.where(ref.p_sim <= 0.1, labels, "ns"))
    # quadrants by definition: sign of z and of its spatial lag
    z = y - y.mean()
    lag = Weights.from_libpysal(lattice).row_standardize().matrix @ z
    assert_array_equal(got["quadrant"].str[0] == "H", z > 0)
    assert_array_equal(got["quadrant"].str[1] == "H", lag > 0)


def test_lisa_needs_a_period(panel, lattice):
    with pytest.raises(SpecificationError, match="period="):
        lisa(panel, "y", lattice)


def test_unseeded_permutations_leave_global_state_alone(panel, lattice):
    # Without a seed the permutations still come from a private generator (fresh entropy):
    # the caller's global numpy state is untouched and p_sim stays a valid pseudo p-value.
    w = Weights.from_libpysal(lattice)
    np.random.seed(3)  # noqa: NPY002
    before = np.random.random()  # noqa: NPY002
    np.random.seed(3)  # noqa: NPY002
    got = morans_i(panel, "y", w, permutations=19)
    after = np.random.random()  # noqa: NPY002
    assert before == after
    assert ((got["p_sim"] >= 1 / 20) & (got["p_sim"] <= 1)).all()
