"""The static families (SAR, SEM, SDM, SDEM, SAC): one concentrated likelihood, two flags.

Every static family is ``B (A y - X beta) = eps`` with ``A = I - rho W`` when the family
lags y and ``B = I - lambda W`` when it has a spatial error (:mod:`._core`); Durbin
families differ only in their design (``W X`` columns, chosen by the model's
``durbin=``). Random effects are the quasi-demeaned lag likelihood (:mod:`.random`) or
the random effects spatial error likelihood (:mod:`.random_error`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from spillover.errors import SpecificationError
from spillover.inference.impacts import impacts as spatial_impacts
from spillover.inference.ml_vcov import MLInputs
from spillover.models.spatial._core import Estimates, Likelihood
from spillover.models.spatial._family import Family, Fit, ModelView
from spillover.models.spatial._variance import default_probes, information
from spillover.models.spatial.random import (
    add_phi,
    fit_random,
    quasi_demeaned,
    random_loglik,
    variance_components,
)
from spillover.models.spatial.random_error import fit_random_error, gls_beta_vcov

#: Initial order of the Barry-Pace log-determinant series in the fixed-effects fits,
#: raised at the estimate until its truncation bound is below 1e-10 per unit (for
#: row-standardised kNN(10): 30 terms suffice at rho = 0.5, about 35 at 0.6, 170 at 0.9).
SERIES_START_ORDER = 30
_FIXED = ("entity", "time", "twoway", "none")


@dataclass(frozen=True, eq=False)
class StaticFamily(Family):
    """A static family: ``lag_y`` adds ``rho W y``, ``error`` adds ``u = lambda W u + e``.

    ``random`` says whether ``effects="random"`` is implemented (SAR and SDM through the
    quasi-demeaned lag likelihood, SEM through the random effects error likelihood).
    """

    key: str = ""
    title: str = ""
    lag_y: bool = False
    error: bool = False
    random: bool = False
    by_period: bool = True

    @property
    def spatial_params(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("rho",) * self.lag_y + ("lambda",) * self.error

    @property
    def effects(self) -> tuple[str, ...]:  # type: ignore[override]
        return (*_FIXED, "random") if self.random else _FIXED

    # ------------------------------------------------------------------ estimation
    def estimate(self, model: ModelView, *, probes: int | None, seed: int) -> Fit:
        fixed = model.effects != "random"  # the fixed effects fit refines a short series
        ld = model._logdet(seed, order=SERIES_START_ORDER) if fixed else model._logdet(seed)
        w = model.weights
        if model.effects == "random" and self.error:
            rlik, est, phi = fit_random_error(model.data, ld, w.matrix)
            ld.check(est.lam, name="lambda")
            gls = partial(gls_beta_vcov, rlik, est, phi)
            inputs = MLInputs(self._theta(est, phi), rlik.full, mean_covariance=gls)
            n = model.panel.n_entities
            star = quasi_demeaned(model.data, n, phi)  # u* = y* - X* beta (linear in u)
            est = dataclasses.replace(est, structural=star.y - star.x @ est.beta)
            return self._fit(model, est, inputs, ld, phi, y=star.y)
        if model.effects == "random":
            lik, est, phi = fit_random(model.data, ld, w.matrix, *_dims(model))
            loglik = random_loglik(model.data, ld, w.matrix)
        else:
            lik = Likelihood(
                model.data,
                model.transform,
                ld,
                model._operator(),
                effects=model.effects,
                lag_y=self.lag_y,
                error=self.error,
            )
            lik, ld, optimum = _maximise(lik, ld)
            est, phi = lik.estimates(*optimum), None
            loglik = lik.full
        if self.lag_y:
            ld.check(est.rho, name="rho")
        if self.error:
            ld.check(est.lam, name="lambda")

        notes: dict[str, str] = {}

        def expected() -> np.ndarray:
            draws = default_probes(w.n) if probes is None else int(probes)
            info = information(lik, est, draws=draws, seed=seed, note=notes)
            return info if phi is None else add_phi(info, est, phi, *_dims(model))

        inputs = MLInputs(self._theta(est, phi), loglik, information=expected)
        return dataclasses.replace(
            self._fit(model, est, inputs, ld, phi, y=lik.data.y), notes=notes
        )

    def _theta(self, est: Estimates, phi: float | None) -> np.ndarray:
        """All parameters in the order of the covariance: beta, rho, lambda, phi, sigma2."""
        return np.concatenate([self._values(est, phi), [est.sigma2]])

    def _values(self, est: Estimates, phi: float | None) -> np.ndarray:
        spatial = [est.rho] * self.lag_y + [est.lam] * self.error
        return np.concatenate([est.beta, spatial, [] if phi is None else [phi]])

    def _fit(
        self,
        model: ModelView,
        est: Estimates,
        inputs: MLInputs,
        ld: Any,
        phi: float | None,
        *,
        y: np.ndarray,
    ) -> Fit:
        """Coefficients in ``params``; phi (random effects) as an auxiliary parameter with
        the variance components in the fit statistics (see :mod:`.random`).

        ``y`` is the dependent variable of the likelihood's data (quasi-demeaned with phi
        for random effects), ``est.structural`` the residuals ``u = y - rho W y - X beta``
        of those same data; fitted values are ``y - u`` and ``r2_pseudo`` is
        ``corr(y, y - u)^2`` on them."""
        values = self._values(est, phi)
        random = phi is not None
        return Fit(
            names=(*model.data.names, *self.spatial_params),
            values=values[:-1] if random else values,
            auxiliary=(("phi", float(phi)),) if random else (),
            fit_stats=variance_components(est.sigma2, phi, _dims(model)[1]) if random else {},
            vcov_inputs=inputs,
            sigma2=est.sigma2,
            loglik=est.loglik,
            residuals=est.structural,
            fitted=y - est.structural,
            y=y,
            logdet_description=ld.description,
            logdet_method=ld.method,
            logdet_errors=self._logdet_errors(model, est, ld),
            logdet_level=ld.level,
            logdet_traces=ld.power_traces,
        )

    def _logdet_errors(
        self, model: ModelView, est: Estimates, ld: Any
    ) -> dict[str, tuple[float, float]]:
        """Error bounds of each Jacobian term ``m log|I - a W|`` and its slope at the estimate
        (approximate log-determinants only; m the likelihood's number of periods)."""
        if ld.method in ("eigen", "lu"):
            return {}
        m = model.transform.periods
        values = {"rho": est.rho} if self.lag_y else {}
        values |= {"lambda": est.lam} if self.error else {}
        return {p: (m * ld.error(v), m * ld.slope_error(v)) for p, v in values.items()}

    # ------------------------------------------------------------------ effects
    def impacts(self, results: Any, **options: Any) -> pd.DataFrame:
        """LeSage-Pace effects of ``(I - rho W)^-1 (beta I + theta W)``, averaged over W_t."""
        if not self.lag_y and not results.durbin:
            raise SpecificationError(
                "in a spatial error model the direct effects are the coefficients and the "
                "indirect effects are zero; read them from res.params (use SDEM for spillovers)."
            )
        params = results.params
        spatial = {"rho", "lambda", "Intercept"}
        xs = [p for p in params.index if p not in spatial and not p.startswith("W_")]
        durbin = [x for x in results.durbin if x in xs]
        theta = pd.Series({x: params[f"W_{x}"] for x in durbin}, dtype=float)
        kind = {"sar": "sdm", "sem": "sdem"}.get(self.key, self.key) if durbin else self.key
        if results.weights is None and results.weights_by_period is None:  # pragma: no cover
            raise SpecificationError("these results carry no weights; refit the model.")
        # One W per period: effects are the period means of S_t (see impacts' Notes). The
        # Weights themselves are passed, so their cached spectral bound is reused.
        w = results.weights_by_period if results.weights is None else results.weights
        if results.logdet_traces is not None and "traces" not in options:
            options["traces"] = results.logdet_traces  # the fit's tr(W^k): no new probes
        return spatial_impacts(
            w,
            model=kind,
            rho=float(params["rho"]) if "rho" in params.index else None,
            beta=params[xs],
            theta=theta if len(theta) else None,
            vcov=results.vcov,
            **options,
        )


def _maximise(lik: Likelihood, ld: Any) -> tuple[Likelihood, Any, tuple[float, float]]:
    """Maximise; where the log-determinant asks for more series terms at the estimates
    (:meth:`~spillover.linalg.logdet.LogDeterminant.refined`), refine it and maximise again
    (a few rounds at most: each refinement meets its truncation target at the estimate)."""
    for _ in range(4):
        rho, lam = lik.maximise()
        better = ld.refined(max(abs(rho), abs(lam)))
        if better is None:
            return lik, ld, (rho, lam)
        ld = better
        lik = Likelihood(
            lik.data, lik.transform, ld, lik.w, effects=lik.effects, lag_y=lik.lag_y,
            error=lik.error,
        )  # fmt: skip
    return lik, ld, lik.maximise()


def _dims(model: ModelView) -> tuple[int, int]:
    return model.panel.n_entities, model.panel.n_periods
