"""Low-rank technology pools against dense Jaffe / Mahalanobis matrices at small N."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover import Panel
from spillover.errors import AlignmentError, SpecificationError
from spillover.measures import technology_pool

N, C, T = 25, 6, 3


def _data(seed=0, drop=0.2):
    rng = np.random.default_rng(seed)
    counts = rng.poisson(2.0, (N, C)) * (rng.uniform(size=(N, C)) < 0.6)
    counts[counts.sum(axis=1) == 0, 0] = 3  # every firm patents somewhere
    shares = pd.DataFrame(
        counts, index=[f"f{i}" for i in range(N)], columns=[f"c{c}" for c in range(C)]
    )
    df = pd.DataFrame(
        {
            "firm": np.repeat(shares.index, T),
            "year": np.tile([1, 2, 3], N),
            "k": rng.gamma(2.0, 2.0, N * T),
        }
    )
    return Panel(df.sample(frac=1 - drop, random_state=seed), entity="firm", time="year"), shares


def _dense_proximity(counts, kind):
    """The N x N matrix straight from the definitions (Jaffe 1986; BSV 2013)."""
    t = counts / counts.sum(axis=1, keepdims=True)  # share vectors T_i
    jaffe = np.array([[ti @ tj / np.sqrt((ti @ ti) * (tj @ tj)) for tj in t] for ti in t])
    if kind == "jaffe":
        return jaffe
    xt = t / np.linalg.norm(t, axis=1, keepdims=True)
    z = t / np.linalg.norm(t, axis=0, keepdims=True)
    return xt @ (z.T @ z) @ xt.T


def _brute(panel, prox, ids, exclude_self=True):
    k = panel.data["k"]
    out = []
    for (firm, year), _ in k.items():
        i = ids.index(firm)
        s = 0.0
        for (other, yr), kj in k.items():
            if yr == year and (other != firm or not exclude_self):
                s += prox[i, ids.index(other)] * kj
        out.append(s)
    return np.array(out)


@pytest.mark.parametrize("kind", ["jaffe", "mahalanobis"])
@pytest.mark.parametrize("exclude_self", [True, False])
def test_low_rank_pool_matches_dense(kind, exclude_self):
    panel, shares = _data()
    got = technology_pool(panel, "k", shares, proximity=kind, exclude_self=exclude_self)
    prox = _dense_proximity(shares.to_numpy(float), kind)
    ref = _brute(panel, prox, list(shares.index), exclude_self)
    # low-rank products vs an explicit double sum: equal to rounding
    assert_allclose(got.to_numpy(), ref, rtol=1e-12)


def test_jaffe_hand_case():
    # firms 1 and 2 share class a only partly: T1 = (1, 0), T2 = (1/2, 1/2) ->
    # P12 = (1/2) / (1 * sqrt(1/2)) = 1/sqrt(2); firm 3 in class b only: P13 = 0
    df = pd.DataFrame({"firm": [1, 2, 3], "year": 2000, "k": [1.0, 2.0, 4.0]})
    shares = pd.DataFrame({"a": [5, 1, 0], "b": [0, 1, 7]}, index=[1, 2, 3])
    got = technology_pool(Panel(df, entity="firm", time="year"), "k", shares)
    r = 1 / np.sqrt(2)
    assert_allclose(got, [2 * r, r * 1 + r * 4, r * 2], rtol=1e-14)


def test_time_varying_shares_match_dense_per_period():
    panel, _ = _data(seed=3)
    rng = np.random.default_rng(9)
    keys = panel.data.index
    tv = pd.DataFrame(rng.poisson(3.0, (len(keys), C)) + 1, index=keys)
    got = technology_pool(panel, "k", tv, proximity="mahalanobis")
    for _, grp in panel.data.groupby(level="year"):
        counts = tv.loc[grp.index].to_numpy(float)
        prox = _dense_proximity(counts, "mahalanobis")
        ref = (prox - np.diag(np.diag(prox))) @ grp["k"].to_numpy()
        assert_allclose(got.loc[grp.index].to_numpy(), ref, rtol=1e-12)


def test_bad_shares_are_named():
    panel, shares = _data(drop=0.0)
    with pytest.raises(AlignmentError, match="f24"):
        technology_pool(panel, "k", shares.iloc[:-1])
    zero = shares.copy()
    zero.loc["f3"] = 0
    with pytest.raises(SpecificationError, match="f3"):
        technology_pool(panel, "k", zero)


@pytest.mark.parametrize("kind", ["jaffe", "mahalanobis"])
def test_low_rank_pool_equals_pool_over_sparse_proximity_weights(kind):
    # spillover.weights.technology stores P itself (zero diagonal); pooling through it
    # must give the low-rank result
    from spillover.measures import spillover_pool
    from spillover.weights import technology

    panel, shares = _data(seed=4, drop=0.0)
    w = technology(shares, method=kind)
    assert_allclose(
        spillover_pool(panel, "k", w),
        technology_pool(panel, "k", shares, proximity=kind),
        rtol=1e-10,
    )


def _long(shares):
    """(firm, class) counts, only the classes a firm patents in (the sparse N x C input)."""
    long = shares.stack()
    return long[long > 0]


@pytest.mark.parametrize("kind", ["jaffe", "mahalanobis"])
def test_sparse_and_long_shares_match_dense_definition(kind):
    # rtol 1e-12: the same sparse products as the wide input, which the dense N x N
    # definition confirms; only summation order differs (a few ulp).
    panel, shares = _data(seed=5)
    expected = _brute(panel, _dense_proximity(shares.to_numpy(float), kind), list(shares.index))
    sparse = shares.astype(pd.SparseDtype(float, 0.0))
    for given in (shares, sparse, _long(shares), _long(shares).sample(frac=1.0, random_state=1)):
        got = technology_pool(panel, "k", given, proximity=kind)
        assert_allclose(got, expected, rtol=1e-12)


def test_long_time_varying_shares_match_wide():
    panel, _ = _data(seed=6)
    rng = np.random.default_rng(6)
    counts = rng.poisson(1.5, (len(panel.data), C))
    counts[counts.sum(axis=1) == 0, 1] = 2
    wide = pd.DataFrame(counts, index=panel.data.index, columns=[f"c{c}" for c in range(C)])
    expected = technology_pool(panel, "k", wide)
    assert_allclose(technology_pool(panel, "k", _long(wide)), expected, rtol=1e-12)


def test_long_shares_errors_name_the_firms():
    panel, shares = _data(drop=0.0)
    long = _long(shares)
    with pytest.raises(AlignmentError, match="f7"):
        technology_pool(panel, "k", long.drop("f7", level=0))
    doubled = pd.concat([long, long.iloc[:1]])
    with pytest.raises(SpecificationError, match="more than once"):
        technology_pool(panel, "k", doubled)
    negative = long.copy()
    negative.loc[("f2", negative.loc["f2"].index[0])] = -1.0
    with pytest.raises(SpecificationError, match="f2"):
        technology_pool(panel, "k", negative)
