"""CFA and SEM (spillover.survey.sem) against lavaan: its published Holzinger-Swineford fit and
``tests/references/lavaan_survey.json`` (written by ``lavaan_survey.R``, lavaan 0.6-14).

Tolerances. lavaan stops nlminb at a relative change of the ML discrepancy F below 1e-10;
spillover polishes semopy's solution until every |dF/dtheta| < 1e-10. Parameters near a
minimum are off by about sqrt(tolerance on F), so estimates, standard errors, z and std.all
are compared at rtol 2e-5 (observed: at most 3.4e-6 relative, PoliticalDemocracy). Statistics
that are functions of F (chi-square, logL, AIC, BIC, CFI, TLI, RMSEA, p-close) move with the
square of that error and agree at rtol 1e-8 (observed 2e-12 relative); SRMR, linear in
Sigma, at rtol 1e-6 (observed 1.5e-8 relative). lavaan finds the RMSEA interval with uniroot
at its default tolerance (1.2e-4 on the noncentrality), spillover with brentq at 1e-12, so
the bounds agree at rtol 1e-5 (observed up to 1.5e-6 relative, hs_two_outcomes lower bound,
where R's pchisq at spillover's bound gives 0.950000000001 and at lavaan's 0.950000332).
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from semopy.examples import holzinger39

from spillover.errors import (
    ConvergenceError,
    DroppedRowsWarning,
    ImproperSolutionWarning,
    SpecificationError,
)
from spillover.survey import cfa, sem

REFS = Path(__file__).parents[1] / "references"
LAVAAN = json.loads((REFS / "lavaan_survey.json").read_text())
PUBLISHED = json.loads((REFS / "published_holzinger_swineford.json").read_text())
HS_CONSTRUCTS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
                 "speed": ["x7", "x8", "x9"]}  # fmt: skip
#: lavaan fitMeasures name -> spillover fit_stats name, tolerance (see module docstring)
FIT_KEYS = {
    "chisq": ("chisq", 1e-8),
    "df": ("df", 0),
    "baseline.df": ("baseline_df", 0),
    "pvalue": ("pvalue", 1e-8),
    "baseline.chisq": ("baseline_chisq", 1e-8),
    "cfi": ("cfi", 1e-8),
    "tli": ("tli", 1e-8),
    "rmsea": ("rmsea", 1e-8),
    "rmsea.pvalue": ("rmsea_pclose", 1e-8),
    "rmsea.ci.lower": ("rmsea_lower", 1e-5),
    "rmsea.ci.upper": ("rmsea_upper", 1e-5),
    "srmr": ("srmr", 1e-6),
    "logl": ("loglik", 1e-8),
    "aic": ("aic", 1e-8),
    "bic": ("bic", 1e-8),
    "npar": ("npar", 0),
}


@pytest.fixture(scope="module")
def hs_data() -> pd.DataFrame:
    return holzinger39.get_data()


@pytest.fixture(scope="module")
def hs(hs_data):
    return cfa(hs_data, HS_CONSTRUCTS)


@pytest.fixture(scope="module")
def political():
    data = pd.read_csv(REFS / "lavaan_political_democracy.csv")
    return sem(LAVAAN["pd_sem"]["model"], data)


@pytest.fixture(scope="module")
def covariates(hs_data):
    """visual regressed on observed covariates (fixed.x); one row lacks grade."""
    data = hs_data.assign(age=hs_data["ageyr"] + hs_data["agemo"] / 12)
    with pytest.warns(DroppedRowsWarning, match="dropped 1 rows"):
        return sem(LAVAAN["hs_covariates"]["model"], data)


@pytest.fixture(scope="module")
def two_outcomes(hs_data):
    """Two factors regressed on x7: lavaan's sem() lets their residuals covary."""
    return sem(LAVAAN["hs_two_outcomes"]["model"], hs_data)


@pytest.fixture(scope="module")
def fits(hs, political, covariates, two_outcomes):
    return {
        "hs_cfa": hs,
        "pd_sem": political,
        "hs_covariates": covariates,
        "hs_two_outcomes": two_outcomes,
    }


MODELS = ["hs_cfa", "pd_sem", "hs_covariates", "hs_two_outcomes"]


def _key(lhs: str, op: str, rhs: str) -> tuple[str, str, str]:
    return (min(lhs, rhs), op, max(lhs, rhs)) if op == "~~" else (lhs, op, rhs)


def _matched(res, ref) -> pd.DataFrame:
    """lavaan's parameter rows joined to ours on (lhs, op, rhs), ~~ in either order."""
    theirs = pd.DataFrame(ref["params"])
    for col in ("est", "se", "z", "pvalue", "std_all"):  # jsonlite writes NA as "NA"
        theirs[col] = pd.to_numeric(theirs[col], errors="coerce")
    # lavaan lists the fixed.x moments (se 0) of observed covariates; they are not parameters
    theirs = theirs[~((theirs["op"] == "~~") & (theirs["se"] == 0))]
    theirs.index = [_key(*t) for t in zip(theirs.lhs, theirs.op, theirs.rhs, strict=True)]
    ours = res.estimates.copy()
    ours.index = [_key(*t) for t in zip(ours.lhs, ours.op, ours.rhs, strict=True)]
    assert sorted(ours.index) == sorted(theirs.index)
    ours = ours.drop(columns=["lhs", "op", "rhs"]).add_suffix("_py")
    return theirs.join(
        ours.rename(
            columns={"estimate_py": "estimate", "std_error_py": "std_error", "free_py": "free"}
        )
    )


# ---------------------------------------------------------------- published lavaan output
def test_holzinger_swineford_published_fit(hs):
    """lavaan's printed fit of the HS CFA, to half a unit of the last printed digit."""
    for name, value in PUBLISHED["fit"].items():
        assert hs.fit_stats[name] == pytest.approx(value, abs=5e-4), name
    assert hs.nobs == PUBLISHED["nobs"]


def test_holzinger_swineford_published_loadings(hs):
    loadings = hs.standardized_loadings.max(axis=1)
    for item, value in PUBLISHED["std_all_loadings"].items():
        assert loadings[item] == pytest.approx(value, abs=5e-4), item


# ---------------------------------------------------------------- lavaan run here
@pytest.mark.parametrize("name", MODELS)
def test_same_data_as_lavaan(name, fits):
    res, ref = fits[name], LAVAAN[name]
    s = res.sample_cov.loc[ref["observed"], ref["observed"]].to_numpy()
    assert_allclose(s, np.array(ref["sample_cov"]), rtol=1e-12)  # divisor N, as lavaan
    assert res.nobs == ref["nobs"]


@pytest.mark.parametrize("name", MODELS)
def test_estimates_match_lavaan(name, fits):
    res = fits[name]
    m = _matched(res, LAVAAN[name])
    assert_allclose(m["estimate"], m["est"], rtol=2e-5)
    assert_allclose(m["std_all_py"], m["std_all"], rtol=2e-5, atol=1e-7)
    free = m["free"].astype(bool)
    assert (m.loc[~free, "se"] == 0).all() and m.loc[~free, "std_error"].isna().all()
    assert_allclose(m.loc[free, "std_error"], m.loc[free, "se"], rtol=2e-5)
    assert_allclose(m.loc[free, "z_py"], m.loc[free, "z"], rtol=2e-5)
    assert_allclose(m.loc[free, "pvalue_py"], m.loc[free, "pvalue"], atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_fit_measures_match_lavaan(name, fits):
    res = fits[name]
    ref = LAVAAN[name]["fit"]
    for theirs, (ours, rtol) in FIT_KEYS.items():
        assert res.fit_stats[ours] == pytest.approx(ref[theirs], rel=rtol, abs=1e-12), theirs
    implied = res.implied_cov.loc[LAVAAN[name]["observed"], LAVAAN[name]["observed"]]
    target = np.array(LAVAAN[name]["implied_cov"])  # near-zero entries: atol on the scale
    assert_allclose(implied.to_numpy(), target, rtol=2e-5, atol=2e-5 * np.abs(target).max())


def test_auto_cov_y_is_reported_and_can_be_switched_off(two_outcomes, hs_data):
    assert two_outcomes.info["Added (lavaan auto.cov.y)"] == "a ~~ b"
    as_written = sem(LAVAAN["hs_two_outcomes"]["model"], hs_data, auto_cov_y=False)
    assert "a ~~ b" not in as_written.params.index
    assert as_written.fit_stats["df"] == two_outcomes.fit_stats["df"] + 1


def test_chisq_is_n_times_f_with_biased_covariance(hs, hs_data):
    """lavaan's chi-square: N F_ML with S divided by N (not N - 1), Sigma from the fit."""
    x = hs_data[[f"x{i}" for i in range(1, 10)]].to_numpy()
    s = np.cov(x, rowvar=False, bias=True)
    sigma = hs.implied_cov.to_numpy()
    f = np.log(np.linalg.det(sigma)) + np.trace(s @ np.linalg.inv(sigma))
    f -= np.log(np.linalg.det(s)) + 9
    assert hs.fit_stats["chisq"] == pytest.approx(301 * f, rel=1e-12)


# ---------------------------------------------------------------- validity
def test_cr_ave_fornell_larcker_match_lavaan(hs):
    ref = LAVAAN["hs_cfa"]["validity"]
    v = hs.validity()
    names = list(ref["constructs"])
    assert_allclose(v.table.loc[names, "cr"], [ref["cr"][n] for n in names], rtol=2e-5)
    assert_allclose(v.table.loc[names, "ave"], [ref["ave"][n] for n in names], rtol=2e-5)
    fl = v.fornell_larcker.loc[names, names].to_numpy()
    off = ~np.eye(3, dtype=bool)
    assert_allclose(fl[off], np.array(ref["cor_lv"])[off], rtol=2e-5)
    assert_allclose(np.diag(fl), np.sqrt(v.table.loc[names, "ave"]))


@pytest.mark.parametrize("absolute", [True, False])
def test_htmt_matches_r_hand_computation(hs, absolute):
    """Same item correlations, same formula in R: agreement to rounding."""
    ref = LAVAAN["hs_cfa"]["validity"]["htmt_absolute" if absolute else "htmt_signed"]
    names = list(HS_CONSTRUCTS)
    ours = hs.validity(absolute=absolute).htmt.loc[names, names].to_numpy()
    assert_allclose(ours, np.array(ref), rtol=1e-12)


def test_htmt_closed_form():
    """Equal within (a) and between (b) correlations: HTMT = b / a; CR, AVE by hand."""
    from spillover.survey import validity

    items = ["a1", "a2", "a3", "b1", "b2"]
    values = np.full((5, 5), 0.2)
    values[:3, :3], values[3:, 3:] = 0.6, 0.5
    np.fill_diagonal(values, 1.0)
    r = pd.DataFrame(values, index=items, columns=items)
    lam = {"a": pd.Series(0.8, index=items[:3]), "b": pd.Series([0.9, 0.5], index=items[3:])}
    phi = pd.DataFrame([[1, 0.3], [0.3, 1]], index=["a", "b"], columns=["a", "b"])
    v = validity(lam, phi, r)
    assert v.htmt.loc["a", "b"] == pytest.approx(0.2 / np.sqrt(0.6 * 0.5), rel=1e-14)
    assert v.table.loc["a", "cr"] == pytest.approx(2.4**2 / (2.4**2 + 3 * 0.36), rel=1e-14)
    assert v.table.loc["b", "ave"] == pytest.approx((0.81 + 0.25) / 2, rel=1e-14)
    assert v.table["fornell_larcker"].all()


# ---------------------------------------------------------------- results interface
def test_results_interface(hs):
    assert list(hs.params.index[:2]) == ["visual =~ x2", "visual =~ x3"]
    assert len(hs.params) == hs.fit_stats["npar"] == 21
    est = hs.estimates.set_index(hs.estimates.lhs + " " + hs.estimates.op + " " + hs.estimates.rhs)
    assert_allclose(hs.std_errors, est.loc[hs.params.index, "std_error"], rtol=1e-12)
    text = str(hs.summary())
    assert "CFI / TLI" in text and "visual" in text
    assert "cr" in str(hs.validity())
    assert hs.to_frame().shape[0] == 24
    with pytest.raises(dataclasses.FrozenInstanceError):
        hs.description = ""  # type: ignore[misc]


def test_results_pickle(hs, political):
    for res in (hs, political):
        back = pickle.loads(pickle.dumps(res))
        assert back.fit_stats["chisq"] == res.fit_stats["chisq"]
        pd.testing.assert_frame_equal(back.estimates, res.estimates)
        assert back.validity().table.equals(res.validity().table)


def test_listwise_deletion_is_warned_and_counted(hs_data):
    data = hs_data.copy()
    data.loc[data.index[[0, 5, 9]], "x4"] = np.nan
    with pytest.warns(DroppedRowsWarning, match="dropped 3 rows"):
        res = cfa(data, HS_CONSTRUCTS)
    assert res.nobs == 298 and res.missing == "listwise"


# ---------------------------------------------------------------- errors
def test_unknown_item_is_named(hs_data):
    with pytest.raises(SpecificationError, match="'x99'"):
        cfa(hs_data, {"visual": ["x1", "x2", "x99"], "textual": ["x4", "x5", "x6"]})


def test_single_item_construct_is_rejected(hs_data):
    with pytest.raises(SpecificationError, match="construct 'speed' has one item"):
        cfa(hs_data, {"visual": ["x1", "x2", "x3"], "speed": ["x7"]})


def test_non_positive_definite_covariance_names_items(hs_data):
    data = hs_data.assign(x10=hs_data["x1"] + hs_data["x2"])
    with pytest.raises(SpecificationError, match=r"not positive definite.*x10"):
        cfa(data, {"visual": ["x1", "x2", "x3", "x10"], "textual": ["x4", "x5", "x6"]})


def test_constant_item_is_named(hs_data):
    with pytest.raises(SpecificationError, match="'x0'"):
        cfa(hs_data.assign(x0=3.0), {"visual": ["x1", "x2", "x0"], "textual": ["x4", "x5", "x6"]})


def test_options_and_syntax_errors(hs_data):
    with pytest.raises(SpecificationError, match="estimator"):
        cfa(hs_data, HS_CONSTRUCTS, estimator="WLSMV")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="missing"):
        cfa(hs_data, HS_CONSTRUCTS, missing="pairwise")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="no column"):
        sem("f =~ x1 + x2 + nope", hs_data)


def test_non_convergence_is_an_error(hs_data, monkeypatch):
    import semopy

    def stalled(self, data=None, **kwargs):
        return semopy.solver.SolverResult(
            fun=1.0, success=False, n_it=10000, message="Iteration limit reached",
            x=np.zeros(1), name_method="SLSQP",
        )  # fmt: skip

    monkeypatch.setattr(semopy.Model, "fit", stalled)
    with pytest.raises(ConvergenceError, match="Iteration limit reached"):
        cfa(hs_data, HS_CONSTRUCTS)


def test_heywood_case_warns_naming_the_item():
    """Population r12 = r13 = 0.8, r23 = 0.5: the one-factor loading of a1 is sqrt(1.28)."""
    corr = np.array([[1, 0.8, 0.8], [0.8, 1, 0.5], [0.8, 0.5, 1]])
    rng = np.random.default_rng(20240501)
    raw = rng.standard_normal((400, 3))
    # exact sample correlation = corr, so the just-identified fit is a known Heywood case
    z = (raw - raw.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(raw.T, bias=True))).T
    data = pd.DataFrame(z @ np.linalg.cholesky(corr).T, columns=["a1", "a2", "a3"])
    with pytest.warns(ImproperSolutionWarning, match=r"negative variance.*'a1'"):
        res = cfa(data, {"f": ["a1", "a2", "a3"]})
    theta = res.estimates.query("op == '~~' and lhs == 'a1' and rhs == 'a1'")["estimate"]
    assert theta.item() == pytest.approx(1 - 1.28, abs=1e-6)
