"""Spatial families as an extension point: what a family declares, and the registry.

A family (SAR, SEM, SDM, SDEM, SAC, and any later one such as a dynamic panel) is one
module that builds a :class:`Family` and registers it with :func:`register_family`, plus
a model class whose ``family`` attribute names it. The model base
(:class:`~spillover.models.spatial._model.SpatialModel`) and the results read only what
is declared here: the title, the spatial parameters, which effects and weights the
family accepts, how it estimates (:meth:`Family.estimate`, returning a typed
:class:`Fit`) and how its effects are computed (:meth:`Family.impacts`). Adding a family
edits neither the base nor any name table.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from spillover._typing import FloatArray
from spillover._validate import preview
from spillover.errors import SpecificationError
from spillover.inference.ml_vcov import MAXIMUM_LIKELIHOOD
from spillover.inference.registry import Need
from spillover.linalg.logdet import LogDeterminant
from spillover.models.spatial._data import SpatialData, Transform
from spillover.panel import Panel


class ModelView(Protocol):
    """What a family's estimation reads from the configured model."""

    data: SpatialData
    transform: Transform
    effects: str
    panel: Panel
    weights: Any

    def _logdet(self, seed: int, *, order: int = ...) -> LogDeterminant: ...

    def _operator(self) -> Any: ...


@dataclass(frozen=True)
class Fit:
    """A family's estimates, handed to the base that computes the covariance and results.

    ``names``/``values``: the coefficients in display order (regressors, then spatial
    parameters), reported in ``params``; ``auxiliary``: (name, value) of parameters
    estimated with them but not reported as coefficients (the random effects ``phi``),
    whose variance is kept in ``vcov_full`` and which go to ``fit_stats`` through
    ``fit_stats``; ``vcov_inputs``: what the covariance kernels of
    :mod:`spillover.inference.registry` read (for ML, an
    :class:`~spillover.inference.ml_vcov.MLInputs` whose ``theta`` is ``values``, then the
    auxiliary values, then sigma^2); ``residuals``: the structural residuals
    ``u = A y - X beta`` of the transformed model, ``fitted = y - u``; ``y``: the
    dependent variable of that transformed model when it is not the model's data (random
    effects: the quasi-demeaned y), against which ``r2_pseudo`` is computed;
    ``fixed_effects``: the effects listed in the results (None: those of ``effects=``);
    ``notes``: facts for the results' ``info``, filled when the covariance is computed
    (``"Traces"``: exact, or stochastic with its precision; see :mod:`._variance`);
    ``logdet_errors``: for each spatial parameter of an approximate log-determinant,
    bounds (holding with probability ``logdet_level``) on the error of its Jacobian term in
    the log-likelihood and of that term's derivative, at the estimate; ``logdet_traces``:
    the log-determinant's power traces of W (a PowerTraces, reused by the effects) or None.
    """

    names: tuple[str, ...]
    values: FloatArray
    vcov_inputs: Any
    sigma2: float
    loglik: float
    residuals: FloatArray
    fitted: FloatArray
    logdet_description: str
    logdet_method: str
    auxiliary: tuple[tuple[str, float], ...] = ()
    fit_stats: Mapping[str, float] = field(default_factory=dict)
    y: FloatArray | None = None
    notes: dict[str, str] = field(default_factory=dict)
    logdet_errors: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    logdet_level: float = 1.0
    logdet_traces: Any = None


class Family(ABC):
    """Declaration of one spatial family; subclass it and register an instance.

    Attributes
    ----------
    key : str
        Short name stored in results (``"sar"``) and used to look the family up.
    title : str
        Shown in summaries and table headers.
    spatial_params : tuple of str
        Spatial parameters the family adds to ``params``, in order (e.g. ``("rho",)``).
    effects : tuple of str
        Accepted ``effects=`` values.
    by_period : bool
        Whether one weights matrix per period is accepted.
    vcov_provides : frozenset of Need
        What the fit hands the covariance kernels; the accepted ``fit(vcov=...)`` names
        are the registered covariances these cover (``"ml"`` and ``"hessian"`` for
        :data:`~spillover.inference.ml_vcov.MAXIMUM_LIKELIHOOD`).
    """

    key: str = ""
    title: str = ""
    spatial_params: tuple[str, ...] = ()
    effects: tuple[str, ...] = ("entity", "time", "twoway", "none")
    by_period: bool = True
    vcov_provides: frozenset[Need] = MAXIMUM_LIKELIHOOD

    def check(self, *, effects: str, by_period: bool, bias_correction: str | None) -> None:
        """Refuse option combinations the family does not implement (SpecificationError)."""
        if effects == "random" and "random" not in self.effects:
            with_random = [f.title for f in _FAMILIES.values() if "random" in f.effects]
            raise SpecificationError(
                f"random effects are implemented for the {preview(with_random)} models, not "
                f"{self.title}; use fixed effects for this model."
            )
        if effects not in self.effects:
            raise SpecificationError(
                f"effects={effects!r} is not implemented for the {self.title} model; use one "
                f"of {preview(self.effects)}."
            )
        if by_period and not self.by_period:
            raise SpecificationError(
                f"{self.key.upper()} with one weights matrix per period is not implemented; "
                "pass one W for all periods, or use a family that accepts weights by period."
            )

    @property
    def lags_y(self) -> bool:
        """Whether ``W y`` enters (the family has spillovers through the outcome)."""
        return "rho" in self.spatial_params

    @abstractmethod
    def estimate(self, model: ModelView, *, probes: int | None, seed: int) -> Fit:
        """Maximise the likelihood of the configured ``model``; ``probes`` and ``seed`` are
        those of ``fit`` (trace probes and Monte Carlo seeds)."""

    @abstractmethod
    def impacts(self, results: Any, **options: Any) -> pd.DataFrame:
        """Direct, indirect and total effects of fitted ``results`` of this family."""


_FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """Make ``family`` available to models whose ``family`` attribute is its key."""
    if not family.key or not family.title:
        raise SpecificationError("a spatial family needs a key and a title.")
    _FAMILIES[family.key] = family
    return family


def get_family(key: str) -> Family:
    """The registered family ``key``; SpecificationError listing the known ones."""
    try:
        return _FAMILIES[key]
    except KeyError:
        raise SpecificationError(
            f"no spatial family {key!r} is registered; known: {preview(sorted(_FAMILIES))}."
        ) from None
