"""Tests of the error structure: Wooldridge serial correlation, Breusch-Pagan LM, F test."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import stats

from spillover.diagnostics.specification._common import (
    TestResult,
    _cluster_cov,
    _ols,
    _PanelArrays,
    _params_vcov,
    _residual_series,
)
from spillover.errors import SpecificationError


def wooldridge_serial(
    y: Any,
    x: Any,
    *,
    entity: Any = None,
    time: Any = None,
    h0: Literal["fe", "fd"] = "fe",
    gaps: Literal["calendar", "bridge"] = "calendar",
) -> TestResult:
    """Wooldridge (2002, 10.6.3) test for serial correlation in fixed-effects panels.

    Parameters
    ----------
    y, x, entity, time
        As in :func:`hausman_robust` (``x`` without a constant).
    h0 : {"fe", "fd"}, default "fe"
        ``"fe"``: idiosyncratic errors serially uncorrelated, so first-differenced errors
        have autocorrelation -0.5; ``"fd"``: the differenced errors are uncorrelated (0).
    gaps : {"calendar", "bridge"}, default "calendar"
        ``"calendar"``: a difference and the lag of a differenced residual span exactly
        one calendar period (:func:`spillover._calendar.period_numbers`), as every lag in
        spillover and Stata's ``xtserial`` (time-series operators under ``xtset``); an
        observation after a gap starts afresh. ``"bridge"``: consecutive rows of a unit,
        bridging gaps, as plm's ``pwfdtest``. Without gaps the two are the same.

    Returns
    -------
    TestResult
        ``F = ((rho - rho0) / se)^2`` with (1, m - 2) df, m the auxiliary observations.

    Notes
    -----
    First differences of each unit (see ``gaps``), OLS of ``dy`` on a constant and
    ``dx``; its residuals ``e`` are regressed on a constant and the unit's previous ``e``,
    with a CR0 covariance clustered by unit. This is plm's ``pwfdtest`` (with
    ``gaps="bridge"`` on panels with gaps). Stata's ``xtserial`` is the same test with
    calendar differences and Stata's inference (clustered CR1 covariance, F(1, N - 1)),
    so its value differs slightly.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> unit, year = np.repeat(np.arange(40), 8), np.tile(np.arange(8), 40)
    >>> x = rng.normal(size=320)
    >>> y = 2 * x + np.repeat(rng.normal(size=40), 8) + rng.normal(size=320)  # iid errors
    >>> out = wooldridge_serial(y, x, entity=unit, time=year)
    >>> out.df, out.pvalue > 0.01
    ((1, 238), True)
    """
    if h0 not in ("fe", "fd"):
        raise SpecificationError(f"h0 must be 'fe' or 'fd', got {h0!r}.")
    if gaps not in ("calendar", "bridge"):
        raise SpecificationError(f"gaps must be 'calendar' or 'bridge', got {gaps!r}.")
    data = _PanelArrays.build(y, x, entity, time)
    same = data.entity[1:] == data.entity[:-1]
    if gaps == "calendar":
        same &= np.diff(data.calendar) == 1
    dy, dx = (data.y[1:] - data.y[:-1])[same], (data.x[1:] - data.x[:-1])[same]
    unit, number = data.entity[1:][same], data.calendar[1:][same]
    _, e = _ols(np.column_stack([np.ones(len(dy)), dx]), dy)
    lagged = unit[1:] == unit[:-1]
    if gaps == "calendar":
        lagged &= np.diff(number) == 1
    if lagged.sum() < 3:
        raise SpecificationError("too few units with three or more periods for the test.")
    z = np.column_stack([np.ones(int(lagged.sum())), e[:-1][lagged]])
    coef, u = _ols(z, e[1:][lagged])
    v = _cluster_cov(z, u, unit[1:][lagged])
    rho0 = -0.5 if h0 == "fe" else 0.0
    stat = float((coef[1] - rho0) ** 2 / v[1, 1])
    df = (1, len(u) - 2)
    null = (
        "no serial correlation in the idiosyncratic errors (FD errors: rho = -0.5)"
        if h0 == "fe"
        else "no serial correlation in the first-differenced errors"
    )
    return TestResult(
        "Wooldridge test for serial correlation in panels (first differences)",
        stat,
        df,
        float(stats.f.sf(stat, *df)),
        "F",
        null,
    )


# ---------------------------------------------------------------------- effects
def breusch_pagan_lm(
    residuals: Any,
    *,
    effect: Literal["entity", "time", "twoway"] = "entity",
    kind: Literal["bp", "honda"] = "bp",
) -> TestResult:
    """Breusch-Pagan (1980) LM test for random effects, or Honda's one-sided version.

    Parameters
    ----------
    residuals : pandas.Series or results
        Pooled OLS residuals indexed by (entity, time), or the pooled results.
    effect : {"entity", "time", "twoway"}, default "entity"
        Which variance component is tested.
    kind : {"bp", "honda"}, default "bp"
        ``"bp"``: ``LM^2`` chi-squared (1 df, 2 for two-way); ``"honda"``: ``LM`` against
        the one-sided standard normal (two-way: ``(LM1 + LM2)/sqrt(2)``).

    Notes
    -----
    ``LM1 = n / sqrt(2 (sum_i T_i^2 - n)) * (sum_i (sum_t e_it)^2 / e'e - 1)``, the
    unbalanced form of Baltagi and Li (1990); balanced, ``sqrt(NT / (2 (T-1)))`` times
    the bracket. Same as plm's ``plmtest`` (whose default ``type`` is Honda).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> idx = pd.MultiIndex.from_product([range(30), range(6)], names=["firm", "year"])
    >>> e = np.repeat(rng.normal(size=30), 6) + rng.normal(size=180)  # firm effects
    >>> out = breusch_pagan_lm(pd.Series(e - e.mean(), index=idx))
    >>> out.df, out.pvalue < 0.01
    (1, True)
    """
    r = _residual_series(residuals)
    e = r.to_numpy(dtype=float)
    ee = float(e @ e)

    def lm(level: int) -> float:
        sums = r.groupby(level=level, sort=False).sum().to_numpy()
        sizes = r.groupby(level=level, sort=False).size().to_numpy()
        n = len(e)
        return (
            n / np.sqrt(2 * (float(np.sum(sizes.astype(float) ** 2)) - n)) * (sums @ sums / ee - 1)
        )

    levels = {"entity": [0], "time": [1], "twoway": [0, 1]}.get(effect)
    if levels is None or kind not in ("bp", "honda"):
        raise SpecificationError(
            f"effect must be 'entity', 'time' or 'twoway' and kind 'bp' or 'honda', got "
            f"{effect!r}, {kind!r}."
        )
    parts = [lm(level) for level in levels]
    if kind == "bp":
        stat, df, dist = float(np.sum(np.square(parts))), len(parts), "chi2"
        p = stats.chi2.sf(stat, df)
    else:
        stat, df, dist = float(np.sum(parts) / np.sqrt(len(parts))), None, "normal, one-sided"
        p = stats.norm.sf(stat)
    name = "Breusch-Pagan" if kind == "bp" else "Honda"
    return TestResult(
        f"{name} LM test for random {effect} effects",
        stat,
        df,
        float(p),
        dist,
        f"no random {effect} effects (variance component zero)",
    )


def fixed_effects_f_test(
    within: Any, pooled: Any, *, effect: Literal["entity", "time", "twoway"] = "entity"
) -> TestResult:
    """F test that all fixed effects are zero: pooled OLS against the within model.

    Parameters
    ----------
    within, pooled : results
        The fixed-effects fit and the pooled OLS fit (with an intercept) of the same
        regressors on the same sample, each with ``residuals`` and ``params``.
    effect : {"entity", "time", "twoway"}, default "entity"
        Effects in ``within``.

    Notes
    -----
    ``F = ((SSR_pooled - SSR_within) / df1) / (SSR_within / df2)`` with df1 = N - 1,
    T - 1 or N + T - 2 (two-way, connected panel) and ``df2 = n - len(pooled.params) -
    df1``: plm's ``pFtest(within, pooled)``. Degrees of freedom are counted from the
    data, not read from the results (whose ``df_resid`` may follow a clustered convention).
    """
    e_w, e_p = _residual_series(within), _residual_series(pooled)
    if len(e_w) != len(e_p):
        raise SpecificationError(
            f"the models use different samples: {len(e_w)} within vs {len(e_p)} pooled rows."
        )
    n_ent, n_per = e_w.index.get_level_values(0).nunique(), e_w.index.get_level_values(1).nunique()
    df1 = {"entity": n_ent - 1, "time": n_per - 1, "twoway": n_ent + n_per - 2}.get(effect)
    if df1 is None:
        raise SpecificationError(f"effect must be 'entity', 'time' or 'twoway', got {effect!r}.")
    df2 = len(e_w) - len(_params_vcov(pooled, need_vcov=False)[0]) - df1
    ssr_w, ssr_p = float(e_w @ e_w), float(e_p @ e_p)
    stat = (ssr_p - ssr_w) / df1 / (ssr_w / df2)
    return TestResult(
        f"F test for {effect} fixed effects",
        float(stat),
        (df1, df2),
        float(stats.f.sf(stat, df1, df2)),
        "F",
        f"all {effect} effects are zero (pooled OLS is adequate)",
    )
