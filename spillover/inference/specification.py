"""Panel specification tests: Hausman, Pesaran CD, Wooldridge, Breusch-Pagan LM, F, Moran.

Every test returns a frozen :class:`TestResult` (statistic, degrees of freedom, p-value,
null hypothesis) whose ``str()`` reads like R's ``htest`` print-out. Tests that need only
fitted models take any results object with ``params``, ``vcov`` (or linearmodels'
``cov``) and ``residuals`` (a Series indexed by (entity, time)); tests that refit
auxiliary regressions take the data: ``y`` and ``x`` as pandas objects indexed by
(entity, time), or arrays with ``entity`` and ``time`` codes. Conventions follow R's plm
(``phtest``, ``pcdtest``, ``pwfdtest``, ``plmtest``, ``pFtest``) so numbers can be
checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from spillover._typing import FloatArray, IntArray
from spillover._validate import preview
from spillover.errors import PanelError, SpecificationError
from spillover.inference import kernels

_INTERCEPTS = frozenset({"Intercept", "(Intercept)", "const", "Const", "constant", "_cons"})


@dataclass(frozen=True)
class TestResult:
    """Outcome of a specification test.

    Attributes
    ----------
    name : str
        Test name, e.g. ``"Hausman (FE vs RE)"``.
    statistic : float
        Test statistic.
    df : float, tuple of float, or None
        Degrees of freedom of the reference distribution (None for the normal).
    pvalue : float
        P-value under the null.
    distribution : str
        Reference distribution: ``"chi2"``, ``"F"``, ``"normal"`` (two-sided) or
        ``"normal, one-sided"``.
    null : str
        The null hypothesis in words.
    note : str
        Caveats, e.g. a generalised inverse was used.
    """

    __test__ = False  # not a pytest class

    name: str
    statistic: float
    df: float | tuple[float, float] | None
    pvalue: float
    distribution: str
    null: str
    note: str = ""

    def __str__(self) -> str:
        df = "" if self.df is None else f", df = {self.df}"
        lines = [
            self.name,
            f"  statistic = {self.statistic:.6g} ({self.distribution}{df}), "
            f"p-value = {self.pvalue:.4g}",
            f"  H0: {self.null}",
        ]
        return "\n".join(lines + ([f"  Note: {self.note}"] if self.note else []))


# ---------------------------------------------------------------------- Hausman
def hausman(fe: Any, re: Any) -> TestResult:
    """Classical Hausman test of fixed against random effects.

    Parameters
    ----------
    fe, re : results
        Fitted within (consistent) and random-effects (efficient) models with ``params``
        and ``vcov`` (classical covariances: the test assumes RE is efficient).

    Returns
    -------
    TestResult
        ``H = d' [V_FE - V_RE]^-1 d``, ``d`` the difference of the coefficients the
        models share (intercepts excluded), chi-squared with df = rank of the difference.

    Notes
    -----
    Same statistic as plm's ``phtest(fe, re)`` and Stata's ``hausman fe re``. When the
    difference of covariances is not positive definite (common in finite samples) a
    Moore-Penrose inverse is used and df is its rank, as Stata does (plm solves and takes
    the absolute value); the result then says so in ``note``. Use
    :func:`hausman_robust` when errors may be heteroskedastic or serially correlated.
    """
    b_fe, v_fe = _params_vcov(fe)
    b_re, v_re = _params_vcov(re)
    common = [c for c in b_re.index if c in b_fe.index and c not in _INTERCEPTS]
    if not common:
        raise SpecificationError(
            f"the models share no slope coefficients: FE has {preview(b_fe.index)}, RE has "
            f"{preview(b_re.index)}."
        )
    d = (b_fe[common] - b_re[common]).to_numpy()
    dv = v_fe.loc[common, common].to_numpy() - v_re.loc[common, common].to_numpy()
    stat, rank, note = _quadratic_form(d, dv)
    return TestResult(
        "Hausman test (FE vs RE)",
        stat,
        rank,
        float(stats.chi2.sf(stat, rank)),
        "chi2",
        "random-effects estimator consistent (effects uncorrelated with regressors)",
        note,
    )


def hausman_robust(
    y: Any, x: Any, *, entity: Any = None, time: Any = None, theta: Any = None
) -> TestResult:
    """Cluster-robust, regression-based Hausman test (Wooldridge 2010, section 10.7.3).

    Parameters
    ----------
    y : pandas.Series or array
        Dependent variable; a Series indexed by (entity, time) needs no codes.
    x : pandas.DataFrame or array
        Regressors without a constant, aligned with ``y``.
    entity, time : array-like, optional
        Codes per observation when ``y``/``x`` are arrays.
    theta : float or array, optional
        Random-effects quasi-demeaning weight: one number, or one per entity (in sorted
        entity order). By default the Swamy-Arora weights of linearmodels'
        ``RandomEffects`` on the same data (per entity when unbalanced).

    Returns
    -------
    TestResult
        Wald statistic for ``gamma = 0``, chi-squared with one df per time-varying regressor.

    Notes
    -----
    Pooled OLS of ``y_it - theta ybar_i`` on ``(1 - theta)``, ``x_it - theta xbar_i`` and
    ``x_it - xbar_i`` (the time-varying columns); H0: the coefficients ``gamma`` on the
    last block are zero. Its covariance is clustered by entity, CR0 (no small-sample
    factor), which is plm's ``phtest(..., method = "aux", vcov = function(x)
    vcovHC(x, method = "arellano"))``. On balanced panels the numbers equal plm's; on
    unbalanced panels plm adds an intercept next to the ``(1 - theta_i)`` column.
    """
    data = _PanelArrays.build(y, x, entity, time)
    th = _theta(data) if theta is None else _broadcast_theta(theta, data)
    ybar, xbar = data.means(data.y), data.means(data.x)
    within = data.x - xbar
    varies = within.std(axis=0) > 1e-12 * (1 + np.abs(data.x).max(axis=0))
    z = np.column_stack([1 - th, data.x - th[:, None] * xbar, within[:, varies]])
    coef, u = _ols(z, data.y - th * ybar)
    q = int(varies.sum())
    v = _cluster_cov(z, u, data.entity)[-q:, -q:]
    stat, rank, note = _quadratic_form(coef[-q:], v)
    return TestResult(
        "Regression-based Hausman test, cluster-robust (Wooldridge 2010, 10.7.3)",
        stat,
        rank,
        float(stats.chi2.sf(stat, rank)),
        "chi2",
        "random-effects estimator consistent (effects uncorrelated with regressors)",
        note,
    )


# ---------------------------------------------------------------------- cross-section
def pesaran_cd(residuals: Any, *, test: Literal["cd", "lm", "sclm"] = "cd") -> TestResult:
    """Pesaran (2004) CD test, or the Breusch-Pagan / scaled LM tests, from residuals.

    Parameters
    ----------
    residuals : pandas.Series or results
        Residuals indexed by (entity, time), or a results object with ``residuals``.
    test : {"cd", "lm", "sclm"}, default "cd"
        ``"cd"``: ``sqrt(2/(N(N-1))) sum_{i<j} sqrt(T_ij) rho_ij``, normal, two-sided;
        ``"lm"``: Breusch-Pagan (1980) ``sum T_ij rho_ij^2``, chi2 with N(N-1)/2 df;
        ``"sclm"``: scaled LM ``sqrt(1/(N(N-1))) sum (T_ij rho_ij^2 - 1)``, normal.

    Returns
    -------
    TestResult

    Notes
    -----
    ``rho_ij`` is the Pearson correlation of units i and j over the ``T_ij`` periods both
    are observed (unbalanced panels), pairs with ``T_ij <= 1`` are left out and N(N-1)/2
    is replaced by the number of pairs used: exactly plm's ``pcdtest``. Memory grows
    with N^2 (it is computed in blocks of units); meant for regions, not 10^5 firms.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> idx = pd.MultiIndex.from_product([range(20), range(10)], names=["region", "year"])
    >>> shock = np.tile(rng.normal(size=10), 20)  # a common shock hits every region
    >>> res = pesaran_cd(pd.Series(shock + 0.5 * rng.normal(size=200), index=idx))
    >>> res.statistic > 10, res.pvalue < 0.01
    (True, True)
    """
    r = _residual_series(residuals)
    wide = r.unstack(level=1).to_numpy(dtype=float).T  # periods x units
    t_ij, rho = _pairwise_correlations(wide)
    keep = t_ij > 1
    t_ij, rho = t_ij[keep], rho[keep]
    pairs = len(rho)
    if pairs == 0:
        raise SpecificationError("no pair of units shares two or more periods.")
    if test == "cd":
        stat = float(np.sqrt(1 / pairs) * np.sum(np.sqrt(t_ij) * rho))
        name, df, p, dist = "Pesaran (2004) CD test", None, 2 * stats.norm.sf(abs(stat)), "normal"
    elif test == "lm":
        stat = float(np.sum(t_ij * rho**2))
        name, df, dist = "Breusch-Pagan LM test for cross-sectional dependence", pairs, "chi2"
        p = stats.chi2.sf(stat, pairs)
    elif test == "sclm":
        stat = float(np.sqrt(1 / (2 * pairs)) * np.sum(t_ij * rho**2 - 1))
        name, df, dist = "Scaled LM test for cross-sectional dependence", None, "normal"
        p = 2 * stats.norm.sf(abs(stat))
    else:
        raise SpecificationError(f"test must be 'cd', 'lm' or 'sclm', got {test!r}.")
    return TestResult(name, stat, df, float(p), dist, "no cross-sectional dependence")


def _pairwise_correlations(wide: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(T_ij, rho_ij) for i < j over common periods, in blocks of rows."""
    present = ~np.isnan(wide)
    m, x = present.astype(float), np.where(present, wide, 0.0)
    n = wide.shape[1]
    block = max(1, min(n, 2_000_000 // max(n, 1)))
    out_t, out_r = [], []
    for start in range(0, n, block):
        rows = slice(start, min(n, start + block))
        cnt = m[:, rows].T @ m
        sx, sy = x[:, rows].T @ m, m[:, rows].T @ x
        sxx, syy, sxy = (x[:, rows] ** 2).T @ m, m[:, rows].T @ x**2, x[:, rows].T @ x
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = sxy - sx * sy / cnt
            rho = cov / np.sqrt((sxx - sx**2 / cnt) * (syy - sy**2 / cnt))
        i, j = np.nonzero(np.arange(start, rows.stop)[:, None] < np.arange(n)[None, :])
        out_t.append(cnt[i, j])
        out_r.append(rho[i, j])
    t_ij, rho = np.concatenate(out_t), np.concatenate(out_r)
    return np.where(np.isfinite(rho), t_ij, 0.0), np.nan_to_num(rho)


def moran_by_period(residuals: Any, w: Any, *, row_standardize: bool = True) -> pd.DataFrame:
    """Moran's I of residuals in each period of a (possibly unbalanced) panel, matched by id.

    Parameters
    ----------
    residuals : pandas.Series or results
        Residuals indexed by (entity, time), or a results object with ``residuals``.
    w : spillover.weights.Weights
        Weights whose ids include every entity; matched by id, never by position.
    row_standardize : bool, default True
        Restrict W to the units present in the period, then row-standardise (esda's
        ``transformation="r"``); False uses W's values as they are.

    Returns
    -------
    pandas.DataFrame
        Indexed by period: ``n``, ``statistic`` (I), ``expected`` (-1/(n-1)), ``variance``
        and ``z`` under normality, two-sided ``pvalue``.

    Notes
    -----
    ``I = (n / S0) z'Wz / z'z`` with ``z`` the period's residuals centred, moments as
    esda's ``EI``, ``VI_norm``, ``p_norm`` (computed by
    :mod:`spillover.inference.spatial_diagnostics`, whose ``moran_by_period`` covers
    balanced, stacked arrays). The moments treat residuals as data (no correction for
    the estimated coefficients).
    """
    from spillover.inference.spatial_diagnostics import _moran, _moran_sums

    r = _residual_series(residuals)
    rows = []
    for period, values in r.groupby(level=1, sort=True):
        sub = w.subset(values.index.get_level_values(0))
        m = sub.row_standardize(zero_rows="keep").matrix if row_standardize else sub.matrix
        z = values.to_numpy(dtype=float) - values.mean()
        out = _moran(z, m @ z, len(z), *_moran_sums(m), f"Moran's I ({period})")
        rows.append(
            {
                "period": period,
                "n": len(z),
                "statistic": out.statistic,
                "expected": out.expected,
                "variance": out.variance,
                "z": out.z,
                "pvalue": out.pvalue,
            }
        )
    return pd.DataFrame(rows).set_index("period")


# ---------------------------------------------------------------------- serial correlation
def wooldridge_serial(
    y: Any, x: Any, *, entity: Any = None, time: Any = None, h0: Literal["fe", "fd"] = "fe"
) -> TestResult:
    """Wooldridge (2002, 10.6.3) test for serial correlation in fixed-effects panels.

    Parameters
    ----------
    y, x, entity, time
        As in :func:`hausman_robust` (``x`` without a constant).
    h0 : {"fe", "fd"}, default "fe"
        ``"fe"``: idiosyncratic errors serially uncorrelated, so first-differenced errors
        have autocorrelation -0.5; ``"fd"``: the differenced errors are uncorrelated (0).

    Returns
    -------
    TestResult
        ``F = ((rho - rho0) / se)^2`` with (1, m - 2) df, m the auxiliary observations.

    Notes
    -----
    First differences of consecutive observations of each unit, OLS of ``dy`` on a
    constant and ``dx``; its residuals ``e`` are regressed on a constant and the unit's
    previous ``e``, with a CR0 covariance clustered by unit. This is plm's
    ``pwfdtest`` (differences and lags by row, so a gap in the years is bridged, as plm
    does). Stata's ``xtserial`` is the same test with Stata's conventions (time-based
    differences, clustered CR1 covariance, F(1, N - 1)), so its value differs slightly.

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
    data = _PanelArrays.build(y, x, entity, time)
    same = data.entity[1:] == data.entity[:-1]
    dy, dx = (data.y[1:] - data.y[:-1])[same], (data.x[1:] - data.x[:-1])[same]
    unit = data.entity[1:][same]
    _, e = _ols(np.column_stack([np.ones(len(dy)), dx]), dy)
    lagged = unit[1:] == unit[:-1]
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


# ---------------------------------------------------------------------- helpers
@dataclass(frozen=True)
class _PanelArrays:
    """y, x, entity and time codes, sorted by (entity, time)."""

    y: FloatArray
    x: FloatArray
    entity: IntArray
    time: IntArray

    @classmethod
    def build(cls, y: Any, x: Any, entity: Any, time: Any) -> _PanelArrays:
        if isinstance(y, pd.Series) and entity is None:
            if y.index.nlevels != 2:
                raise SpecificationError(
                    "y needs a (entity, time) MultiIndex or entity/time codes."
                )
            entity, time = y.index.get_level_values(0), y.index.get_level_values(1)
            if isinstance(x, (pd.DataFrame, pd.Series)):
                x = pd.DataFrame(x).reindex(y.index)
        if entity is None or time is None:
            raise SpecificationError("pass entity and time codes with array inputs.")
        yy = np.asarray(y, dtype=float).reshape(-1)
        xx = np.asarray(x, dtype=float).reshape(len(yy), -1)
        ent = pd.factorize(np.asarray(entity), sort=True)[0]
        per = pd.factorize(np.asarray(time), sort=True)[0]
        if (
            not (len(ent) == len(per) == len(yy))
            or not np.isfinite(xx).all()
            or not np.isfinite(yy).all()
        ):
            raise SpecificationError("y, x, entity and time must have equal length and no NaN.")
        order = np.lexsort((per, ent))
        ent, per = ent[order], per[order]
        dup = np.flatnonzero((ent[1:] == ent[:-1]) & (per[1:] == per[:-1]))
        if len(dup):
            raise PanelError(
                f"{len(dup)} (entity, time) pairs are duplicated, e.g. rows "
                f"{preview(order[dup].tolist())}."
            )
        return cls(yy[order], xx[order], ent.astype(np.intp), per.astype(np.intp))

    def means(self, v: FloatArray) -> FloatArray:
        """Unit means of ``v`` (vector or matrix), broadcast back to observations."""
        counts = np.bincount(self.entity)
        if v.ndim == 1:
            return (np.bincount(self.entity, weights=v) / counts)[self.entity]
        cols = [np.bincount(self.entity, weights=c) / counts for c in v.T]
        return np.column_stack(cols)[self.entity]


def _theta(data: _PanelArrays) -> FloatArray:
    """Swamy-Arora quasi-demeaning weight per observation, from linearmodels' RandomEffects."""
    from linearmodels.panel import RandomEffects

    index = pd.MultiIndex.from_arrays([data.entity, data.time])
    x = pd.DataFrame(np.column_stack([np.ones(len(data.y)), data.x]), index=index)
    theta = RandomEffects(pd.Series(data.y, index=index), x).fit().theta
    return theta.to_numpy().reshape(-1)[data.entity]


def _broadcast_theta(theta: Any, data: _PanelArrays) -> FloatArray:
    th = np.asarray(theta, dtype=float).reshape(-1)
    if th.size == 1:
        return np.full(len(data.y), float(th[0]))
    if th.size == data.entity.max() + 1:
        return th[data.entity]
    raise SpecificationError(
        f"theta must be a number or one value per entity ({data.entity.max() + 1}), got {th.size}."
    )


def _ols(z: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    coef, _, rank, _ = np.linalg.lstsq(z, y, rcond=None)
    if rank < z.shape[1]:
        raise SpecificationError(f"collinear regressors: rank {rank} < {z.shape[1]} columns.")
    return coef, y - z @ coef


def _cluster_cov(z: FloatArray, u: FloatArray, groups: IntArray) -> FloatArray:
    """CR0 cluster-robust covariance (Z'Z)^-1 (sum_g Z_g'u_g u_g'Z_g) (Z'Z)^-1."""
    meat = kernels.cluster_meat(z * u[:, None], kernels.codes(groups)[0])
    return kernels.sandwich(np.linalg.inv(z.T @ z), meat)


def _quadratic_form(d: FloatArray, v: FloatArray) -> tuple[float, int, str]:
    v = (v + v.T) / 2
    eig = np.linalg.eigvalsh(v)
    tol = max(v.shape) * np.finfo(float).eps * max(np.abs(eig).max(), 1e-300)
    if eig.min() > tol:
        return float(d @ np.linalg.solve(v, d)), len(d), ""
    rank = int(np.sum(np.abs(eig) > tol))
    note = (
        f"the covariance difference is not positive definite (eigenvalues "
        f"{np.array2string(eig, precision=3)}); a Moore-Penrose inverse is used, df = rank "
        f"{rank} (Stata's convention)."
    )
    return float(d @ np.linalg.pinv(v) @ d), rank, note


def _params_vcov(res: Any, *, need_vcov: bool = True) -> tuple[pd.Series, pd.DataFrame | None]:
    params = getattr(res, "params", None)
    vcov = getattr(res, "vcov", None)
    if vcov is None or callable(vcov):
        vcov = getattr(res, "cov", None)
    if not isinstance(params, pd.Series) or (need_vcov and not isinstance(vcov, pd.DataFrame)):
        raise SpecificationError(
            f"expected fitted results with params (Series) and vcov (DataFrame), got "
            f"{type(res).__name__}."
        )
    return params, vcov


def _residual_series(obj: Any) -> pd.Series:
    r = obj if isinstance(obj, pd.Series) else getattr(obj, "residuals", None)
    if r is None:
        r = getattr(obj, "resids", None)  # linearmodels
    if not isinstance(r, pd.Series) or r.index.nlevels != 2:
        raise SpecificationError(
            "expected residuals as a pandas Series indexed by (entity, time), or results "
            f"with such a residuals attribute; got {type(obj).__name__}."
        )
    if r.isna().any():
        raise SpecificationError(f"residuals have {int(r.isna().sum())} missing values.")
    if r.index.has_duplicates:
        raise PanelError(
            f"residual index has duplicated keys, e.g. {preview(r.index[r.index.duplicated()])}."
        )
    return r
