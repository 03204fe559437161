"""SpatialModel: the configure-once, fit-many base of the spatial ML families."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from spillover._validate import preview
from spillover.errors import SpecificationError
from spillover.linalg.logdet import (
    LogDeterminant,
    LogdetMethod,
    log_determinant,
    single_blas_thread,
)
from spillover.linalg.matrix import SpatialMatrix
from spillover.models.spatial._core import Estimates, Likelihood
from spillover.models.spatial._data import (
    BIAS_CORRECTIONS,
    EFFECTS,
    build,
    spatial_weights,
    transform_for,
)
from spillover.models.spatial._periods import combined_logdet
from spillover.models.spatial._results import SpatialResults
from spillover.models.spatial._variance import (
    _invert,
    default_probes,
    hessian_vcov,
    information,
)
from spillover.models.spatial.random import add_phi, fit_random, random_hessian_vcov
from spillover.models.spatial.random_error import fit_random_error, random_error_vcov
from spillover.panel import Panel
from spillover.weights import Weights, WeightsByPeriod, is_by_period

SpatialVcov = Literal["ml", "hessian"]
_VCOV = ("ml", "hessian")
_VCOV_NAMES = {
    "ml": "ML, expected information",
    "hessian": "ML, numerical Hessian",
    "block": "ML, GLS for beta, numerical Hessian for (lambda, phi, sigma2)",
}
_LOGDET = ("auto", "eigen", "lu", "chebyshev", "mc")
_TITLES = {
    "sar": "Spatial lag (SAR)",
    "sem": "Spatial error (SEM)",
    "sdm": "Spatial Durbin (SDM)",
    "sdem": "Spatial Durbin error (SDEM)",
    "sac": "SAC / SARAR",
}


class SpatialModel:
    """Shared configuration and fit of the spatial ML panel families (not used directly)."""

    _family: ClassVar[str] = ""
    _lag_y: ClassVar[bool] = False
    _error: ClassVar[bool] = False

    def __init__(
        self,
        formula: str,
        panel: Panel,
        *,
        w: Any,
        effects: Literal["entity", "time", "twoway", "none", "random"] = "entity",
        bias_correction: Literal["lee-yu"] | None = "lee-yu",
        logdet: LogdetMethod = "auto",
    ) -> None:
        durbin: bool | Sequence[str] = getattr(self, "_durbin_request", False)
        _check_option("effects", effects, EFFECTS)
        _check_option("bias_correction", bias_correction, BIAS_CORRECTIONS)
        _check_option("logdet", logdet, _LOGDET)
        if effects == "random" and self._family not in ("sar", "sdm", "sem"):
            raise SpecificationError(
                "random effects are implemented for the spatial lag, Durbin and error models "
                f"(SpatialLag, SpatialDurbin, SpatialError), not {_TITLES[self._family]}; "
                "use fixed effects for this model."
            )
        if effects in ("entity", "twoway", "random") and panel.n_periods < 2:
            raise SpecificationError(
                f"effects={effects!r} needs at least two periods; this panel has "
                f"{panel.n_periods}. Use effects='none' for a cross-section."
            )
        self.formula = formula
        self.panel = panel
        self.effects = effects
        self.bias_correction = bias_correction
        self.logdet = logdet
        if is_by_period(w):
            _check_by_period(self._family, effects, bias_correction)
        self.weights: Weights | WeightsByPeriod = spatial_weights(w, panel)
        self.data = build(
            formula,
            panel,
            self.weights,
            effects="none" if effects == "random" else effects,
            durbin=durbin,
            error=self._error,
            lag_y=self._lag_y,
        )
        self.transform = transform_for(
            effects,
            bias_correction,
            panel.n_entities,
            panel.n_periods,
            all(m.is_row_standardised for m in self._matrices()),
        )

    def _matrices(self) -> list[SpatialMatrix]:
        """The distinct W (W_t) with their cached derived facts."""
        w = self.weights
        return [m for m, _ in w.matrices.distinct] if isinstance(w, WeightsByPeriod) else [w]

    def _operator(self) -> Any:
        """What the likelihood applies as W: the matrix, or the PeriodMatrices."""
        w = self.weights
        return w.matrices if isinstance(w, WeightsByPeriod) else w.matrix

    def _logdet(self, seed: int) -> LogDeterminant:
        w = self.weights
        if isinstance(w, WeightsByPeriod):
            parts = w.matrices.distinct
            return combined_logdet(
                [(log_determinant(m, method=self.logdet, seed=seed), c) for m, c in parts]
            )
        return log_determinant(w, method=self.logdet, seed=seed)

    def fit(
        self, vcov: SpatialVcov = "ml", *, probes: int | None = None, seed: int = 0
    ) -> SpatialResults:
        """Maximum likelihood fit.

        Parameters
        ----------
        vcov : {"ml", "hessian"}, default "ml"
            ``"ml"``: inverse of the expected (analytic) information matrix, as spreg and
            Elhorst's routines report. ``"hessian"``: inverse of minus the numerical Hessian
            of the log-likelihood (observed information), as splm's ``Hess=TRUE``.
        probes : int, optional
            Rademacher probes for the traces in the information matrix when N > 1,500
            (exact dense traces below); default 30, or 10 when N > 100,000.
        seed : int, default 0
            Seed of those probes and of Monte Carlo log-determinant traces.

        Returns
        -------
        SpatialResults
        """
        _check_option("vcov", vcov, _VCOV)
        with single_blas_thread():  # see single_blas_thread: threaded BLAS thrashes here
            return self._fit(vcov, probes, seed)

    def _fit(self, vcov: str, probes: int | None, seed: int) -> SpatialResults:
        ld = self._logdet(seed)
        lik = Likelihood(
            self.data,
            self.transform,
            ld,
            self._operator(),
            effects=self.effects,
            lag_y=self._lag_y,
            error=self._error,
        )
        extra: dict[str, float] = {}
        if self.effects == "random" and self._error:
            rlik, est, phi = fit_random_error(self.data, ld, self.weights.matrix)
            ld.check(est.lam, name="lambda")
            full = random_error_vcov(rlik, est, phi, vcov)
            logdet = (ld.description, ld.method)
            kind = "block" if vcov == "ml" else vcov
            return self._results(est, full, kind, logdet, {"phi": phi})
        if self.effects == "random":
            n, t = self.panel.n_entities, self.panel.n_periods
            lik, est, phi = fit_random(self.data, ld, self.weights.matrix, n, t)
            extra["phi"] = phi
        else:
            est = lik.estimates(*lik.maximise())
        rho, lam = est.rho, est.lam
        if self._lag_y:
            ld.check(rho, name="rho")
        if self._error:
            ld.check(lam, name="lambda")
        if vcov == "ml":
            draws = default_probes(self.weights.n) if probes is None else int(probes)
            info = information(lik, est, draws=draws, seed=seed)
            if extra:
                info = add_phi(info, est, extra["phi"], *self._dims())
            full = _invert(info, "information matrix")
        elif extra:
            full = random_hessian_vcov(self.data, ld, self.weights.matrix, est, extra["phi"])
        else:
            full = hessian_vcov(lik, est)
        return self._results(est, full, vcov, (ld.description, ld.method), extra)

    def _dims(self) -> tuple[int, int]:
        return self.panel.n_entities, self.panel.n_periods

    # ------------------------------------------------------------------ results
    def _param_names(self) -> list[str]:
        names = list(self.data.names)
        return names + (["rho"] if self._lag_y else []) + (["lambda"] if self._error else [])

    def _results(
        self,
        est: Estimates,
        full: np.ndarray,
        vcov: str,
        logdet: tuple[str, str],
        extra: dict[str, float],
    ) -> SpatialResults:
        ld_text, ld_method = logdet
        names = [*self._param_names(), *extra]
        values = np.concatenate(
            [
                est.beta,
                [est.rho] if self._lag_y else [],
                [est.lam] if self._error else [],
                list(extra.values()),
            ]
        )
        params = pd.Series(values, index=names, name="coef")
        labels = [*names, "sigma2"]
        vfull = pd.DataFrame(full, index=labels, columns=labels)
        d, panel = self.data, self.panel
        fitted = d.y - est.structural
        k = len(names) + 1
        n = self.transform.nobs
        corr = np.corrcoef(d.y, fitted)[0, 1] if np.std(fitted) > 0 else np.nan
        fe = {
            "entity": (panel.entity_name,),
            "time": (panel.time_name,),
            "twoway": (panel.entity_name, panel.time_name),
            "random": (f"{panel.entity_name} (random)",),
        }.get(self.effects, ())
        w = self.weights
        by_period = isinstance(w, WeightsByPeriod)
        return SpatialResults(
            params=params,
            vcov=vfull.loc[names, names],
            nobs=len(d.y),
            df_resid=None,
            vcov_name=_VCOV_NAMES[vcov],
            model=_TITLES[self._family],
            dependent=d.dependent,
            fixed_effects=fe,
            n_entities=panel.n_entities,
            n_periods=panel.n_periods,
            fit_stats={
                "loglik": est.loglik,
                "aic": -2 * est.loglik + 2 * k,
                "bic": -2 * est.loglik + np.log(n) * k,
                "sigma2": est.sigma2,
                "r2_pseudo": float(corr**2),
            },
            info={
                "Weights": _weights_text(w),
                "Log-determinant": ld_text,
                "Bias correction": _bias_text(self.effects, self.bias_correction),
            },
            residuals=pd.Series(est.structural, index=d.index, name="residual"),
            fitted=pd.Series(fitted, index=d.index, name="fitted"),
            family=self._family,
            weights=None if by_period else w,
            weights_by_period=tuple(w.values()) if by_period else None,
            logdet_method=ld_method,
            vcov_full=vfull,
            durbin=tuple(c[2:] for c in d.durbin),
        )


class DurbinModel(SpatialModel):
    """Base of the Durbin families (SDM, SDEM): ``durbin=`` picks the lagged regressors."""

    def __init__(
        self,
        formula: str,
        panel: Panel,
        *,
        w: Any,
        effects: Literal["entity", "time", "twoway", "none"] = "entity",
        bias_correction: Literal["lee-yu"] | None = "lee-yu",
        logdet: LogdetMethod = "auto",
        durbin: bool | Sequence[str] = True,
    ) -> None:
        self._durbin_request = durbin
        super().__init__(
            formula, panel, w=w, effects=effects, bias_correction=bias_correction, logdet=logdet
        )


def _weights_text(w: Weights | WeightsByPeriod) -> str:
    if isinstance(w, WeightsByPeriod):
        m = w.matrices
        return f"one W per period ({len(m.groups)} distinct over {len(w)}, N={m.n})"
    return f"{w.name or 'W'} ({w.transform}, N={w.n})"


def _check_by_period(family: str, effects: str, bias: str | None) -> None:
    if family == "sac":
        raise SpecificationError(
            "SAC with one weights matrix per period is not implemented; use SpatialLag, "
            "SpatialDurbin, SpatialError or SpatialDurbinError, or one W for all periods."
        )
    if effects == "random":
        raise SpecificationError(
            "random effects need one weights matrix for all periods; pass a single W or use "
            "fixed effects with weights by period."
        )
    if bias is not None and effects != "none":
        raise SpecificationError(
            "the Lee-Yu transformation needs one weights matrix for all periods (it mixes "
            "periods); with weights by period pass bias_correction=None (direct ML: fixed "
            "effects concentrated out, sigma^2 = SSR/(NT), sum_t log|I - rho W_t|)."
        )


def _bias_text(effects: str, bias: str | None) -> str:
    if effects in ("none", "random"):
        return "none (no fixed effects)"
    return "Lee-Yu (2010) transformation" if bias else "none (direct ML)"


def _check_option(name: str, value: Any, valid: tuple[Any, ...]) -> None:
    if value not in valid:
        raise SpecificationError(f"{name}={value!r} is not valid; use one of {preview(valid)}.")
