"""Item statistics, reliability, KMO and Bartlett against closed forms and psych 2.2.9.

Every psych comparison here is a closed form evaluated on the same data, so the tolerance
is rounding: rtol 1e-10. Omega total rests on an iterated one-factor fit: against the same
fit iterated by psych to min.err 1e-14 at rtol 1e-9; against psych's ``omega()`` (minres by
optim, default factr 1e7) at 1e-5.
"""

import pickle
from statistics import variance

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.errors import SpecificationError
from spillover.survey import (
    bartlett_sphericity,
    item_statistics,
    kmo,
    reliability,
)

CLOSED = {"rtol": 1e-10, "atol": 1e-13}


def _values(mapping):
    return np.array(list(mapping.values()), dtype=float)


# ---------------------------------------------------------------- closed forms by hand


def test_alpha_of_hand_example_is_37_over_41():
    # item variances 2.5, 1.7, 0.7; variance of the sum score 12.3:
    # alpha = 3/2 (1 - 4.9/12.3) = 37/41
    items = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 4, 3, 5], "c": [3, 4, 4, 5, 5]})
    total = items.sum(axis=1).tolist()
    by_hand = 1.5 * (1 - sum(variance(items[c].tolist()) for c in items) / variance(total))
    res = reliability(items)["all"]
    assert_allclose(res.alpha, 37 / 41, rtol=1e-14)
    assert_allclose(res.alpha, by_hand, rtol=1e-14)
    # corrected item-total correlation of a: corr(a, b + c)
    assert_allclose(res.item_total["a"], np.corrcoef(items.a, items.b + items.c)[0, 1])
    # alpha without c: two items, 2 (1 - (var a + var b)/var(a + b))
    ab = (items.a + items.b).tolist()
    assert_allclose(res.alpha_if_deleted["c"], 2 * (1 - (2.5 + 1.7) / variance(ab)))


def test_kmo_matches_textbook_partial_correlations():
    rng = np.random.default_rng(3)
    data = rng.standard_normal((200, 3)) @ np.array([[1, 0.5, 0.3], [0, 1, 0.4], [0, 0, 1]])
    r = np.corrcoef(data, rowvar=False)

    def partial(i, j, k):
        return (r[i, j] - r[i, k] * r[j, k]) / np.sqrt((1 - r[i, k] ** 2) * (1 - r[j, k] ** 2))

    pairs = [(0, 1, 2), (0, 2, 1), (1, 2, 0)]
    r2 = np.array([r[i, j] ** 2 for i, j, _ in pairs])
    q2 = np.array([partial(i, j, k) ** 2 for i, j, k in pairs])
    res = kmo(pd.DataFrame(data, columns=["a", "b", "c"]))
    assert_allclose(res.overall, r2.sum() / (r2.sum() + q2.sum()), **CLOSED)
    # item a takes part in pairs (a, b) and (a, c)
    assert_allclose(res.items["a"], r2[:2].sum() / (r2[:2].sum() + q2[:2].sum()), **CLOSED)


def test_bartlett_two_items_is_closed_form():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(50)
    data = pd.DataFrame({"a": x, "b": x + rng.standard_normal(50)})
    r = data.corr().iloc[0, 1]
    res = bartlett_sphericity(data)
    assert res.df == 1
    assert_allclose(res.statistic, -(50 - 1 - 9 / 6) * np.log(1 - r**2), **CLOSED)


# ---------------------------------------------------------------- psych references


def test_describe_type3_matches_psych(hs, bfi, psych_ref):
    for data, key in ((hs, "hs"), (bfi, "bfi")):
        ref = psych_ref[key]["describe"]
        got = item_statistics(data)
        assert list(got.index) == ref["items"]
        for col in ("n", "mean", "sd", "min", "max", "skew", "kurtosis"):
            assert_allclose(got[col], ref[col], **CLOSED, err_msg=col)
    assert item_statistics(bfi)["missing"].sum() == bfi.isna().sum().sum()


def _check_alpha(res, ref):
    assert res.n_obs == ref["n_obs"]
    assert_allclose(res.alpha, ref["raw"], **CLOSED)
    assert_allclose(res.std_alpha, ref["std"], **CLOSED)
    assert_allclose(res.alpha_ci, [ref["feldt_lower"], ref["feldt_upper"]], **CLOSED)
    assert_allclose(res.alpha_if_deleted, _values(ref["alpha_if_deleted"]), **CLOSED)
    assert_allclose(res.std_alpha_if_deleted, _values(ref["std_alpha_if_deleted"]), **CLOSED)
    assert_allclose(res.item_total, _values(ref["r_drop"]), **CLOSED)


def test_alpha_matches_psych_on_holzinger(hs, psych_ref):
    constructs = {**psych_ref["meta"]["hs_constructs"], "all": [f"x{i}" for i in range(1, 10)]}
    res = reliability(hs, constructs)
    for name in constructs:
        _check_alpha(res[name], psych_ref["hs"]["alpha"][name])


@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
def test_alpha_with_missing_answers_matches_psych(bfi, psych_ref, missing):
    # psych's alpha: pairwise covariances and n = all rows; listwise = alpha(na.omit(x))
    res = reliability(bfi, psych_ref["meta"]["bfi_constructs"], missing=missing)
    assert res.missing == missing
    for name in psych_ref["meta"]["bfi_constructs"]:
        _check_alpha(res[name], psych_ref["bfi"][f"alpha_{missing}"][name])


def test_omega_total_matches_psych(hs, psych_ref):
    res = reliability(hs, psych_ref["meta"]["hs_constructs"])
    for name in psych_ref["meta"]["hs_constructs"]:
        ref = psych_ref["hs"]["omega"][name]
        assert_allclose(res[name].omega_total, ref["pa_converged"], rtol=1e-9)
        assert_allclose(res[name].omega_total, ref["minres"], rtol=1e-5)


def test_omega_total_of_five_item_scales_matches_psych(bfi, psych_ref):
    # over-identified one-factor models (5 items), listwise as omega(na.omit(x))
    res = reliability(bfi, psych_ref["meta"]["bfi_constructs"])
    for name in psych_ref["meta"]["bfi_constructs"]:
        ref = psych_ref["bfi"]["omega_listwise"][name]
        assert_allclose(res[name].omega_total, ref["pa_converged"], rtol=1e-9)
        assert_allclose(res[name].omega_total, ref["minres"], rtol=1e-5)


def test_kmo_and_bartlett_match_psych(hs, bfi, psych_ref):
    got = kmo(hs)
    assert_allclose(got.overall, psych_ref["hs"]["kmo"]["overall"], **CLOSED)
    assert_allclose(got.items, _values(psych_ref["hs"]["kmo"]["items"]), **CLOSED)
    test = bartlett_sphericity(hs)
    ref = psych_ref["hs"]["bartlett"]
    assert test.df == ref["df"]
    assert_allclose([test.statistic, test.pvalue], [ref["chisq"], ref["p.value"]], **CLOSED)
    # psych's KMO on raw data: cor(use = "pairwise"), pair-specific variances
    pairwise = kmo(bfi, missing="pairwise")
    assert_allclose(pairwise.overall, psych_ref["bfi"]["kmo_pairwise"]["overall"], **CLOSED)
    assert_allclose(pairwise.items, _values(psych_ref["bfi"]["kmo_pairwise"]["items"]), **CLOSED)
    listwise = kmo(bfi)
    assert listwise.n_obs == psych_ref["bfi"]["n_complete"]
    assert_allclose(listwise.overall, psych_ref["bfi"]["kmo_listwise"]["overall"], **CLOSED)
    chisq = bartlett_sphericity(bfi).statistic
    assert_allclose(chisq, psych_ref["bfi"]["bartlett_listwise"]["chisq"], **CLOSED)


# ---------------------------------------------------------------- errors and results


def test_single_item_construct_is_rejected(hs):
    with pytest.raises(SpecificationError, match="'solo' has 1 item"):
        reliability(hs, {"solo": ["x1"]})


def test_unknown_item_and_bad_missing_are_named(hs):
    with pytest.raises(SpecificationError, match="x99"):
        reliability(hs, {"visual": ["x1", "x99"]})
    with pytest.raises(SpecificationError, match="listwise"):
        kmo(hs, missing="mean")


def test_singular_correlation_names_the_items(hs):
    data = hs[["x1", "x2", "x3"]].assign(total=hs.x1 + hs.x2 + hs.x3)
    with pytest.raises(SpecificationError, match=r"singular.*'total'"):
        kmo(data)
    with pytest.raises(SpecificationError, match="singular"):
        bartlett_sphericity(data)


def test_results_are_frozen_printable_and_pickle(hs):
    res = reliability(hs, {"visual": ["x1", "x2", "x3"]})
    assert "Feldt" in str(res) and "listwise" in str(res)
    assert list(res.to_frame().columns)[:3] == ["items", "n_obs", "alpha"]
    assert res.items_frame().shape == (3, 3)
    again = pickle.loads(pickle.dumps(res))
    assert again.to_frame().equals(res.to_frame())
    with pytest.raises(AttributeError):
        res.missing = "pairwise"
    for obj in (kmo(hs), bartlett_sphericity(hs)):
        assert str(obj) and not pickle.loads(pickle.dumps(obj)).to_frame().empty
