"""The static families (SAR, SEM, SDM, SDEM, SAC): one concentrated likelihood, two flags.

Every static family is ``B (A y - X beta) = eps`` with ``A = I - rho W`` when the family
lags y and ``B = I - lambda W`` when it has a spatial error (:mod:`._core`); Durbin
families differ only in their design (``W X`` columns, chosen by the model's
``durbin=``). Random effects are the quasi-demeaned lag likelihood (:mod:`.random`) or
the random effects spatial error likelihood (:mod:`.random_error`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spillover.errors import SpecificationError
from spillover.inference.impacts import impacts as spatial_impacts
from spillover.models.spatial._core import Estimates, Likelihood
from spillover.models.spatial._family import Family, Fit, ModelView
from spillover.models.spatial._variance import (
    _invert,
    default_probes,
    hessian_vcov,
    information,
)
from spillover.models.spatial.random import add_phi, fit_random, random_hessian_vcov
from spillover.models.spatial.random_error import fit_random_error, random_error_vcov

_VCOV_NAMES = {
    "ml": "ML, expected information",
    "hessian": "ML, numerical Hessian",
    "block": "ML, GLS for beta, numerical Hessian for (lambda, phi, sigma2)",
}
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
    def estimate(self, model: ModelView, vcov: str, *, probes: int | None, seed: int) -> Fit:
        ld = model._logdet(seed)
        if model.effects == "random" and self.error:
            return self._random_error(model, vcov, ld)
        extra: dict[str, float] = {}
        if model.effects == "random":
            n, t = model.panel.n_entities, model.panel.n_periods
            lik, est, phi = fit_random(model.data, ld, model.weights.matrix, n, t)
            extra["phi"] = phi
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
            est = lik.estimates(*lik.maximise())
        if self.lag_y:
            ld.check(est.rho, name="rho")
        if self.error:
            ld.check(est.lam, name="lambda")
        if vcov == "ml":
            draws = default_probes(model.weights.n) if probes is None else int(probes)
            info = information(lik, est, draws=draws, seed=seed)
            if extra:
                info = add_phi(info, est, extra["phi"], *_dims(model))
            full = _invert(info, "information matrix")
        elif extra:
            full = random_hessian_vcov(model.data, ld, model.weights.matrix, est, extra["phi"])
        else:
            full = hessian_vcov(lik, est)
        return self._fit(model, est, full, _VCOV_NAMES[vcov], ld, extra)

    def _random_error(self, model: ModelView, vcov: str, ld: Any) -> Fit:
        rlik, est, phi = fit_random_error(model.data, ld, model.weights.matrix)
        ld.check(est.lam, name="lambda")
        full = random_error_vcov(rlik, est, phi, vcov)
        name = _VCOV_NAMES["block" if vcov == "ml" else vcov]
        return self._fit(model, est, full, name, ld, {"phi": phi})

    def _fit(
        self,
        model: ModelView,
        est: Estimates,
        full: np.ndarray,
        vcov_name: str,
        ld: Any,
        extra: dict[str, float],
    ) -> Fit:
        spatial = [est.rho] * self.lag_y + [est.lam] * self.error
        return Fit(
            names=(*model.data.names, *self.spatial_params, *extra),
            values=np.concatenate([est.beta, spatial, list(extra.values())]),
            vcov_full=full,
            vcov_name=vcov_name,
            sigma2=est.sigma2,
            loglik=est.loglik,
            residuals=est.structural,
            fitted=model.data.y - est.structural,
            logdet_description=ld.description,
            logdet_method=ld.method,
        )

    # ------------------------------------------------------------------ effects
    def impacts(self, results: Any, **options: Any) -> pd.DataFrame:
        """LeSage-Pace effects of ``(I - rho W)^-1 (beta I + theta W)``, averaged over W_t."""
        if not self.lag_y and not results.durbin:
            raise SpecificationError(
                "in a spatial error model the direct effects are the coefficients and the "
                "indirect effects are zero; read them from res.params (use SDEM for spillovers)."
            )
        params = results.params
        spatial = {"rho", "lambda", "phi", "Intercept"}
        xs = [p for p in params.index if p not in spatial and not p.startswith("W_")]
        durbin = [x for x in results.durbin if x in xs]
        theta = pd.Series({x: params[f"W_{x}"] for x in durbin}, dtype=float)
        kind = {"sar": "sdm", "sem": "sdem"}.get(self.key, self.key) if durbin else self.key
        if results.weights is None and results.weights_by_period is None:  # pragma: no cover
            raise SpecificationError("these results carry no weights; refit the model.")
        # One W per period: effects are the period means of S_t (see impacts' Notes).
        w = results.weights_by_period if results.weights is None else results.weights.matrix
        return spatial_impacts(
            w,
            model=kind,
            rho=float(params["rho"]) if "rho" in params.index else None,
            beta=params[xs],
            theta=theta if len(theta) else None,
            vcov=results.vcov,
            **options,
        )


def _dims(model: ModelView) -> tuple[int, int]:
    return model.panel.n_entities, model.panel.n_periods
