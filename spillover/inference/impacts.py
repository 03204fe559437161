"""Direct, indirect and total effects of spatial models, with standard errors.

For a regressor x_k with coefficient beta_k and spatial-lag coefficient theta_k (on W x_k),
the N x N matrix of partial derivatives of E[y] with respect to x_k is
``S_k(W) = (I - rho W)^-1 (beta_k I + theta_k W)`` (LeSage and Pace 2009, ch. 2). The
average direct effect is ``tr(S_k)/N``, the average total effect ``1'S_k 1/N`` and the
indirect (spillover) effect their difference. With ``A = (I - rho W)^-1`` and the four
scalar functions ``a = tr(A)/N``, ``b = tr(AW)/N``, ``c = 1'A1/N``, ``d = 1'AW1/N``:
direct = ``beta a + theta b``, total = ``beta c + theta d``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._typing import FloatArray
from spillover._validate import as_rng, user_stacklevel
from spillover.errors import ApproximationWarning, SpecificationError
from spillover.inference._impacts_se import _delta_se, _simulate, _table
from spillover.inference._impacts_spec import _Spec
from spillover.linalg.matrix import SpatialMatrix
from spillover.linalg.stacking import PeriodMatrices
from spillover.linalg.traces import Multipliers, PowerTraces, mean_multipliers, multipliers
from spillover.weights import as_weights

SpatialModel = Literal["sar", "sdm", "sac", "sdem", "slx"]
ImpactsMethod = Literal["simulation", "delta"]
#: Largest N for which ``traces="auto"``/``"exact"`` computes (I - rho W)^-1 densely.
DENSE_MAX_N = 1000
#: Relative truncation bound above which an ApproximationWarning suggests a larger order.
TRUNCATION_WARN = 1e-3
#: Largest ``order * nnz * N`` for which ``traces="auto"`` computes exact traces; above it,
#: Monte Carlo traces (their error, ~1e-4 of the effect at 2,500 regions, is far below the
#: standard errors). Lower than the log-determinant's threshold: effects need speed more.
EXACT_TRACE_WORK = 2e8
#: Relative truncation bound at which the series may stop before ``order``.
SERIES_TOL = 1e-10


def impacts(
    w: Any,
    *,
    model: SpatialModel,
    rho: float | None = None,
    beta: pd.Series,
    theta: pd.Series | None = None,
    vcov: pd.DataFrame,
    method: ImpactsMethod = "simulation",
    draws: int = 1000,
    seed: int | np.random.Generator | None = None,
    traces: Literal["auto", "exact", "mc"] | PowerTraces = "auto",
    order: int = 100,
    level: float = 0.95,
    progress: bool = False,
    trace_draws: int = 50,
) -> pd.DataFrame:
    """Average direct, indirect and total effects with standard errors.

    Parameters
    ----------
    w : Weights, libpysal W/Graph, scipy.sparse array or numpy array, or weights by period
        N x N weights (received by :func:`spillover.weights.as_weights`; a bare matrix is
        used by position, which is harmless here: the averages do not depend on how the
        entities are numbered); or one ``W_t`` per period of
        a model fitted with time-varying weights: a
        :class:`~spillover.weights.WeightsByPeriod`, a mapping period -> weights, or a
        list/tuple with one entry per period (e.g. ``res.weights_by_period``). Periods
        sharing a matrix are counted with their multiplicity (see Notes). Each ``W_t`` may
        be in its own entity order: the averages do not depend on how entities are
        numbered.
    model : {"sar", "sdm", "sac", "sdem", "slx"}
        SAR and SAC: ``S_k = beta_k (I - rho W)^-1`` (SAC's lambda does not enter). SDM:
        ``(I - rho W)^-1 (beta_k I + theta_k W)``. SDEM and SLX: ``beta_k I + theta_k W``.
    rho : float
        Spatial lag coefficient (ignored, and may be None, for SDEM/SLX).
    beta : pandas.Series
        Coefficients of the regressors whose effects are wanted, keyed by name (leave out
        the intercept).
    theta : pandas.Series, optional
        Coefficients of ``W x``, keyed by the same x names (a subset is allowed; a missing
        name means theta = 0). Required for SDM, SDEM and SLX.
    vcov : pandas.DataFrame
        Covariance of the estimates, labelled by ``"rho"``, the x names and ``"W_" + x``
        names for theta. Other rows (intercept, ``"lambda"``, ``"sigma2"``) are ignored.
    method : {"simulation", "delta"}, default "simulation"
        Standard errors from ``draws`` draws of the parameters from
        ``N(estimates, vcov)``, or by the delta method with analytic gradients.
    draws : int, default 1000
        Simulation draws.
    seed : int, Generator or None
        Seeds the parameter draws and any Monte Carlo traces.
    traces : {"auto", "exact", "mc"} or PowerTraces, default "auto"
        ``"auto"`` or ``"exact"`` with N <= ``DENSE_MAX_N``: the point estimates and
        delta-method gradients use a dense ``(I - rho W)^-1``. Otherwise (and for the
        simulation draws always) the series in ``order`` powers, with exact traces
        (``"exact"``, or ``"auto"`` when ``order * nnz * N <= EXACT_TRACE_WORK``) or Monte
        Carlo traces (``"mc"``, or ``"auto"`` above that; with weights by period, the sum
        of nnz over the distinct ``W_t`` counts). Traces already computed by the estimator
        (a :class:`~spillover.linalg.traces.PowerTraces` of the same W) may be passed
        instead, for a single W only.
    order : int, default 100
        Highest power of rho in the series. Fewer powers are computed when the truncation
        bound is already below ``SERIES_TOL`` (relative) at ``|rho| + 4 SE(rho)``; the
        order used is in ``attrs["order"]``.
    level : float, default 0.95
        Confidence level of ``lower``/``upper``.
    progress : bool, default False
        Show a progress bar over the simulation draws.
    trace_draws : int, default 50
        Probes for Monte Carlo traces.

    Returns
    -------
    pandas.DataFrame
        One row per (variable, effect), effect in direct/indirect/total, with columns
        ``variable, effect, estimate, std_error, z, pvalue, lower, upper`` (and
        ``mean_draws`` for simulation). ``attrs`` holds ``method``, ``draws``, ``level``,
        ``model``, ``traces`` (``"dense"``, ``"exact"`` or ``"mc"``), ``order``,
        ``approximation_error`` (per variable, bound on the series error of the direct
        effect), ``dropped_draws``, ``periods`` (number of weights matrices given; 1 for
        a single W) and ``distinct_weights`` (how many of them differ).

    Notes
    -----
    ``estimate`` is the effect evaluated at the parameter estimates, as printed by R
    spatialreg's ``impacts()`` and by spreg; LeSage and Pace's MATLAB routines (and, as far
    as we can tell from its source, Stata's xsmle) report the mean of the simulated effects
    instead, given here as ``mean_draws``.
    Simulation: ``std_error`` is the standard deviation (ddof=1) of the simulated
    effects, ``lower``/``upper`` their ``(1-level)/2`` and ``(1+level)/2`` quantiles; draws
    with rho outside the region where the series converges (``|rho| r >= 1``, r an upper
    bound on the spectral radius of W from
    :func:`~spillover.linalg.traces.spectral_bound`; ``|rho| >= 1`` when W is
    row-standardised) are
    dropped, counted in ``attrs["dropped_draws"]`` and warned about. Delta method:
    ``std_error = sqrt(g' V g)`` with g the exact gradient of the effect with respect to
    (rho, beta_k, theta_k), and ``lower``/``upper = estimate -/+ z_(1+level)/2 std_error``.
    In both, ``z = estimate / std_error`` and ``pvalue`` is two-sided standard normal.

    Weights by period. A model with ``y_t = rho W_t y_t + X_t beta + W_t X_t theta + ...``
    has one effects matrix per period, ``S_kt = (I - rho W_t)^-1 (beta_k I + theta_k W_t)``.
    The reported effects average LeSage and Pace's scalar summaries over the T periods:
    direct ``= (1/T) sum_t tr(S_kt)/N``, total ``= (1/T) sum_t 1'S_kt 1/N``, indirect =
    total - direct. This is LeSage and Pace's definition applied to the stacked NT x NT
    block-diagonal effects matrix ``diag(S_k1, ..., S_kT)`` (``tr/NT`` and ``1'S1/NT``),
    and with all ``W_t`` equal it is the single-W effect. When every ``W_t`` is
    row-standardised the total is ``(beta_k + theta_k)/(1 - rho)`` whatever the ``W_t``.
    Each distinct ``W_t`` is handled once (its traces, row sums, or dense inverse at small
    N), weighted by the number of periods using it; the four averages a, b, c, d of the
    module docstring are period means, so the delta-method gradient and the simulation
    draws go through them unchanged. Simulated rho are kept when the series converges for
    every ``W_t`` (``|rho| < 1/max_t r_t``). No peer we test against has an equivalent:
    R spatialreg/splm ``impacts()``, spreg and LeSage and Pace's MATLAB routines take one
    W. To check by hand, call this function with each single ``W_t``: the mean of those
    point estimates over the T periods is ours (standard errors do not average). Wang and
    Yu (2015, Economics Letters 128) derive the asymptotics of average impacts with
    time-varying W; we have not compared our numbers with theirs.

    Examples
    --------
    >>> import numpy as np, pandas as pd, scipy.sparse as sp
    >>> w = sp.csr_array(np.array([[0, 1.0], [1.0, 0]]))
    >>> v = pd.DataFrame(np.diag([0.01, 0.04]), index=["rho", "x"], columns=["rho", "x"])
    >>> out = impacts(w, model="sar", rho=0.5, beta=pd.Series({"x": 1.0}), vcov=v,
    ...               method="delta")
    >>> out[["effect", "estimate"]].round(4).to_numpy().tolist()
    [['direct', 1.3333], ['indirect', 0.6667], ['total', 2.0]]

    One W per period (here two periods with the pair linked, one with it unlinked):

    >>> w0 = sp.csr_array((2, 2))
    >>> out = impacts([w, w, w0], model="sar", rho=0.5, beta=pd.Series({"x": 1.0}),
    ...               vcov=v, method="delta")
    >>> out["estimate"].round(4).tolist()  # direct (2 * 4/3 + 1) / 3, total (2 * 2 + 1) / 3
    [1.2222, 0.4444, 1.6667]
    """
    spec = _Spec.build(model, rho, beta, theta, vcov)
    if method not in ("simulation", "delta"):
        raise SpecificationError(f"method must be 'simulation' or 'delta', got {method!r}.")
    if not 0 < level < 1:
        raise SpecificationError(f"level must be in (0, 1), got {level}.")
    if not isinstance(traces, PowerTraces) and traces not in ("auto", "exact", "mc"):
        raise SpecificationError(
            f"traces must be 'auto', 'exact', 'mc' or a PowerTraces, got {traces!r}."
        )
    groups = _weight_groups(w)
    if isinstance(traces, PowerTraces) and len(groups) > 1:
        raise SpecificationError(
            f"traces= got one PowerTraces but the weights hold {len(groups)} distinct W_t; "
            "precomputed traces serve a single W. Pass traces='auto', 'exact' or 'mc' and "
            "the traces of each distinct W_t are computed (once per distinct matrix)."
        )
    trace_rng, draw_rng = as_rng(seed).spawn(2)
    dense, mult, at_est, d_est = _values(
        groups, spec, traces, int(order), int(trace_draws), trace_rng, method == "simulation"
    )
    errors = np.zeros(len(spec.names)) if dense else _check_truncation(mult, spec)
    estimate = spec.effects(at_est[None, :], spec.beta[None, :], spec.theta[None, :])[0]
    if method == "delta":
        out = _table(spec, estimate, _delta_se(spec, at_est, d_est), level, None)
        dropped = 0
    else:
        sims, dropped = _simulate(spec, mult, int(draws), draw_rng, progress)
        out = _table(spec, estimate, sims.std(axis=0, ddof=1), level, sims)
    out.attrs.update(
        method=method,
        draws=int(draws) if method == "simulation" else 0,
        dropped_draws=dropped,
        level=level,
        model=spec.model,
        traces="dense" if dense else mult.method,
        order=0 if mult is None else mult.order,
        approximation_error={x: float(b) for x, b in zip(spec.names, errors, strict=True)},
        periods=sum(c for _, c in groups),
        distinct_weights=len(groups),
    )
    return out


def _values(
    groups: list[tuple[SpatialMatrix, int]],
    spec: _Spec,
    traces: str | PowerTraces,
    order: int,
    trace_draws: int,
    rng: np.random.Generator,
    need_series: bool,
) -> tuple[bool, Multipliers | None, FloatArray, FloatArray]:
    """Whether dense, the (period-mean) series multipliers if needed, and a, b, c, d with
    their rho-derivatives at the estimate."""
    given = traces if isinstance(traces, PowerTraces) else None
    bounds = [m.spectral_bound for m, _ in groups]
    order_used = _series_order(_largest(bounds), spec, order)
    kind = "auto" if given is not None else _trace_kind(traces, groups, order_used)
    n = groups[0][0].shape[0]
    dense = given is None and traces != "mc" and n <= DENSE_MAX_N and spec.has_rho
    mult = None
    if not dense or need_series:
        mult = _mean_multipliers(groups, bounds, order_used, kind, trace_draws, rng, given)
    if dense:
        return dense, mult, *_mean_dense_values(groups, spec.rho)
    return dense, mult, mult.values(spec.rho)[0], mult.derivatives(spec.rho)[0]


def _weight_groups(w: Any) -> list[tuple[SpatialMatrix, int]]:
    """Distinct matrices of ``w`` and the number of periods using each (one W: one period).

    Each W (or W_t) enters through :func:`spillover.weights.as_weights`; a bare matrix is
    numbered by position, the averages being invariant to how entities are numbered.
    """
    if isinstance(w, Mapping):
        named = list(w.items())
    elif isinstance(w, (list, tuple)):
        named = list(enumerate(w))
    else:
        named = [(0, w)]
    items = [as_weights(item, bare="positional") for _, item in named]
    return PeriodMatrices.of(items, labels=[period for period, _ in named]).distinct


def _largest(bounds: list[tuple[float, float]]) -> tuple[float, float]:
    """The spectral bound valid for every W_t: largest radius and largest constant."""
    return max(r for r, _ in bounds), max(c for _, c in bounds)


def _trace_kind(traces: str, groups: list[tuple[SpatialMatrix, int]], order: int) -> str:
    """ "auto": exact traces when ``order * N * sum of nnz(W_t) <= EXACT_TRACE_WORK`` (distinct
    W_t), else Monte Carlo."""
    if traces != "auto":
        return traces
    nnz = sum(max(m.matrix.nnz, 1) for m, _ in groups)
    return "exact" if float(order) * nnz * groups[0][0].shape[0] <= EXACT_TRACE_WORK else "mc"


def _mean_multipliers(
    groups: list[tuple[SpatialMatrix, int]],
    bounds: list[tuple[float, float]],
    order: int,
    kind: str,
    draws: int,
    rng: np.random.Generator,
    given: PowerTraces | None,
) -> Multipliers:
    """Series multipliers of each distinct W_t, averaged over periods (one W: its own)."""
    rngs = [rng] if len(groups) == 1 else rng.spawn(len(groups))
    parts = [
        (
            multipliers(m, order, method=kind, draws=draws, seed=r, traces=given, bound=b),
            count,
        )
        for (m, count), b, r in zip(groups, bounds, rngs, strict=True)
    ]
    return mean_multipliers(parts)


def _series_order(bound: tuple[float, float], spec: _Spec, order: int) -> int:
    """Powers needed for a truncation bound below SERIES_TOL at |rho| + 4 SE(rho)."""
    if not spec.has_rho:
        return 0
    radius, const = bound
    x = (abs(spec.rho) + 4 * np.sqrt(max(spec.vcov[0, 0], 0.0))) * radius
    if not 0 < x < 1:
        return order
    # C x^(q+1) / (1 - x) <= tol, C >= 1 the constant of the 1'W^q 1 bound
    needed = int(np.ceil(np.log(SERIES_TOL * (1 - x) / max(const, 1.0)) / np.log(x)))
    return max(2, min(order, needed))


def _mean_dense_values(
    groups: list[tuple[SpatialMatrix, int]], rho: float
) -> tuple[FloatArray, FloatArray]:
    """Period-weighted mean of :func:`_dense_values` over the distinct W_t."""
    if len(groups) == 1:
        return _dense_values(groups[0][0].matrix, rho)
    total = sum(c for _, c in groups)
    parts = [(_dense_values(m.matrix, rho), c / total) for m, c in groups]
    return (
        np.sum([s * v for (v, _), s in parts], axis=0),
        np.sum([s * d for (_, d), s in parts], axis=0),
    )


def _dense_values(w: sp.csr_array, rho: float) -> tuple[FloatArray, FloatArray]:
    """(a, b, c, d) and their rho-derivatives from a dense (I - rho W)^-1 (small N only)."""
    n = w.shape[0]
    a_mat = np.linalg.inv(np.eye(n) - rho * w.toarray())
    aw = (w.T @ a_mat.T).T  # A W, with W kept sparse
    ones = np.ones(n)
    left = a_mat.T @ ones  # A' 1
    w1 = w @ ones
    values = np.array([np.trace(a_mat), np.trace(aw), left.sum(), left @ w1]) / n
    derivs = np.array(
        [
            np.sum(aw * a_mat.T),  # tr(A W A)
            np.sum(aw * aw.T),  # tr(A W A W)
            left @ (w @ (a_mat @ ones)),  # 1'A W A 1
            left @ (w @ (a_mat @ w1)),  # 1'A W A W 1
        ]
    )
    return values, derivs / n


def _check_truncation(mult: Multipliers, spec: _Spec) -> FloatArray:
    """Per-variable bound on the series error of the direct effect; warn if large."""
    if not spec.has_rho:
        return np.zeros(len(spec.names))
    if abs(spec.rho) * mult.radius >= 1:
        raise SpecificationError(
            f"the power series for the effects diverges at rho = {spec.rho:.4g} "
            f"(spectral radius of W at most {mult.radius:.4g}); row-standardise W or, for "
            f"N <= {DENSE_MAX_N}, use traces='exact'."
        )
    err = mult.error_bounds(spec.rho)
    absb, abst = np.abs(spec.beta), np.abs(spec.theta)
    parts = absb[:, None] * err[:, 0] + abst[:, None] * err[:, 1]  # (k, 2): trunc, mc
    scale = (absb + mult.radius * abst)[:, None]
    rel = np.divide(parts, scale, out=np.zeros_like(parts), where=scale > 0).max(axis=0)
    if rel.sum() > TRUNCATION_WARN:
        warnings.warn(
            f"the direct effects may be off by up to {rel.sum():.2g} relative to "
            f"|beta| + |theta| at rho = {spec.rho:.3g} (series truncated at order "
            f"{mult.order}: {rel[0]:.1g}; Monte Carlo traces: {rel[1]:.1g}). Pass a larger "
            "order=, more trace_draws=, or traces='exact'.",
            ApproximationWarning,
            stacklevel=user_stacklevel(),
        )
    return parts.sum(axis=1)
