"""The true measurement and structural model of the simulated cluster-learning survey."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import stats

from spillover._typing import FloatArray
from spillover.errors import SpecificationError

LEARNING = ("environment", "structure", "behaviour")
MEDIATORS = ("transfer", "transformation", "harvest")
OUTCOME = "spillover"
CONSTRUCTS = (*LEARNING, *MEDIATORS, OUTCOME)
PREFIX = MappingProxyType({
    "environment": "env", "structure": "str", "behaviour": "beh", "transfer": "ktr",
    "transformation": "kfm", "harvest": "khv", "spillover": "spl",
})  # fmt: skip


def _frozen(value: Mapping) -> Mapping:
    return MappingProxyType({k: MappingProxyType(dict(v)) if isinstance(v, Mapping) else
                             tuple(v) if isinstance(v, list | tuple) else v
                             for k, v in value.items()})  # fmt: skip


@dataclass(frozen=True)
class SurveyDesign:
    """Parameters of the simulated cluster-learning study (all latent variables have unit
    variance, so loadings and paths are standardized).

    Learning factors (environment, structure, behaviour) are standard normal with
    correlation ``factor_corr``. Mediators: M_m = sum_f a[m][f] X_f + e_m; outcome:
    spillover = sum_m b[m] M_m + sum_f direct[f] X_f + e_y; residual variances make every
    variance one. Item j of construct c: y*_j = loading_j eta_c + sqrt(1 - loading_j^2)
    e_j, cut into Likert categories by thresholds; reverse-coded items are stored as
    ``scale + 1 - category``.

    Attributes
    ----------
    loadings : mapping construct -> tuple of float
        Standardized loadings of the continuous item responses, 3 to 6 per construct.
    reverse : mapping construct -> tuple of int
        1-based positions of reverse-coded items.
    factor_corr : float, default 0.3
    a_paths : mapping mediator -> mapping factor -> float
        Default: structure has no effect on transformation or harvest (truly zero).
    b_paths : mapping mediator -> float
        Effects of the mediators on spillover.
    direct : mapping factor -> float
        Direct effects of the learning factors on spillover.
    """

    loadings: Mapping[str, tuple[float, ...]] = field(default_factory=lambda: {
        "environment": (0.80, 0.75, 0.70, 0.65), "structure": (0.80, 0.70, 0.60),
        "behaviour": (0.75, 0.75, 0.70, 0.65, 0.60), "transfer": (0.80, 0.75, 0.70, 0.70),
        "transformation": (0.75, 0.70, 0.65, 0.60), "harvest": (0.80, 0.70, 0.65),
        "spillover": (0.80, 0.75, 0.75, 0.70, 0.65, 0.60),
    })  # fmt: skip
    reverse: Mapping[str, tuple[int, ...]] = field(default_factory=lambda: {
        "environment": (3,), "behaviour": (5,), "transformation": (2,), "spillover": (6,),
    })  # fmt: skip
    factor_corr: float = 0.3
    a_paths: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: {
        "transfer": {"environment": 0.40, "structure": 0.30, "behaviour": 0.20},
        "transformation": {"environment": 0.35, "structure": 0.0, "behaviour": 0.30},
        "harvest": {"environment": 0.25, "structure": 0.0, "behaviour": 0.35},
    })  # fmt: skip
    b_paths: Mapping[str, float] = field(default_factory=lambda: {
        "transfer": 0.30, "transformation": 0.25, "harvest": 0.20,
    })  # fmt: skip
    direct: Mapping[str, float] = field(default_factory=lambda: {
        "environment": 0.10, "structure": 0.0, "behaviour": 0.0,
    })  # fmt: skip

    def __post_init__(self) -> None:
        for name in ("loadings", "reverse", "a_paths", "b_paths", "direct"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        self._check_measurement()
        if not -0.5 < self.factor_corr < 1.0:
            raise SpecificationError(f"factor_corr must be in (-0.5, 1), got {self.factor_corr}.")
        if set(self.a_paths) != set(MEDIATORS) or any(
            set(v) != set(LEARNING) for v in self.a_paths.values()
        ):
            raise SpecificationError(f"a_paths needs mediators {MEDIATORS} x factors {LEARNING}.")
        if set(self.b_paths) != set(MEDIATORS) or set(self.direct) != set(LEARNING):
            raise SpecificationError(f"b_paths needs {MEDIATORS}; direct needs {LEARNING}.")
        residual = self.residual_variances()
        if (residual <= 0).any():
            raise SpecificationError(
                f"the paths explain all the variance of {preview_bad(residual)}: make them smaller."
            )

    def _check_measurement(self) -> None:
        if set(self.loadings) != set(CONSTRUCTS):
            raise SpecificationError(f"loadings needs exactly the constructs {CONSTRUCTS}.")
        for c, lam in self.loadings.items():
            if not 3 <= len(lam) <= 6 or not all(0 < x < 1 for x in lam):
                raise SpecificationError(f"{c}: give 3 to 6 loadings, each in (0, 1); got {lam}.")
            if any(not 1 <= p <= len(lam) for p in self.reverse.get(c, ())):
                raise SpecificationError(f"{c}: reverse positions must be in 1..{len(lam)}.")
        unknown = set(self.reverse) - set(CONSTRUCTS)
        if unknown:
            raise SpecificationError(f"reverse names unknown constructs {sorted(unknown)}.")

    # ------------------------------------------------------------------ algebra
    def factor_cov(self) -> FloatArray:
        r = self.factor_corr
        return (1 - r) * np.eye(3) + r * np.ones((3, 3))

    def a_matrix(self) -> FloatArray:
        return np.array([[self.a_paths[m][f] for f in LEARNING] for m in MEDIATORS])

    def residual_variances(self) -> pd.Series:
        """Residual variances of the mediators and the outcome that give unit variances."""
        phi, a = self.factor_cov(), self.a_matrix()
        psi_m = 1.0 - np.diag(a @ phi @ a.T)
        cov = self.latent_cov(psi_m)
        coef = np.array(
            [*(self.direct[f] for f in LEARNING), *(self.b_paths[m] for m in MEDIATORS)]
        )
        psi_y = 1.0 - coef @ cov @ coef
        return pd.Series([*psi_m, psi_y], index=[*MEDIATORS, OUTCOME])

    def latent_cov(self, psi_m: FloatArray) -> FloatArray:
        """Covariance of (factors, mediators) given mediator residual variances."""
        phi, a = self.factor_cov(), self.a_matrix()
        top = np.hstack([phi, phi @ a.T])
        bottom = np.hstack([a @ phi, a @ phi @ a.T + np.diag(psi_m)])
        return np.vstack([top, bottom])

    # ------------------------------------------------------------------ truth as Series
    def item_names(self) -> dict[str, list[str]]:
        return {c: [f"{PREFIX[c]}{k}" for k in range(1, len(v) + 1)]
                for c, v in self.loadings.items()}  # fmt: skip

    def loading_series(self) -> pd.Series:
        names = self.item_names()
        values = {i: lam for c in CONSTRUCTS for i, lam in zip(names[c], self.loadings[c],
                                                                strict=True)}  # fmt: skip
        return pd.Series(values, name="loading").rename_axis("item")

    def path_series(self) -> pd.Series:
        rows = {(m, f): self.a_paths[m][f] for m in MEDIATORS for f in LEARNING}
        rows.update({(OUTCOME, m): self.b_paths[m] for m in MEDIATORS})
        rows.update({(OUTCOME, f): self.direct[f] for f in LEARNING})
        index = pd.MultiIndex.from_tuples(list(rows), names=["outcome", "predictor"])
        return pd.Series(list(rows.values()), index=index, name="path")

    def indirect_series(self) -> pd.Series:
        rows = {(f, m): self.a_paths[m][f] * self.b_paths[m] for f in LEARNING for m in MEDIATORS}
        index = pd.MultiIndex.from_tuples(list(rows), names=["factor", "mediator"])
        return pd.Series(list(rows.values()), index=index, name="indirect")

    def direct_series(self) -> pd.Series:
        return pd.Series(dict(self.direct), name="direct").rename_axis("factor")


def preview_bad(residual: pd.Series) -> list[str]:
    return list(residual.index[residual <= 0])


def category_moments(cuts: FloatArray) -> tuple[float, float]:
    """Cov(g(y), y) and sd(g(y)) for y ~ N(0, 1) and g(y) = 1 + number of cuts below y."""
    edges = np.r_[-np.inf, cuts, np.inf]
    p = np.diff(stats.norm.cdf(edges))
    dens = stats.norm.pdf(edges)
    k = np.arange(1, len(p) + 1)
    cov = float(np.sum(k * (dens[:-1] - dens[1:])))
    mean = float(np.sum(k * p))
    return cov, float(np.sqrt(np.sum(k**2 * p) - mean**2))
