"""Specification tests against R's plm on the Munnell panel and against closed forms."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import esda
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import statsmodels.api as sm
from linearmodels import PanelOLS, PooledOLS, RandomEffects
from linearmodels.datasets import munnell
from numpy.testing import assert_allclose

from spillover.diagnostics.specification import (
    TestResult,
    breusch_pagan_lm,
    fixed_effects_f_test,
    hausman,
    hausman_robust,
    moran_by_period,
    pesaran_cd,
    wooldridge_serial,
)
from spillover.errors import PanelError, SpecificationError
from spillover.models._results import Results
from spillover.weights._base import Weights

REF = json.loads((Path(__file__).parents[1] / "references" / "plm_specification.json").read_text())
X = ["lpcap", "lpc", "lemp", "unemp"]
# plm and linearmodels solve the same least-squares problems; the statistics are closed
# forms of those solutions, so they agree to ~1e-12 (rtol 1e-8 leaves room for BLAS)
RTOL = 1e-8


def _frame(raw: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "lgsp": np.log(raw["GSP"]),
            "lpcap": np.log(raw["P_CAP"]),
            "lpc": np.log(raw["PC"]),
            "lemp": np.log(raw["EMP"]),
            "unemp": raw["UNEMP"].astype(float),
            "state": raw["STATE"],
            "year": raw["YR"].astype(int),
        }
    )
    return out.set_index(["state", "year"])


@pytest.fixture(scope="module")
def produc() -> pd.DataFrame:
    raw = munnell.load()
    plm = pd.DataFrame(REF["data"])
    # the same 816 rows in the same order as plm's Produc (values as printed by R)
    # (linearmodels' copy cuts state names at 11 characters: "MASSACHUSET")
    assert all(p.startswith(o) for o, p in zip(raw["STATE"], plm["state"], strict=True))
    assert raw["STATE"].nunique() == plm["state"].nunique() == 48
    assert list(raw["YR"]) == list(plm["year"])
    for ours, theirs in [
        ("GSP", "gsp"),
        ("P_CAP", "pcap"),
        ("PC", "pc"),
        ("EMP", "emp"),
        ("UNEMP", "unemp"),
    ]:
        assert_allclose(raw[ours].to_numpy(float), plm[theirs].to_numpy(float), rtol=1e-12)
    return _frame(raw)


@pytest.fixture(scope="module")
def unbalanced(produc: pd.DataFrame) -> pd.DataFrame:
    state_no = pd.factorize(produc.index.get_level_values(0))[0] + 1
    year = produc.index.get_level_values(1)
    return produc[(year + state_no) % 7 != 0]  # REF["unbalanced_rule"]


def as_results(fit, *, model: str) -> Results:
    """Our Results built from a linearmodels fit (what spillover estimators return)."""
    return Results(
        params=fit.params,
        vcov=fit.cov,
        nobs=int(fit.nobs),
        df_resid=int(fit.df_resid),
        vcov_name="unadjusted",
        model=model,
        residuals=fit.resids,
    )


_FITS: dict[int, dict[str, Results]] = {}


def fits(df: pd.DataFrame) -> dict[str, Results]:
    """The four fits of ``df``, computed once per data set in this module."""
    if len(df) not in _FITS:
        _FITS[len(df)] = _fit_all(df)
    return _FITS[len(df)]


def _fit_all(df: pd.DataFrame) -> dict[str, Results]:
    y, x = df["lgsp"], df[X]
    xc = x.assign(const=1.0)
    return {
        "fe": as_results(PanelOLS(y, x, entity_effects=True).fit(), model="FE"),
        "fe2": as_results(
            PanelOLS(y, x, entity_effects=True, time_effects=True).fit(), model="2FE"
        ),
        "re": as_results(RandomEffects(y, xc).fit(), model="RE"),
        "pool": as_results(PooledOLS(y, xc).fit(), model="Pooled"),
    }


def check(result: TestResult, ref: dict) -> None:
    assert_allclose(result.statistic, ref["statistic"], rtol=RTOL)
    if isinstance(ref["df"], (int, list)):
        assert_allclose(result.df, ref["df"])
    else:
        assert result.df is None
    # p-values to 1e-6, except in the far tail: scipy 1.12 (the oldest admitted) computes
    # the F survival function below 1e-250 to 3e-6 only (2.7e-6 at 1.6e-276 here): 1e-5
    rtol = 1e-6 if ref["pvalue"] > 1e-250 else 1e-5
    assert_allclose(result.pvalue, ref["pvalue"], rtol=rtol, atol=1e-300)


# ---------------------------------------------------------------------- plm references
def test_balanced_panel_matches_plm(produc):
    b, m = REF["balanced"], fits(produc)
    y, x = produc["lgsp"], produc[X]
    check(hausman(m["fe"], m["re"]), b["hausman"])
    check(hausman_robust(y, x), b["hausman_aux_robust"])
    check(hausman_robust(y, x, theta=b["theta_re"]), b["hausman_aux_robust"])
    check(pesaran_cd(m["fe"]), b["cd"])
    check(pesaran_cd(m["fe"], test="lm"), b["cd_lm"])
    check(pesaran_cd(m["fe"], test="sclm"), b["cd_sclm"])
    check(wooldridge_serial(y, x), b["wooldridge_fd_h0_fe"])
    check(wooldridge_serial(y, x, h0="fd"), b["wooldridge_fd_h0_fd"])
    check(breusch_pagan_lm(m["pool"]), b["lm_bp"])
    check(breusch_pagan_lm(m["pool"], kind="honda"), b["lm_honda"])
    check(breusch_pagan_lm(m["pool"], effect="time"), b["lm_bp_time"])
    check(fixed_effects_f_test(m["fe"], m["pool"]), b["f_individual"])
    check(fixed_effects_f_test(m["fe2"], m["pool"], effect="twoway"), b["f_twoways"])


def test_unbalanced_panel_matches_plm(unbalanced):
    b, m = REF["unbalanced"], fits(unbalanced)
    y, x = unbalanced["lgsp"], unbalanced[X]
    check(pesaran_cd(m["fe"].residuals), b["cd"])
    check(pesaran_cd(m["fe"], test="lm"), b["cd_lm"])
    check(pesaran_cd(m["fe"], test="sclm"), b["cd_sclm"])
    check(wooldridge_serial(y, x, gaps="bridge"), b["wooldridge_fd_h0_fe"])  # plm: by row
    check(breusch_pagan_lm(m["pool"]), b["lm_bp"])
    check(breusch_pagan_lm(m["pool"], kind="honda"), b["lm_honda"])
    check(fixed_effects_f_test(m["fe"], m["pool"]), b["f_individual"])


# ---------------------------------------------------------------------- closed forms
def test_cd_equals_explicit_pairwise_loop(unbalanced):
    res = fits(unbalanced)["fe"].residuals
    wide = res.unstack(level=1).to_numpy()
    terms_cd, terms_lm = [], []
    for a, b in combinations(range(len(wide)), 2):
        both = ~np.isnan(wide[a]) & ~np.isnan(wide[b])
        if both.sum() > 1:
            rho = np.corrcoef(wide[a, both], wide[b, both])[0, 1]
            terms_cd.append(np.sqrt(both.sum()) * rho)
            terms_lm.append(both.sum() * rho**2)
    m = len(terms_cd)
    assert_allclose(pesaran_cd(res).statistic, np.sum(terms_cd) / np.sqrt(m), rtol=1e-12)
    assert_allclose(pesaran_cd(res, test="lm").statistic, np.sum(terms_lm), rtol=1e-12)


def test_breusch_pagan_balanced_closed_form(produc):
    e = fits(produc)["pool"].residuals
    n_units, t_len = 48, 17
    sums = e.groupby(level=0).sum()
    lm = n_units * t_len / (2 * (t_len - 1)) * (sums @ sums / (e @ e) - 1) ** 2
    assert_allclose(breusch_pagan_lm(e).statistic, lm, rtol=1e-12)
    assert_allclose(breusch_pagan_lm(e, kind="honda").statistic ** 2, lm, rtol=1e-12)


def test_wooldridge_matches_statsmodels_cluster_cr0(unbalanced):
    # independent path: statsmodels OLS on the FD model, then on lagged residuals with a
    # CR0 (no correction) cluster covariance
    df = unbalanced.sort_index()
    g = df.groupby(level=0)
    d = (df - g.shift(1)).dropna()
    fd = sm.OLS(d["lgsp"], sm.add_constant(d[X])).fit()
    e = fd.resid
    lag = e.groupby(level=0).shift(1)
    ok = lag.notna()
    aux = sm.OLS(e[ok], sm.add_constant(lag[ok].rename("lag"))).fit(
        cov_type="cluster",
        cov_kwds={
            "groups": pd.factorize(e[ok].index.get_level_values(0))[0],
            "use_correction": False,
        },
    )
    f = ((aux.params["lag"] + 0.5) / aux.bse["lag"]) ** 2
    bridged = wooldridge_serial(df["lgsp"], df[X], gaps="bridge")  # the recipe above: by row
    assert_allclose(bridged.statistic, f, rtol=1e-10)


def test_hausman_with_singular_difference_uses_pinv_and_rank():
    # V_FE - V_RE = diag(1, 2, 0) has rank 2; d = (1, 1, 0): H = 1/1 + 1/2 on 2 df
    names, names_c = ["a", "b", "c"], ["a", "b", "c", "const"]
    fe = Results(
        pd.Series([1.0, 2.0, 3.0], index=names),
        pd.DataFrame(np.diag([2.0, 3.0, 1.0]), names, names),
        100,
        90,
        "unadjusted",
    )
    re = Results(
        pd.Series([0.0, 1.0, 3.0, 9.0], index=names_c),
        pd.DataFrame(np.diag([1.0, 1.0, 1.0, 5.0]), names_c, names_c),
        100,
        90,
        "unadjusted",
    )
    out = hausman(fe, re)
    assert out.df == 2
    assert_allclose(out.statistic, 1.0 + 0.5, rtol=1e-12)
    assert "Moore-Penrose" in out.note


# ---------------------------------------------------------------------- Moran
def _ring_weights(ids: pd.Index) -> Weights:
    n = len(ids)
    i = np.arange(n)
    rows = np.r_[i, i, i]
    cols = np.r_[(i + 1) % n, (i - 1) % n, (i + 5) % n]
    return Weights(sp.csr_array((np.ones(3 * n), (rows, cols)), shape=(n, n)), ids)


@pytest.mark.parametrize("panel", ["balanced", "unbalanced"])
def test_moran_by_period_matches_esda(produc, unbalanced, panel):
    df = produc if panel == "balanced" else unbalanced
    res = fits(df)["fe"].residuals
    w = _ring_weights(produc.index.unique(0))
    table = moran_by_period(res, w)
    assert list(table.index) == sorted(df.index.unique(1))
    for year in (1970, 1977, 1986):
        vals = res.xs(year, level=1)
        ref = esda.Moran(
            vals.to_numpy(), w.subset(vals.index).to_libpysal(), transformation="r", permutations=0
        )
        row = table.loc[year]
        assert row["n"] == len(vals)
        assert_allclose(
            [row["statistic"], row["expected"], row["variance"], row["z"], row["pvalue"]],
            [ref.I, ref.EI, ref.VI_norm, ref.z_norm, ref.p_norm],
            rtol=1e-10,
        )


# ---------------------------------------------------------------------- errors, display
def test_result_prints_name_statistic_and_null(produc):
    out = breusch_pagan_lm(fits(produc)["pool"])
    text = str(out)
    assert "Breusch-Pagan" in text and "H0: no random entity effects" in text
    with pytest.raises(AttributeError):
        out.statistic = 0.0  # frozen


def test_unbalanced_default_theta_is_linearmodels_swamy_arora(unbalanced):
    # the default equals passing linearmodels' per-entity Swamy-Arora theta explicitly
    # (two RE fits with columns in another order: agreement to rounding, rtol 1e-9)
    y, x = unbalanced["lgsp"], unbalanced[X]
    theta = RandomEffects(y, x.assign(const=1.0)).fit().theta.sort_index()
    out = hausman_robust(y, x)
    assert_allclose(out.statistic, hausman_robust(y, x, theta=theta).statistic, rtol=1e-9)
    assert out.df == 4 and 0 <= out.pvalue <= 1


def test_bad_inputs_are_named(produc):
    with pytest.raises(SpecificationError, match="entity, time"):
        pesaran_cd(pd.Series([1.0, 2.0]))
    y = produc["lgsp"].to_numpy()
    ent = np.zeros(len(y), dtype=int)
    with pytest.raises(PanelError, match="duplicated"):
        wooldridge_serial(y, produc[X].to_numpy(), entity=ent, time=ent)
    with pytest.raises(SpecificationError, match="kind"):
        breusch_pagan_lm(produc["lgsp"], kind="gh")


def test_array_inputs_with_codes_equal_pandas_inputs(unbalanced):
    y, x = unbalanced["lgsp"], unbalanced[X]
    codes = {
        "entity": pd.factorize(y.index.get_level_values(0))[0],
        "time": y.index.get_level_values(1).to_numpy(),
    }
    order = np.random.default_rng(0).permutation(len(y))  # row order must not matter
    arr = {k: v[order] for k, v in codes.items()}
    a = wooldridge_serial(y.to_numpy()[order], x.to_numpy()[order], **arr)
    assert_allclose(a.statistic, wooldridge_serial(y, x).statistic, rtol=1e-12)
    theta = 0.8
    b = hausman_robust(y.to_numpy()[order], x.to_numpy()[order], theta=theta, **arr)
    assert_allclose(b.statistic, hausman_robust(y, x, theta=theta).statistic, rtol=1e-10)


def test_linearmodels_results_are_accepted_directly(produc):
    # duck typing: linearmodels exposes cov and resids instead of vcov and residuals
    y, x = produc["lgsp"], produc[X]
    fe = PanelOLS(y, x, entity_effects=True).fit()
    re = RandomEffects(y, x.assign(const=1.0)).fit()
    check(hausman(fe, re), REF["balanced"]["hausman"])
    check(pesaran_cd(fe), REF["balanced"]["cd"])


def test_wooldridge_counts_calendar_periods(produc, unbalanced):
    """With gaps, a difference and the lag of a differenced residual span one calendar year
    (Stata's D. and L. under xtset), checked against the recipe written out with pandas on
    the full calendar grid and statsmodels' cluster-robust OLS (CR0: no correction). Both
    solve the same least-squares problems, so they agree to rounding (rtol 1e-10)."""
    data = unbalanced.sort_index()
    got = wooldridge_serial(data["lgsp"], data[X])
    years = range(1970, 1987)
    states = data.index.get_level_values(0).unique()
    grid = data.reindex(pd.MultiIndex.from_product([states, years], names=data.index.names))
    diff = grid.groupby(level=0)[["lgsp", *X]].diff().dropna()
    first = sm.OLS(diff["lgsp"], sm.add_constant(diff[X])).fit()
    e = first.resid.reindex(grid.index)
    pairs = pd.DataFrame({"e": e, "lag": e.groupby(level=0).shift(1)}).dropna()
    groups = pd.factorize(pairs.index.get_level_values(0))[0]
    second = sm.OLS(pairs["e"], sm.add_constant(pairs["lag"])).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False}
    )
    stat = (second.params["lag"] + 0.5) ** 2 / second.cov_params().loc["lag", "lag"]
    assert_allclose(got.statistic, stat, rtol=1e-10)
    assert got.df == (1, len(pairs) - 2)
    bridged = wooldridge_serial(data["lgsp"], data[X], gaps="bridge")
    assert bridged.df[1] > got.df[1]  # the row convention pairs across the gaps
    balanced = wooldridge_serial(produc["lgsp"], produc[X])
    assert (
        balanced.statistic == wooldridge_serial(produc["lgsp"], produc[X], gaps="bridge").statistic
    )
    with pytest.raises(SpecificationError, match="gaps must be"):
        wooldridge_serial(data["lgsp"], data[X], gaps="rows")
