"""Location quotients, Krugman, Herfindahl and Ellison-Glaeser against hand computations."""

import itertools

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.errors import AlignmentError, SpecificationError
from spillover.measures import ellison_glaeser, herfindahl, krugman_index, location_quotient


@pytest.fixture
def table():
    # two periods; period 2001 duplicates a cell (rows are summed)
    return pd.DataFrame(
        {
            "year": [2000] * 4 + [2001] * 4,
            "reg": ["A", "A", "B", "B", "A", "A", "A", "B"],
            "ind": ["x", "y", "x", "y", "x", "x", "y", "y"],
            "emp": [20.0, 20.0, 30.0, 30.0, 10.0, 30.0, 20.0, 40.0],
        }
    )


def test_location_quotient_by_hand(table):
    lq = location_quotient(table, region="reg", industry="ind", employment="emp", time="year")
    # 2000: every region has the national mix (1/2, 1/2): all LQ = 1
    assert_allclose(lq.loc[2000], 1.0, rtol=1e-14)
    # 2001: E = 100, E_A = 60, E_B = 40, E_x = 40 (only in A), E_y = 60
    assert lq.loc[(2001, "A", "x")] == pytest.approx((40 / 60) / (40 / 100), rel=1e-14)
    assert lq.loc[(2001, "A", "y")] == pytest.approx((20 / 60) / (60 / 100), rel=1e-14)
    assert lq.loc[(2001, "B", "y")] == pytest.approx((40 / 40) / (60 / 100), rel=1e-14)
    assert (2001, "B", "x") not in lq.index  # no rows: E_Bx = 0


def test_krugman_by_hand(table):
    k = krugman_index(table, region="reg", industry="ind", employment="emp", time="year")
    assert_allclose(k.loc[2000], 0.0, atol=1e-15)
    # 2001: A = (2/3, 1/3), B = (0, 1): |2/3 - 0| + |1/3 - 1| = 4/3 both ways
    assert_allclose(k.loc[2001], [4 / 3, 4 / 3], rtol=1e-14)
    k_all = krugman_index(
        table, region="reg", industry="ind", employment="emp", time="year", reference="all"
    )
    # vs national (0.4, 0.6): A |2/3 - .4| + |1/3 - .6| = 8/15; B |0 - .4| + |1 - .6| = 0.8
    assert_allclose(k_all.loc[2001], [8 / 15, 0.8], rtol=1e-14)


def test_herfindahl_by_hand(table):
    h = herfindahl(table, group="ind", employment="emp", time="year")
    # 2001, industry x: plants of 10 and 30 -> (1/4)^2 + (3/4)^2 = 10/16
    assert h.loc[(2001, "x")] == pytest.approx(10 / 16, rel=1e-14)
    assert h.loc[(2000, "y")] == pytest.approx(0.4**2 + 0.6**2, rel=1e-14)
    # regional concentration of industry x in 2001: both plants in A -> 1
    hr = herfindahl(table, group="ind", unit="reg", employment="emp", time="year")
    assert hr.loc[(2001, "x")] == pytest.approx(1.0, rel=1e-14)


def test_ellison_glaeser_worked_example():
    # Aggregate employment: N = 60, S = 30, W = 10 -> x = (0.6, 0.3, 0.1),
    # sum x^2 = 0.36 + 0.09 + 0.01 = 0.46.
    # Industry "a": plants 20 (N), 20 (N), 10 (S) -> s = (0.8, 0.2, 0)
    #   G = 0.2^2 + 0.1^2 + 0.1^2 = 0.06;  H = 0.4^2 + 0.4^2 + 0.2^2 = 0.36
    #   gamma = (0.06 - 0.54 * 0.36) / (0.54 * 0.64) = -0.1344 / 0.3456
    # Industry "b": plants 20 (N), 20 (S), 10 (W) -> s = (0.4, 0.4, 0.2)
    #   G = 0.04 + 0.01 + 0.01 = 0.06 as well, same H, so the same gamma.
    df = pd.DataFrame(
        {
            "ind": list("aaabbb"),
            "reg": ["N", "N", "S", "N", "S", "W"],
            "emp": [20.0, 20.0, 10.0, 20.0, 20.0, 10.0],
        }
    )
    eg = ellison_glaeser(df, industry="ind", region="reg", employment="emp")
    assert_allclose(eg["G"], [0.06, 0.06], rtol=1e-12)
    assert_allclose(eg["H"], [0.36, 0.36], rtol=1e-12)
    assert_allclose(eg["gamma"], [-0.1344 / 0.3456] * 2, rtol=1e-12)
    assert eg["n_plants"].tolist() == [3, 3]


def _enumerate(sizes, x, gamma0):
    """Every location of the plants, with its probability under EG's model: with
    probability gamma0 all plants share one region drawn from x, else each plant
    draws its region from x independently (pairwise location correlation gamma0)."""
    regions = list(x.index)
    rows, probs = [], []
    for t, combo in enumerate(itertools.product(range(len(regions)), repeat=len(sizes))):
        p_ind = np.prod([x.iloc[c] for c in combo])
        p_all = x.iloc[combo[0]] if len(set(combo)) == 1 else 0.0
        probs.append((1 - gamma0) * p_ind + gamma0 * p_all)
        rows += [(t, "z", regions[c], e) for c, e in zip(combo, sizes, strict=True)]
    return pd.DataFrame(rows, columns=["t", "ind", "reg", "emp"]), np.array(probs)


@pytest.mark.parametrize("gamma0", [0.0, 0.3])
def test_ellison_glaeser_is_unbiased_by_exact_enumeration(gamma0):
    # EG (1997) Prop. 1: E[G] = (1 - sum x^2)(gamma + (1 - gamma) H), so E[gamma_hat] =
    # gamma exactly; under random location (gamma0 = 0) its expectation is zero.
    x = pd.Series([0.5, 0.3, 0.2], index=["N", "S", "W"])
    df, probs = _enumerate([5.0, 3.0, 2.0, 1.0], x, gamma0)
    eg = ellison_glaeser(
        df, industry="ind", region="reg", employment="emp", time="t", area_shares=x
    )
    assert probs.sum() == pytest.approx(1.0, abs=1e-14)
    # an exact expectation over all 81 outcomes: only rounding error remains
    assert probs @ eg["gamma"].to_numpy() == pytest.approx(gamma0, abs=1e-12)
    h = (np.array([5.0, 3.0, 2.0, 1.0]) / 11) ** 2
    expected_g = (1 - (x**2).sum()) * (gamma0 + (1 - gamma0) * h.sum())
    assert probs @ eg["G"].to_numpy() == pytest.approx(expected_g, abs=1e-12)


def test_ellison_glaeser_edge_cases():
    one = pd.DataFrame({"ind": ["a", "b"], "reg": ["N", "S"], "emp": [5.0, 5.0]})
    eg = ellison_glaeser(one, industry="ind", region="reg", employment="emp")
    assert eg["gamma"].isna().all()  # single-plant industries: H = 1, gamma undefined
    with pytest.raises(AlignmentError, match="'S'"):
        ellison_glaeser(
            one, industry="ind", region="reg", employment="emp", area_shares=pd.Series({"N": 1})
        )
    bad = one.assign(emp=[5.0, -1.0])
    with pytest.raises(SpecificationError, match="negative"):
        ellison_glaeser(bad, industry="ind", region="reg", employment="emp")
