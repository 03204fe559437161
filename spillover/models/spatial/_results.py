"""SpatialResults: Results plus the spatial parameters, likelihood and effects."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
import pandas as pd

from spillover.errors import SpecificationError
from spillover.models._results import Results
from spillover.models.spatial._family import get_family
from spillover.weights import Weights


@dataclass(frozen=True, eq=False)
class SpatialResults(Results):
    """Fitted spatial panel model (SAR, SEM, SDM, SDEM or SAC).

    Extra attributes
    ----------------
    family : str
        ``"sar"``, ``"sem"``, ``"sdm"``, ``"sdem"`` or ``"sac"``.
    weights : Weights
        W in the panel's entity order, as used in the fit.
    logdet_method : str
        Kernel of the log-determinant (``"eigen"``, ``"lu"``, ``"chebyshev"``, ``"mc"``).
    vcov_full : pandas.DataFrame
        Covariance of ``params`` and ``sigma2`` (the last row/column).
    durbin : tuple of str
        Regressors x whose spatial lag ``W_x`` is in ``params``.
    weights_by_period : tuple of Weights or None
        ``W_t`` per period (sorted periods) when the model was fitted with one W per
        period; ``weights`` is then None.
    logdet_traces : PowerTraces or None
        tr(W^k) computed by a Barry-Pace log-determinant (exact or Monte Carlo, with
        standard errors); ``impacts()`` reuses them instead of drawing new probes.

    With an approximate log-determinant, ``fit_stats`` has ``logdet_error_<p>``: a bound on
    the error of the Jacobian term of spatial parameter p in the log-likelihood at the
    estimate, and ``logdet_shift_<p>``: the resulting bound on the distance of p from the
    estimate with the exact log-determinant, to first order, ``|d error / d p| Var(p)``
    (the maximiser moves by the error of the score over the curvature, 1 / Var(p) for the
    profile likelihood); for the Barry-Pace series both hold with the probability given in
    ``info["Log-determinant"]`` (its Monte Carlo interval plus a truncation bound). For
    the Chebyshev kernel ``logdet_error_<p>`` bounds the interpolation error alone, not
    that of its Monte Carlo traces, and there is no ``logdet_shift_<p>``.
    """

    family: str = ""
    weights: Weights | None = field(default=None, repr=False)
    logdet_method: str = ""
    vcov_full: pd.DataFrame | None = field(default=None, repr=False)
    durbin: tuple[str, ...] = ()
    weights_by_period: tuple[Weights, ...] | None = field(default=None, repr=False)
    logdet_traces: Any = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        """Fields for pickling, W kept light: its defining fields without what it caches.

        ``impacts()`` needs only the matrix; anything a Weights derives and caches (a
        factorisation, a log-determinant closure) is rebuilt on demand after loading.
        """
        state = super().__getstate__()
        light: dict[int, Weights] = {}
        state["weights"] = _light(state["weights"], light)
        if state["weights_by_period"] is not None:
            state["weights_by_period"] = tuple(_light(w, light) for w in state["weights_by_period"])
        return state

    @property
    def rho(self) -> float:
        """Spatial lag coefficient (``params["rho"]``)."""
        return self._spatial("rho")

    @property
    def lambda_(self) -> float:
        """Spatial error coefficient (``params["lambda"]``)."""
        return self._spatial("lambda")

    @property
    def loglik(self) -> float:
        """Maximised log-likelihood (of the transformed model; see the estimator's Notes)."""
        return float(self.fit_stats["loglik"])

    @property
    def sigma2(self) -> float:
        return float(self.fit_stats["sigma2"])

    def _spatial(self, name: str) -> float:
        if name not in self.params.index:
            raise SpecificationError(f"a {self.family.upper()} model has no {name!r} parameter.")
        return float(self.params[name])

    def impacts(
        self,
        *,
        method: Literal["simulation", "delta"] = "simulation",
        draws: int = 1000,
        seed: int | None = None,
        progress: bool = False,
        **options: Any,
    ) -> pd.DataFrame:
        """Average direct, indirect and total effects (LeSage and Pace 2009) with SEs.

        Parameters
        ----------
        method : {"simulation", "delta"}, default "simulation"
            Standard errors by simulating the parameters from N(params, vcov), or by the
            delta method.
        draws : int, default 1000
        seed : int, optional
        progress : bool, default False
        **options
            Passed to :func:`spillover.inference.impacts.impacts` (``traces``, ``order``,
            ``level``, ``trace_draws``).

        Returns
        -------
        pandas.DataFrame
            One row per (variable, effect); see :func:`spillover.inference.impacts.impacts`.

        Raises
        ------
        SpecificationError
            For the SEM, whose effects are its coefficients (direct = beta, indirect = 0).

        Notes
        -----
        With one weights matrix per period the effects are averages over periods of the
        per-period effects matrices ``S_t = (I - rho W_t)^-1 (beta I + theta W_t)``; see
        :func:`spillover.inference.impacts.impacts`.
        """
        return get_family(self.family).impacts(
            self, method=method, draws=draws, seed=seed, progress=progress, **options
        )


def logdet_stats(fit: Any, vcov: pd.DataFrame) -> dict[str, float]:
    """``logdet_error_<p>`` and ``logdet_shift_<p>`` of an approximate log-determinant."""
    out: dict[str, float] = {}
    for name, (value, slope) in fit.logdet_errors.items():
        out[f"logdet_error_{name}"] = float(value)
        if np.isfinite(slope):  # not for Chebyshev, whose slope error is not bounded
            out[f"logdet_shift_{name}"] = float(slope * vcov.loc[name, name])
    return out


def logdet_text(fit: Any, vcov: pd.DataFrame) -> str:
    """The kernel, and for approximations the error bounds at the estimates."""
    stats = logdet_stats(fit, vcov)
    if not stats:
        return str(fit.logdet_description)
    parts = []
    for p in fit.logdet_errors:
        shift, error = stats.get(f"logdet_shift_{p}", np.nan), stats[f"logdet_error_{p}"]
        if np.isfinite(shift):
            parts.append(f"{p}: loglik error <= {error:.2g}, {p} within {shift:.2g} of exact")
        else:  # Chebyshev: the interpolation error only
            parts.append(
                f"{p}: interpolation error of the loglik <= {error:.2g} (trace error and "
                f"shift of {p} not bounded)"
            )
    level = fit.logdet_level
    prob = f" ({level:.0%} bound)" if level < 1 else ""
    return f"{fit.logdet_description}; {'; '.join(parts)}{prob}"


def _light(w: Weights | None, done: dict[int, Weights]) -> Weights | None:
    """A copy of ``w`` holding only its dataclass fields (shared copies stay shared)."""
    if w is None:
        return None
    if id(w) not in done:
        copy = object.__new__(type(w))
        copy.__dict__.update({f.name: getattr(w, f.name) for f in fields(w)})
        done[id(w)] = copy
    return done[id(w)]
