"""Shared last steps of every least-squares panel estimator: covariance, F, Results.

Each estimator reduces its problem to a transformed regression ``y* = X* b + u*``
(demeaned, quasi-demeaned, differenced, averaged, or with fitted endogenous columns
for IV) and hands the arrays here; the covariance, the Wald F and the Results are then
built the same way for every family.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from spillover._calendar import period_numbers
from spillover._typing import FloatArray, IntArray
from spillover.errors import SpecificationError
from spillover.geo import crs_units_per_km, distance_coordinates
from spillover.inference.registry import Need, compute_vcov, lookup
from spillover.inference.vcov import Conley, VcovInputs, frame_groups
from spillover.models._estimator import About
from spillover.models._results import Results
from spillover.panel import Panel


@dataclass(frozen=True)
class Transformed:
    """A transformed regression ready for inference.

    ``x`` holds the regressors whose scores ``x * resid`` enter the sandwich (for IV the
    first-stage fitted values). ``frame`` carries the rows used (index (entity, time)) for
    cluster labels; ``absorbed`` counts effect degrees of freedom beyond the intercept.
    ``known_scale`` marks a likelihood whose scale is known (Poisson): ``x`` is then the
    weighted design with ``x'x`` the Hessian, and ``resid`` the Pearson residuals.
    With regression weights w, ``x`` and ``resid`` are scaled by ``sqrt(w)`` (so the scores
    are ``w x e``); ``nobs`` is N when it is not the number of rows (``sum(w)`` under
    frequency weights) and ``frequency_weights`` holds w for the robust meat.
    """

    x: FloatArray
    resid: FloatArray
    names: list[str]
    params: FloatArray
    frame: pd.DataFrame
    absorbed: int = 0
    effects: Mapping[str, IntArray] = field(default_factory=dict)
    absorbed_without: Callable[[Sequence[str]], int] | None = None
    known_scale: bool = False
    nobs: int | None = None
    frequency_weights: FloatArray | None = None


def time_codes(index: pd.MultiIndex) -> IntArray:
    """Positions 0..T-1 of the periods present, in time order (labels for time effects).

    Not a time distance: lags and serial terms use calendar ``period_numbers``.
    """
    return pd.factorize(index.get_level_values(1), sort=True)[0].astype(np.intp)


def entity_codes(index: pd.MultiIndex) -> IntArray:
    return pd.factorize(index.get_level_values(0), sort=True)[0].astype(np.intp)


def _coords_for(panel: Panel, frame: pd.DataFrame) -> Callable[[Conley], tuple[Any, str, float]]:
    def coords(spec: Conley) -> tuple[Any, str, float]:
        if spec.coords is not None:
            xy = np.column_stack([frame_groups(frame)(c).astype(float) for c in spec.coords])
            return xy, spec.metric, float(spec.cutoff_km)
        geo = panel.geo
        xy, metric = distance_coordinates(geo)
        pos = pd.Index(geo.index).get_indexer(frame.index.get_level_values(0))
        if (pos < 0).any():
            raise SpecificationError("some entities in the estimation sample have no geometry.")
        cutoff = float(spec.cutoff_km)
        if metric == "euclidean":
            cutoff = cutoff * crs_units_per_km(geo.crs, what="the Conley cutoff in km")
        return xy[pos], metric, cutoff

    return coords


def bread(x: FloatArray) -> FloatArray:
    """``(X'X)^-1`` from the R of a QR decomposition of ``X``: ``R^-1 R^-T``.

    Its relative error grows with cond(X), not cond(X)^2 as inverting the normal matrix
    does; that matters for regressors such as log spillover pools, whose within variation
    is small beside their level.
    """
    r = np.linalg.qr(x, mode="r")
    r_inv = linalg.solve_triangular(r, np.eye(r.shape[0]), check_finite=False)
    return r_inv @ r_inv.T


def make_inputs(t: Transformed, panel: Panel, spec: Any) -> VcovInputs:
    """Arrays for the covariance estimators from a transformed regression."""
    index = t.frame.index
    needs_time = Need.TIME in lookup(spec).needs
    empty = np.zeros(0, dtype=np.intp)
    return VcovInputs(
        x=t.x,
        resid=t.resid,
        scores=t.x * t.resid[:, None],
        bread=bread(t.x),
        absorbed=t.absorbed,
        effects=t.effects,
        groups=frame_groups(t.frame),
        time=period_numbers(index.get_level_values(1)) if needs_time else empty,
        entity=entity_codes(index) if needs_time else empty,
        coords=_coords_for(panel, t.frame),
        absorbed_without=t.absorbed_without,
        known_scale=t.known_scale,
        nobs=t.nobs,
        frequency_weights=t.frequency_weights,
    )


def finish(
    t: Transformed,
    spec: Any,
    panel: Panel,
    about: About,
    *,
    results_class: type[Results] = Results,
    normal: bool = False,
    **extension: Any,
) -> Results:
    """Compute the resolved covariance ``spec`` from the transformed regression, add the
    Wald F, and build the results with what ``about`` says of the fit.

    ``results_class`` is Results or a subclass; ``extension`` holds the subclass's own
    fields (e.g. ``first_stage`` of IV results). ``normal=True`` takes the normal (and
    chi-squared) reference distribution whatever the covariance's df, as pyfixest's
    ``fepois`` and fixest's ``feglm`` do for Poisson.
    """
    index = t.frame.index
    cov, name, df_resid = compute_vcov(spec, make_inputs(t, panel, spec))
    df_resid = None if normal else df_resid
    params = pd.Series(t.params, index=t.names, name="parameter")
    nobs = len(t.resid) if t.nobs is None else t.nobs
    stats_ = {
        **about.fit_stats,
        **_adjusted_r2(about.fit_stats, nobs, len(t.names), t.absorbed),
        **_clusters(spec, t.frame),
        **_wald_f(params, cov, df_resid),
    }
    n_periods = _count_levels(index, 1) if about.n_periods is None else about.n_periods
    return results_class(
        params=params,
        vcov=pd.DataFrame(cov, index=t.names, columns=t.names),
        nobs=nobs,
        df_resid=df_resid,
        vcov_name=name,
        model=about.model,
        dependent=about.dependent,
        fixed_effects=tuple(about.fixed_effects),
        n_entities=_count_levels(index, 0),
        n_periods=n_periods,
        fit_stats=stats_,
        info=dict(about.info),
        residuals=about.residuals,
        fitted=about.fitted,
        **extension,
    )


def _adjusted_r2(fit: Mapping[str, float], n: int, k: int, absorbed: int) -> dict[str, float]:
    """``r2_adj = 1 - (1 - r2)(N - 1)/(N - K - A)``: K coefficients (intercept included), A
    absorbed effect levels beyond the intercept (statsmodels' ``rsquared_adj`` without
    effects, reghdfe's and pyfixest's adjusted R2 with them); only where ``r2`` is given."""
    if "r2" not in fit or "r2_adj" in fit or n - k - absorbed <= 0:
        return {}
    return {"r2_adj": 1.0 - (1.0 - float(fit["r2"])) * (n - 1) / (n - k - absorbed)}


def _clusters(spec: Any, frame: pd.DataFrame) -> dict[str, float]:
    """``n_clusters``: distinct clusters in the rows used, the fewest of two-way clusters
    (the G of the t(G - 1) reference); nothing without a cluster covariance."""
    by = getattr(spec, "by", None)
    if not isinstance(by, tuple) or getattr(spec, "name", "") != "cluster":
        return {}
    get = frame_groups(frame)
    return {"n_clusters": min(len(pd.unique(get(b))) for b in by)}


def labelled(t: Transformed, y: FloatArray) -> tuple[pd.Series, pd.Series]:
    """Residuals ``t.resid`` and fitted values ``y - t.resid``, labelled by the rows used."""
    index = t.frame.index
    resid = pd.Series(t.resid, index=index, name="residual")
    return resid, pd.Series(y - t.resid, index=index, name="fitted")


def _count_levels(index: pd.MultiIndex, level: int) -> int:
    """Distinct values of an index level actually present (O(n), no sort)."""
    codes = np.asarray(index.codes[level])
    return int(np.count_nonzero(np.bincount(codes[codes >= 0])))


def _wald_f(params: pd.Series, cov: FloatArray, df_resid: int | None) -> dict[str, float]:
    """Wald F that all slopes (not the intercept) are zero, with the model's covariance."""
    slopes = [i for i, n in enumerate(params.index) if n != "Intercept"]
    if not slopes:
        return {}
    b = params.to_numpy()[slopes]
    v = cov[np.ix_(slopes, slopes)]
    try:
        f = float(b @ np.linalg.solve(v, b)) / len(slopes)
    except np.linalg.LinAlgError:
        return {"f_stat": float("nan")}
    if df_resid is None:
        p = float(stats.chi2.sf(f * len(slopes), len(slopes)))
    else:
        p = float(stats.f.sf(f, len(slopes), df_resid))
    return {"f_stat": f, "f_pvalue": p}


def ols(x: FloatArray, y: FloatArray) -> FloatArray:
    """Least squares: Cholesky of the scaled normal equations when well conditioned, else QR."""
    gram = x.T @ x
    scale = np.sqrt(np.clip(np.diag(gram), 1e-300, None))
    g = gram / np.outer(scale, scale)
    if np.linalg.cond(g) < 1e6:
        return np.linalg.solve(g, (x.T @ y) / scale) / scale
    return np.linalg.lstsq(x, y, rcond=None)[0]
