"""Covariance estimators chosen by one ``vcov=`` argument, and the registry resolving it.

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
=====================================  =========================  ========================

Small-sample conventions (those of Stata's ``xtreg, fe`` and ``reghdfe``)
-------------------------------------------------------------------------
N is the number of observations used, K the number of estimated coefficients *including
the intercept* (fixed-effects models report the intercept as the average effect, as
``xtreg, fe`` and linearmodels do), and A the degrees of freedom absorbed by fixed effects
beyond the intercept (levels minus redundant levels; see :func:`absorbed_df`).

* unadjusted: ``s^2 = u'u / (N - K - A)``, t with ``N - K - A`` df.
* robust (HC1): factor ``N / (N - K - A)``, t with ``N - K - A`` df (``reghdfe, vce(robust)``).
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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spillover._typing import FloatArray, IntArray
from spillover.errors import SpecificationError
from spillover.inference import kernels
from spillover.inference._vcov_options import REGISTRY as REGISTRY
from spillover.inference._vcov_options import (
    Cluster,
    Conley,
    DriscollKraay,
    VcovSpec,
    resolve_vcov,
)

__all__ = [
    "Cluster",
    "Conley",
    "DriscollKraay",
    "VcovInputs",
    "VcovSpec",
    "absorbed_df",
    "compute_vcov",
    "resolve_vcov",
]


@dataclass(frozen=True)
class VcovInputs:
    """Everything a covariance estimator needs, as arrays from the fitted model.

    Attributes
    ----------
    x : ndarray (n, K)
        Transformed regressors (demeaned, quasi-demeaned, differenced; first-stage fitted
        values for IV). Scores are ``x * resid``.
    resid : ndarray (n,)
        Residuals of the transformed model (structural residuals for IV).
    bread : ndarray (K, K)
        ``(x'x)^-1``.
    absorbed : int
        A: degrees of freedom absorbed by effects beyond the intercept.
    effects : Mapping[str, ndarray]
        Integer codes of each absorbed effect set, for the nesting rule of clusters.
    groups : Callable[[str], ndarray]
        Returns the label of each observation for a column / index level name.
    time : ndarray (n,)
        Calendar period numbers (:func:`spillover._calendar.period_numbers`): differences
        count periods, gaps included.
    entity : ndarray (n,)
        Entity codes.
    coords : Callable[[Conley], tuple[ndarray, str, float]] or None
        Per-observation coordinates, metric and the cutoff in coordinate units.
    """

    x: FloatArray
    resid: FloatArray
    bread: FloatArray
    absorbed: int
    effects: Mapping[str, IntArray]
    groups: Callable[[str], np.ndarray]
    time: IntArray
    entity: IntArray
    coords: Callable[[Conley], tuple[FloatArray, str, float]] | None = None
    absorbed_without: Callable[[Sequence[str]], int] | None = None


def compute_vcov(
    spec: Any, inp: VcovInputs, scores: FloatArray | None = None
) -> tuple[FloatArray, str, int | None]:
    """Covariance matrix, its display name and the residual df for inference.

    ``scores`` (n x m, matching ``inp.bread``) replaces ``x * resid`` for stacked systems
    such as the first-stage equations of IV; K is then ``inp.x.shape[1]``.
    """
    n, k = inp.x.shape
    df_full = n - k - inp.absorbed
    if df_full <= 0:
        raise SpecificationError(
            f"no residual degrees of freedom: {n} observations, {k} coefficients and "
            f"{inp.absorbed} absorbed effects."
        )
    if scores is None:
        scores = inp.x * inp.resid[:, None]
    name = spec.name
    if name == "unadjusted":
        s2 = inp.resid @ inp.resid / df_full
        return (s2 * inp.bread + (s2 * inp.bread).T) / 2, "unadjusted", df_full
    if name in ("robust", "hc0"):
        scale = n / df_full if name == "robust" else 1.0
        cov = kernels.sandwich(inp.bread, kernels.hc_meat(scores), scale)
        return cov, ("robust (HC1)" if name == "robust" else "robust (HC0)"), df_full
    if name == "cluster":
        return _cluster(spec, inp, scores)
    if name == "driscoll-kraay":
        n_periods = len(np.unique(inp.time))
        span = int(inp.time.max() - inp.time.min()) + 1  # calendar periods, gaps included
        if spec.lags >= span:
            raise SpecificationError(
                f"DriscollKraay lags={spec.lags} must be below the {span} calendar periods "
                f"from the first to the last period ({n_periods} observed)."
            )
        meat = kernels.driscoll_kraay_meat(scores, inp.time, spec.lags)
        cov = kernels.sandwich(inp.bread, meat, n / df_full)
        return cov, f"Driscoll-Kraay ({spec.lags} lags)", n_periods - 1
    if name == "conley":
        return _conley(spec, inp, scores)
    raise SpecificationError(f"vcov {name!r} is not computed from scores (use the ML model).")


def _cluster(spec: Cluster, inp: VcovInputs, scores: FloatArray) -> tuple[Any, str, int | None]:
    n, k = inp.x.shape
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
    meat = kernels.cluster_meat(scores, labels[0][0])
    if len(labels) == 2:
        both = kernels.pair_codes(labels[0][0], labels[1][0])
        meat = (
            meat + kernels.cluster_meat(scores, labels[1][0]) - kernels.cluster_meat(scores, both)
        )
    by = ", ".join(spec.by)
    if not spec.small_sample:
        return kernels.sandwich(inp.bread, meat), f"cluster ({by}), CR0", None
    scale = g_min / (g_min - 1) * (n - 1) / (n - k - absorbed)
    return kernels.sandwich(inp.bread, meat, scale), f"cluster ({by}), CR1", g_min - 1


def _is_nested(effect: IntArray, cluster: IntArray) -> bool:
    """True if every level of ``effect`` lies inside a single cluster."""
    owner = np.empty(int(effect.max()) + 1, dtype=np.int64)
    owner[effect] = cluster
    return bool((owner[effect] == cluster).all())


def _conley(spec: Conley, inp: VcovInputs, scores: FloatArray) -> tuple[Any, str, int | None]:
    try:
        from spillover.inference.conley import conley_meat
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SpecificationError("Conley covariance needs spillover.inference.conley.") from exc
    if inp.coords is None:
        raise SpecificationError("this model has no coordinates for Conley standard errors.")
    coords, metric, cutoff = inp.coords(spec)
    meat = conley_meat(
        scores,
        coords,
        entity=inp.entity,
        time=inp.time,
        cutoff=cutoff,
        metric=metric,
        kernel=spec.kernel,
        lags=spec.lags,
    )
    label = f"Conley ({spec.cutoff_km:g} km, {spec.kernel}, {spec.lags} lags)"
    return kernels.sandwich(inp.bread, meat), label, None


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
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

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
