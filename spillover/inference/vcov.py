"""Covariance estimators chosen by one ``vcov=`` argument, and the least-squares kernels.

=====================================  =========================  ========================
``vcov=``                              estimator                  known as
=====================================  =========================  ========================
``"unadjusted"``                       classical (iid)            Stata default, "iid"
``"robust"``                           HC1                        ``vce(robust)``
``"hc0"``                              HC0 (no factor)            sandwich "HC0"
``Cluster("firm")``                    CR1 one-way                ``vce(cluster firm)``
``Cluster("firm", "year")``            CR1 two-way (CGM)          reghdfe, fixest
``DriscollKraay(lags=3)``              Driscoll-Kraay (Bartlett)  ``xtscc``, ``vcovSCC``
``Conley(cutoff_km=100, lags=2)``      spatial + serial HAC       ``acreg``, ``conleyreg``
``"ml"``                               inverse information        splm, xsmle (spatial ML)
``"hessian"``                          inverse numerical Hessian  splm ``Hess=TRUE``
=====================================  =========================  ========================

Each is one entry of :mod:`spillover.inference.registry`: its kernel here (the ML ones in
:mod:`spillover.inference.ml_vcov`) is registered with what it needs from the fit, and a
model supports every covariance whose needs its fit provides (``supported_vcov``). The
kernels below read :class:`VcovInputs`, the arrays of a transformed regression.

Small-sample conventions (those of Stata's ``xtreg, fe`` and ``reghdfe``)
-------------------------------------------------------------------------
N is the number of observations used, K the number of estimated coefficients *including
the intercept* (fixed-effects models report the intercept as the average effect, as
``xtreg, fe`` and linearmodels do), and A the degrees of freedom absorbed by fixed effects
beyond the intercept (levels minus redundant levels; see :func:`absorbed_df`).
With regression weights (``weights=`` of the least-squares models) the kernels see
``sqrt(w)``-scaled regressors and residuals, so scores are ``w x e``; N is the number of
rows for analytic and ``sum(w)`` for frequency weights (``VcovInputs.nobs``), cluster counts
G are unchanged, and the HC meat of frequency weights counts each copy once (pyfixest).

* unadjusted: ``s^2 = u'u / (N - K - A)``, t with ``N - K - A`` df; for Poisson (known
  scale) the inverse Hessian times ``(N - 1) / (N - K - A)``, as fixest and pyfixest.
* robust (HC1): factor ``N / (N - K - A)``, t with ``N - K - A`` df (``reghdfe, vce(robust)``).
* hc0: no factor, t with ``N - K - A`` df.
* cluster (CR1): factor ``G/(G-1) * (N-1)/(N-K-A*)``, t with ``G - 1`` df, where ``A*``
  leaves out effects nested in a cluster variable (``reghdfe``; ``xtreg, fe`` for entity
  effects clustered by entity). Two-way clustering sums the one-way meats and subtracts
  the intersection meat (Cameron, Gelbach and Miller 2011) and scales all three by
  ``G_min/(G_min-1)`` (reghdfe, ivreg2, fixest's default), t with ``G_min - 1`` df.
  ``Cluster(..., small_sample=False)`` gives CR0 with normal inference: R plm's
  ``vcovHC(method="arellano", type="HC0")`` for ``Cluster(entity)``. linearmodels'
  ``cov_type="clustered", debiased=True, group_debias=True`` gives CR1 when it does not
  count the effects (``count_effects=False``).
* Driscoll-Kraay: Bartlett weights ``1 - j/(lags+1)`` on the autocovariances of the
  period sums of the scores, ``j`` counting calendar periods (a period absent from the
  sample has a zero sum; see :func:`kernels.driscoll_kraay_meat`), factor ``N/(N-K-A)``
  (linearmodels' ``debiased=True``), t with ``T - 1`` df, T the periods observed
  (``xtscc``).
* Conley: no small-sample factor and normal inference, as in Conley (1999), Hsiang (2010)
  and ``reg2hdfespatial``.
* ml, hessian: normal inference (:mod:`spillover.inference.ml_vcov`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from spillover._typing import FloatArray, IntArray
from spillover.errors import SpecificationError
from spillover.inference import kernels
from spillover.inference._vcov_options import Cluster, Conley, DriscollKraay, VcovSpec
from spillover.inference.conley import conley_meat
from spillover.inference.ml_vcov import MLInputs
from spillover.inference.registry import (
    Covariance,
    Named,
    Need,
    compute_vcov,
    register,
    resolve_vcov,
)

__all__ = [
    "LEAST_SQUARES",
    "Cluster",
    "Conley",
    "Covariance",
    "DriscollKraay",
    "MLInputs",
    "VcovInputs",
    "VcovSpec",
    "absorbed_df",
    "compute_vcov",
    "resolve_vcov",
]

#: What :class:`VcovInputs` gives the kernels: least squares on panel rows.
LEAST_SQUARES = frozenset({Need.SCORES, Need.GROUPS, Need.TIME, Need.COORDS})


@dataclass(frozen=True)
class VcovInputs:
    """Everything a least-squares covariance estimator needs, as arrays from the fit.

    Attributes
    ----------
    x : ndarray (n, K)
        Transformed regressors (demeaned, quasi-demeaned, differenced; first-stage fitted
        values for IV).
    resid : ndarray (n,)
        Residuals of the transformed model (structural residuals for IV).
    scores : ndarray (n, m)
        Score contributions: ``x * resid``, or stacked systems such as the first-stage
        equations of IV (m columns matching ``bread``; K stays ``x.shape[1]``).
    bread : ndarray (m, m)
        ``(x'x)^-1``.
    absorbed : int
        A: degrees of freedom absorbed by effects beyond the intercept.
    effects : Mapping[str, ndarray]
        Integer codes of each absorbed effect set, for the nesting rule of clusters.
    groups : Callable[[str], ndarray]
        Returns the label of each observation for a column / index level name.
    time : ndarray (n,)
        Calendar period numbers (:func:`spillover._calendar.period_numbers`): differences
        count periods, gaps included; empty unless a kernel needs time.
    entity : ndarray (n,)
        Entity codes; empty unless a kernel needs time.
    coords : Callable[[Conley], tuple[ndarray, str, float]] or None
        Per-observation coordinates, metric and the cutoff in coordinate units.
    spatial_meat : Callable[[Conley], ndarray] or None
        The Conley meat (:func:`~spillover.inference.conley.conley_meat`'s sum) computed
        by the fit itself, when its rows are not in memory (the DuckDB backend); the
        kernel then reads neither ``scores`` nor ``coords``.
    absorbed_without : Callable[[Sequence[str]], int] or None
        A recounted without the named effect sets (those nested in clusters).
    known_scale : bool
        True for a likelihood with known scale (Poisson): ``bread`` is the inverse Hessian
        and ``"unadjusted"`` is ``bread (N - 1) / (N - K - A)`` (fixest and pyfixest for
        GLMs) instead of ``s^2 bread``.
    nobs : int or None
        N of the small-sample factors and degrees of freedom when it is not the number of
        rows: ``sum(w)`` under frequency weights. None: ``len(x)``.
    frequency_weights : ndarray or None
        Frequency weights w of the rows, if any. With regression weights ``x`` and ``resid``
        are scaled by ``sqrt(w)``, so ``scores`` are ``w x e``; the heteroskedasticity-
        robust meat of frequency weights is ``sum_i w_i e_i^2 x_i x_i'`` (each of the w_i
        copies of row i counted once, pyfixest's ``fweights``), i.e. ``scores`` divided by
        ``sqrt(w)``. Cluster, Driscoll-Kraay and Conley meats use ``scores`` as they are,
        which equals the meat on the data with rows repeated.

    Raises
    ------
    SpecificationError
        If no residual degrees of freedom are left (N - K - A <= 0).
    """

    x: FloatArray
    resid: FloatArray
    scores: FloatArray
    bread: FloatArray
    absorbed: int
    effects: Mapping[str, IntArray]
    groups: Callable[[str], np.ndarray]
    time: IntArray
    entity: IntArray
    coords: Callable[[Conley], tuple[FloatArray, str, float]] | None = None
    spatial_meat: Callable[[Conley], FloatArray] | None = None
    absorbed_without: Callable[[Sequence[str]], int] | None = None
    known_scale: bool = False
    nobs: int | None = None
    frequency_weights: FloatArray | None = None

    def __post_init__(self) -> None:
        if self.residual_df <= 0:
            n, k = self.n_obs, self.x.shape[1]
            raise SpecificationError(
                f"no residual degrees of freedom: {n} observations, {k} coefficients and "
                f"{self.absorbed} absorbed effects."
            )

    @property
    def n_obs(self) -> int:
        """N: the rows, or ``sum(w)`` under frequency weights."""
        return len(self.x) if self.nobs is None else self.nobs

    @property
    def residual_df(self) -> int:
        """N - K - A, the residual degrees of freedom of the transformed regression."""
        return self.n_obs - self.x.shape[1] - self.absorbed

    def hc_meat(self) -> FloatArray:
        """Heteroskedasticity-robust meat: sum of squared scores (per copy under fweights)."""
        if self.frequency_weights is None:
            return kernels.hc_meat(self.scores)
        return kernels.hc_meat(self.scores / np.sqrt(self.frequency_weights)[:, None])


@register("unadjusted", needs={Need.SCORES}, aliases=("classical", "iid"))
def unadjusted(spec: Named, inp: VcovInputs) -> Covariance:
    """Classical: ``s^2 (X'X)^-1``, ``s^2 = u'u / (N - K - A)``, t with ``N - K - A`` df.

    With a known scale (Poisson): the inverse Hessian times ``(N - 1) / (N - K - A)``.
    """
    df = inp.residual_df
    s2 = (inp.n_obs - 1) / df if inp.known_scale else inp.resid @ inp.resid / df
    return Covariance((s2 * inp.bread + (s2 * inp.bread).T) / 2, "unadjusted", df)


@register("robust", needs={Need.SCORES}, aliases=("hc1", "hetero"))
def robust(spec: Named, inp: VcovInputs) -> Covariance:
    """HC1: White's sandwich times ``N / (N - K - A)``, t with ``N - K - A`` df."""
    df = inp.residual_df
    cov = kernels.sandwich(inp.bread, inp.hc_meat(), inp.n_obs / df)
    return Covariance(cov, "robust (HC1)", df)


@register("hc0", needs={Need.SCORES})
def hc0(spec: Named, inp: VcovInputs) -> Covariance:
    """HC0: White's sandwich without a factor, t with ``N - K - A`` df."""
    cov = kernels.sandwich(inp.bread, inp.hc_meat(), 1.0)
    return Covariance(cov, "robust (HC0)", inp.residual_df)


@register("cluster", needs={Need.SCORES, Need.GROUPS}, option=Cluster)
def cluster(spec: Cluster, inp: VcovInputs) -> Covariance:
    """CR1, one- or two-way (Cameron, Gelbach and Miller 2011).

    Factor ``G/(G-1) * (N-1)/(N-K-A*)``, t with ``G - 1`` df, ``A*`` leaving out effects
    nested in a cluster variable; two-way uses ``G_min``. ``small_sample=False``: CR0 with
    normal inference.
    """
    n, k = inp.n_obs, inp.x.shape[1]
    labels = [kernels.codes(inp.groups(b)) for b in spec.by]
    for name, (code, _) in zip(spec.by, labels, strict=True):
        if (code < 0).any():
            raise SpecificationError(
                f"cluster variable {name!r} has {int((code < 0).sum())} missing values; "
                "fill or drop those rows explicitly."
            )
    nested = [
        name for name, fe in inp.effects.items() if any(_is_nested(fe, code) for code, _ in labels)
    ]
    absorbed = inp.absorbed
    if nested and inp.absorbed_without is not None:
        absorbed = inp.absorbed_without(nested)
    g_min = min(g for _, g in labels)
    if g_min < 2:
        raise SpecificationError(f"clustering by {spec.by} needs at least 2 clusters.")
    scores = inp.scores
    meat = kernels.cluster_meat(scores, labels[0][0])
    if len(labels) == 2:
        both = kernels.pair_codes(labels[0][0], labels[1][0])
        meat = (
            meat + kernels.cluster_meat(scores, labels[1][0]) - kernels.cluster_meat(scores, both)
        )
    by = ", ".join(spec.by)
    if not spec.small_sample:
        return Covariance(kernels.sandwich(inp.bread, meat), f"cluster ({by}), CR0", None)
    scale = g_min / (g_min - 1) * (n - 1) / (n - k - absorbed)
    return Covariance(kernels.sandwich(inp.bread, meat, scale), f"cluster ({by}), CR1", g_min - 1)


def _is_nested(effect: IntArray, cluster: IntArray) -> bool:
    """True if every level of ``effect`` lies inside a single cluster."""
    owner = np.empty(int(effect.max()) + 1, dtype=np.int64)
    owner[effect] = cluster
    return bool((owner[effect] == cluster).all())


@register(
    "driscoll-kraay",
    needs={Need.SCORES, Need.TIME},
    option=DriscollKraay,
    usage="DriscollKraay(lags=...)",
)
def driscoll_kraay(spec: DriscollKraay, inp: VcovInputs) -> Covariance:
    """Bartlett-weighted period sums of the scores (lags in calendar periods), factor
    ``N/(N-K-A)``, t with T - 1 df, T the periods observed."""
    n_periods = len(np.unique(inp.time))
    span = int(inp.time.max() - inp.time.min()) + 1  # calendar periods, gaps included
    if spec.lags >= span:
        raise SpecificationError(
            f"DriscollKraay lags={spec.lags} must be below the {span} calendar periods "
            f"from the first to the last period ({n_periods} observed)."
        )
    meat = kernels.driscoll_kraay_meat(inp.scores, inp.time, spec.lags)
    cov = kernels.sandwich(inp.bread, meat, inp.n_obs / inp.residual_df)
    return Covariance(cov, f"Driscoll-Kraay ({spec.lags} lags)", n_periods - 1)


@register(
    "conley",
    needs={Need.SCORES, Need.TIME, Need.COORDS},
    option=Conley,
    usage="Conley(cutoff_km=...)",
)
def conley(spec: Conley, inp: VcovInputs) -> Covariance:
    """Spatial + serial HAC (:func:`~spillover.inference.conley.conley_meat`), no factor, normal."""
    if inp.spatial_meat is not None:
        meat = inp.spatial_meat(spec)
    elif inp.coords is None:
        raise SpecificationError("this model has no coordinates for Conley standard errors.")
    else:
        coords, metric, cutoff = inp.coords(spec)
        meat = conley_meat(
            inp.scores,
            coords,
            entity=inp.entity,
            time=inp.time,
            cutoff=cutoff,
            metric=metric,
            kernel=spec.kernel,
            lags=spec.lags,
        )
    label = f"Conley ({spec.cutoff_km:g} km, {spec.kernel}, {spec.lags} lags)"
    return Covariance(kernels.sandwich(inp.bread, meat), label, None)


def absorbed_df(effects: Sequence[IntArray], *, intercept: bool = True) -> int:
    """Degrees of freedom absorbed by effect sets, beyond an intercept if there is one.

    The first two sets are counted exactly: levels minus the number of connected
    components of their bipartite graph (Abowd, Creecy and Kramarz 2002), as reghdfe
    does. Every further set loses one redundant level (reghdfe's conservative count for
    three or more sets, which can overstate the absorbed df when more are redundant).
    """
    if not effects:
        return 0
    total = len(np.unique(effects[0]))
    if len(effects) >= 2:
        a, b = kernels.codes(effects[0])[0], kernels.codes(effects[1])[0]
        total += int(b.max()) + 1 - _components(a, b)
    for extra in effects[2:]:
        total += len(np.unique(extra)) - 1
    return total - 1 if intercept else total


def _components(a: IntArray, b: IntArray) -> int:
    """Connected components of the bipartite graph linking levels of a and b."""
    na = int(a.max()) + 1
    nb = int(b.max()) + 1
    graph = sp.csr_array((np.ones(len(a)), (a, b + na)), shape=(na + nb, na + nb))
    return int(connected_components(graph, directed=False)[0])


def frame_groups(frame: pd.DataFrame) -> Callable[[str], np.ndarray]:
    """Label lookup by column or index level name, with an error listing what exists."""

    def get(name: str) -> np.ndarray:
        if name in frame.columns:
            return frame[name].to_numpy()
        if name in (frame.index.names or []):
            return frame.index.get_level_values(name).to_numpy()
        raise SpecificationError(
            f"cannot cluster by {name!r}: not a column or index level; available: "
            f"{list(frame.index.names) + list(frame.columns)[:12]}."
        )

    return get
