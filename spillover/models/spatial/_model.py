"""SpatialModel: the configure-once, fit-many base of the spatial ML families."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._validate import preview, user_stacklevel
from spillover.errors import SpecificationError, WeightsAssumptionWarning, WeightsError
from spillover.inference.registry import Covariance, compute_vcov, supported_by
from spillover.linalg.logdet import (
    LogDeterminant,
    LogdetMethod,
    log_determinant,
    single_blas_thread,
)
from spillover.linalg.matrix import SpatialMatrix
from spillover.models._estimator import Estimator
from spillover.models.spatial._data import (
    BIAS_CORRECTIONS,
    EFFECTS,
    build,
    spatial_weights,
    transform_for,
)
from spillover.models.spatial._family import Family, Fit, get_family
from spillover.models.spatial._periods import combined_logdet
from spillover.models.spatial._results import SpatialResults, logdet_stats, logdet_text
from spillover.models.spatial.random_error import check_time_demeaning
from spillover.panel import Panel, as_panel
from spillover.weights import Weights, WeightsByPeriod, is_by_period

SpatialVcov = Literal["ml", "hessian"]
_LOGDET = ("auto", "eigen", "lu", "chebyshev", "mc")


class SpatialModel(Estimator):
    """Configuration and fit shared by every spatial ML family (not used directly).

    A subclass names its family (``family = "sar"``), registered in
    :mod:`spillover.models.spatial._family`; everything family-specific (spatial
    parameters, accepted effects and weights, estimation, effects) comes from there.
    """

    family: ClassVar[str] = ""
    default_vcov: ClassVar[Any] = "ml"

    def __init__(
        self,
        formula: str,
        panel: Panel | pd.DataFrame,
        *,
        w: Any,
        effects: Literal["entity", "time", "twoway", "none", "random"] = "entity",
        bias_correction: Literal["lee-yu"] | None = "lee-yu",
        logdet: LogdetMethod = "auto",
        time_effects: bool = False,
    ) -> None:
        durbin: bool | Sequence[str] = getattr(self, "_durbin_request", False)
        panel = as_panel(panel)
        _check_time_effects(effects, time_effects)
        _check_option("effects", effects, EFFECTS)
        _check_option("bias_correction", bias_correction, BIAS_CORRECTIONS)
        _check_option("logdet", logdet, _LOGDET)
        spec = self._spec()
        by_period = is_by_period(w)
        spec.check(effects=effects, by_period=by_period, bias_correction=bias_correction)
        if effects in ("entity", "twoway", "random") and panel.n_periods < 2:
            raise SpecificationError(
                f"effects={effects!r} needs at least two periods; this panel has "
                f"{panel.n_periods}. Use effects='none' for a cross-section."
            )
        self.formula = formula
        self.panel = panel
        self.effects = effects
        self.time_effects = bool(time_effects)
        self.bias_correction = bias_correction
        self.logdet = logdet
        if by_period:
            _check_by_period(effects, bias_correction)
        self.weights: Weights | WeightsByPeriod = spatial_weights(w, panel)
        _check_model_weights(self._matrices(), self._ids())
        if self.time_effects and "lambda" in spec.spatial_params:
            check_time_demeaning(self.weights.matrix)
        self.data = build(
            formula,
            panel,
            self.weights,
            effects=_demeaning(effects, self.time_effects),
            durbin=durbin,
            error="lambda" in spec.spatial_params,
            lag_y="rho" in spec.spatial_params,
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

    def _ids(self) -> pd.Index:
        w = self.weights
        return next(iter(w.values())).ids if isinstance(w, WeightsByPeriod) else w.ids

    def _operator(self) -> Any:
        """What the likelihood applies as W: the Weights (a SpatialMatrix, whose cached
        facts the variance reuses), or the PeriodMatrices."""
        w = self.weights
        return w.matrices if isinstance(w, WeightsByPeriod) else w

    def _logdet(self, seed: int, *, order: int = 60) -> LogDeterminant:
        """The log-determinant of W; ``order``: terms of a Barry-Pace series (a fit that
        refines it at the estimate, :meth:`LogDeterminant.refined`, starts with
        ``SERIES_START_ORDER``); other kernels ignore it."""
        opts = {"method": self.logdet, "seed": seed, "order": order}
        w = self.weights
        if isinstance(w, WeightsByPeriod):
            parts = w.matrices.distinct
            return combined_logdet([(log_determinant(m, **opts), c) for m, c in parts])
        return log_determinant(w, **opts)

    @classmethod
    def _spec(cls) -> Family:
        return get_family(cls.family)

    def fit(
        self, vcov: SpatialVcov | str = "ml", *, probes: int | None = None, seed: int = 0
    ) -> SpatialResults:
        """Maximum likelihood fit.

        Parameters
        ----------
        vcov : {"ml", "hessian"}, default "ml"
            ``"ml"``: inverse of the expected (analytic) information matrix, as spreg and
            Elhorst's routines report. ``"hessian"``: inverse of minus the numerical Hessian
            of the log-likelihood (observed information), as splm's ``Hess=TRUE``.
        probes : int, optional
            Rademacher probes for the traces in the information matrix where exact traces
            cost too much (``info["Traces"]`` says which were used and how precise the
            SEs are); default 30, or 10 when N > 100,000.
        seed : int, default 0
            Seed of those probes and of Monte Carlo log-determinant traces.

        Returns
        -------
        SpatialResults
        """
        return super().fit(vcov, probes=probes, seed=seed)  # type: ignore[return-value]

    def _fit(self, spec: Any, *, probes: int | None = None, seed: int = 0) -> SpatialResults:
        family = self._spec()
        with single_blas_thread():  # see single_blas_thread: threaded BLAS thrashes here
            fit = family.estimate(self, probes=probes, seed=seed)
            return self._results(family, fit, compute_vcov(spec, fit.vcov_inputs))

    @property
    def supported_vcov(self) -> tuple[str, ...]:
        """Names of the registered covariances this model accepts (from its family)."""
        return supported_by(self._spec().vcov_provides)

    # ------------------------------------------------------------------ results
    def _results(self, spec: Family, fit: Fit, cov: Covariance) -> SpatialResults:
        names = list(fit.names)
        params = pd.Series(fit.values, index=names, name="coef")
        labels = [*names, *(a for a, _ in fit.auxiliary), "sigma2"]
        vfull = pd.DataFrame(cov.matrix, index=labels, columns=labels)
        d, panel = self.data, self.panel
        k = len(labels)  # coefficients, auxiliary parameters (phi) and sigma^2
        n = self.transform.nobs
        fitted = fit.fitted
        y = d.y if fit.y is None else fit.y
        corr = np.corrcoef(y, fitted)[0, 1] if np.std(fitted) > 0 else np.nan
        fe = fixed_effect_names(self.effects, panel, self.time_effects)
        w = self.weights
        by_period = isinstance(w, WeightsByPeriod)
        return SpatialResults(
            params=params,
            vcov=vfull.loc[names, names],
            nobs=len(d.y),
            df_resid=None,
            vcov_name=cov.name,
            model=spec.title,
            dependent=d.dependent,
            fixed_effects=fe,
            n_entities=panel.n_entities,
            n_periods=panel.n_periods,
            fit_stats={
                "loglik": fit.loglik,
                "aic": -2 * fit.loglik + 2 * k,
                "bic": -2 * fit.loglik + np.log(n) * k,
                "sigma2": fit.sigma2,
                "r2_pseudo": float(corr**2),
                "mean_y": float(np.mean(d.y)),
                **fit.fit_stats,
                **{f"{a}_se": float(np.sqrt(vfull.loc[a, a])) for a, _ in fit.auxiliary},
                **logdet_stats(fit, vfull),
            },
            info={
                "Weights": _weights_text(w),
                "Log-determinant": logdet_text(fit, vfull),
                "Bias correction": _bias_text(self.effects, self.bias_correction),
                **fit.notes,
            },
            residuals=pd.Series(fit.residuals, index=d.index, name="residual"),
            fitted=pd.Series(fitted, index=d.index, name="fitted"),
            family=spec.key,
            weights=None if by_period else w,
            weights_by_period=tuple(w.values()) if by_period else None,
            logdet_method=fit.logdet_method,
            vcov_full=vfull,
            durbin=tuple(c[2:] for c in d.durbin),
            logdet_traces=fit.logdet_traces,
        )


class DurbinModel(SpatialModel):
    """Base of the Durbin families (SDM, SDEM): ``durbin=`` picks the lagged regressors."""

    def __init__(
        self,
        formula: str,
        panel: Panel | pd.DataFrame,
        *,
        w: Any,
        effects: Literal["entity", "time", "twoway", "none", "random"] = "entity",
        bias_correction: Literal["lee-yu"] | None = "lee-yu",
        logdet: LogdetMethod = "auto",
        durbin: bool | Sequence[str] = True,
        time_effects: bool = False,
    ) -> None:
        self._durbin_request = durbin
        super().__init__(
            formula,
            panel,
            w=w,
            effects=effects,
            bias_correction=bias_correction,
            logdet=logdet,
            time_effects=time_effects,
        )


def fixed_effect_names(effects: str, panel: Panel, time_effects: bool) -> tuple[str, ...]:
    """What ``fixed_effects`` lists: the effect variables (random ones marked as such)."""
    random = (f"{panel.entity_name} (random)",) + (panel.time_name,) * time_effects
    return {
        "entity": (panel.entity_name,),
        "time": (panel.time_name,),
        "twoway": (panel.entity_name, panel.time_name),
        "random": random,
    }.get(effects, ())


def _demeaning(effects: str, time_effects: bool) -> str:
    """Effects removed when the data are built: random effects are quasi-demeaned later,
    after the period means are removed when there are fixed time effects."""
    if effects == "random":
        return "time" if time_effects else "none"
    return effects


def _check_time_effects(effects: str, time_effects: bool) -> None:
    if time_effects and effects != "random":
        raise SpecificationError(
            f"time_effects=True adds fixed time effects to random entity effects "
            f"(effects='random'); with effects={effects!r} use effects='time' or 'twoway' "
            "for fixed time effects."
        )


def _weights_text(w: Weights | WeightsByPeriod) -> str:
    if isinstance(w, WeightsByPeriod):
        m = w.matrices
        return f"one W per period ({len(m.groups)} distinct over {len(w)}, N={m.n})"
    return f"{w.name or 'W'} ({w.transform}, N={w.n})"


def _check_by_period(effects: str, bias: str | None) -> None:
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


def _check_model_weights(spatial: list[SpatialMatrix], ids: pd.Index) -> None:
    """Refuse self-links; state islands and negative weights (the model's assumptions)."""
    matrices = [s.matrix for s in spatial]
    for m in matrices:
        self_linked = ids[np.flatnonzero(m.diagonal())]
        if len(self_linked):
            raise WeightsError(
                f"W links {len(self_linked)} entities to themselves (non-zero diagonal), e.g. "
                f"{preview(self_linked)}; a spatial lag averages the other units only. Use "
                "w.without_self_links(), or build W without them."
            )
    islands = np.unique(np.concatenate([np.flatnonzero(np.diff(m.indptr) == 0) for m in matrices]))
    if len(islands):
        warnings.warn(
            f"W has {len(islands)} entities without neighbours (islands), e.g. "
            f"{preview(ids[islands])}: their spatial lag is zero, so they give and receive no "
            "spillover and rho and lambda are identified from the other units only. Drop "
            "them (w.check_islands('drop') and panel.subset(entities=w.ids)) or connect them "
            "(e.g. k-nearest-neighbour weights) if that is not intended.",
            WeightsAssumptionWarning,
            stacklevel=user_stacklevel(2),
        )
    negative = np.unique(np.concatenate([_rows_below_zero(m) for m in matrices]))
    if len(negative):
        warnings.warn(
            f"W has negative weights in {len(negative)} rows, e.g. {preview(ids[negative])}; "
            "spatial weights are non-negative by convention. The estimates are the model's "
            "with this W, the parameter space taken from its eigenvalues.",
            WeightsAssumptionWarning,
            stacklevel=user_stacklevel(2),
        )


def _rows_below_zero(m: sp.csr_array) -> np.ndarray:
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    return np.unique(rows[m.data < 0])


def _bias_text(effects: str, bias: str | None) -> str:
    if effects == "none":
        return "none (no fixed effects)"
    if effects == "random":
        return "none (random effects ML)"
    return "Lee-Yu (2010) transformation" if bias else "none (direct ML)"


def _check_option(name: str, value: Any, valid: tuple[Any, ...]) -> None:
    if value not in valid:
        raise SpecificationError(f"{name}={value!r} is not valid; use one of {preview(valid)}.")
