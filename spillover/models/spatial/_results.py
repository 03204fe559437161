"""SpatialResults: Results plus the spatial parameters, likelihood and effects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from spillover.errors import SpecificationError
from spillover.inference.impacts import impacts as spatial_impacts
from spillover.models._results import Results
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
    """

    family: str = ""
    weights: Weights | None = field(default=None, repr=False)
    logdet_method: str = ""
    vcov_full: pd.DataFrame | None = field(default=None, repr=False)
    durbin: tuple[str, ...] = ()
    weights_by_period: tuple[Weights, ...] | None = field(default=None, repr=False)

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
        if self.family == "sem" and not self.durbin:
            raise SpecificationError(
                "in a spatial error model the direct effects are the coefficients and the "
                "indirect effects are zero; read them from res.params (use SDEM for spillovers)."
            )
        spatial = {"rho", "lambda", "phi", "Intercept"}
        xs = [p for p in self.params.index if p not in spatial and not p.startswith("W_")]
        durbin = [x for x in self.durbin if x in xs]
        theta = pd.Series({x: self.params[f"W_{x}"] for x in durbin}, dtype=float)
        model = {"sar": "sdm", "sem": "sdem"}.get(self.family, self.family) if durbin else None
        if self.weights is None and self.weights_by_period is None:  # pragma: no cover
            raise SpecificationError("these results carry no weights; refit the model.")
        # One W per period: effects are the period means of S_t (see impacts' Notes). The
        # Weights themselves are passed, so their cached spectral bound is reused.
        w = self.weights_by_period if self.weights is None else self.weights
        return spatial_impacts(
            w,
            model=model or self.family,
            rho=float(self.params["rho"]) if "rho" in self.params.index else None,
            beta=self.params[xs],
            theta=theta if len(theta) else None,
            vcov=self.vcov,
            method=method,
            draws=draws,
            seed=seed,
            progress=progress,
            **options,
        )
