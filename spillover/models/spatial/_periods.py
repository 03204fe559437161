"""One weights matrix per period: ``W_t`` in the spatial lags, Jacobian and variance.

With fixed effects concentrated out by maximum likelihood (the direct approach), a model
``y_t = rho W_t y_t + X_t beta + mu + alpha_t + e_t`` has the log-likelihood of the static
case with ``T log|I - rho W|`` replaced by ``sum_t log|I - rho W_t|``, ``W y`` by the
per-period lags ``W_t y_t`` (demeaned after lagging) and each trace in the information
matrix by its sum over periods. The shared core multiplies one log-determinant and one set
of traces by the number of periods, so :func:`combined_logdet` and the variance average
them over periods (each distinct ``W_t`` is factorised once, weighted by how many periods
use it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from spillover._validate import preview
from spillover.errors import AlignmentError, WeightsError
from spillover.linalg.logdet import LogDeterminant
from spillover.linalg.stacking import PeriodMatrices
from spillover.panel import Panel
from spillover.weights import Weights


@dataclass(frozen=True, eq=False)
class PeriodWeights:
    """``W_t`` for each period of a panel (in its sorted time order), entities aligned."""

    weights: tuple[Weights, ...]
    periods: tuple[Any, ...]

    @property
    def n(self) -> int:
        return self.weights[0].n

    @cached_property
    def matrices(self) -> PeriodMatrices:
        """The W algebra's view: each distinct W_t once, with the periods using it."""
        return PeriodMatrices.of(self.weights, labels=self.periods)


def is_by_period(w: Any) -> bool:
    return isinstance(w, Mapping) and all(isinstance(v, Weights) for v in w.values())


def as_period_weights(w: Mapping[Any, Weights], panel: Panel) -> PeriodWeights:
    """Align a mapping period -> Weights (e.g. WeightsByPeriod) to the panel."""
    from spillover.models.spatial._data import as_weights

    periods = list(panel.periods)
    missing = [p for p in periods if p not in w]
    extra = [p for p in w if p not in set(periods)]
    if missing or extra:
        raise AlignmentError(
            f"weights by period must have one Weights for each panel period: missing "
            f"{preview(missing)}, not in the panel {preview(extra)}. Subset the mapping "
            "(or the panel) so the periods coincide."
        )
    aligned = tuple(as_weights(w[p], panel) for p in periods)
    if len(aligned) == 0:  # pragma: no cover - panels have periods
        raise WeightsError("no weights given.")
    return PeriodWeights(aligned, tuple(periods))


def combined_logdet(per_matrix: list[tuple[LogDeterminant, int]]) -> LogDeterminant:
    """``r -> mean_t log|I - r W_t|`` from one log-determinant per distinct W_t."""
    total = sum(c for _, c in per_matrix)
    lds = [ld for ld, _ in per_matrix]
    bounds = (max(ld.bounds[0] for ld in lds), min(ld.bounds[1] for ld in lds))

    def evaluate(r: float) -> float:
        if len(lds) == 1:  # the static case exactly, not a rounded mean
            return lds[0](r)
        return sum(c * ld(r) for ld, c in per_matrix) / total

    def error(r: float) -> float:
        return max(ld.error_bound(r) for ld in lds)

    first = lds[0]
    return LogDeterminant(
        method=first.method,
        n=first.n,
        bounds=bounds,
        description=f"{first.description}; mean over {total} periods, {len(lds)} distinct W_t",
        _evaluate=evaluate,
        _error=error,
        _symmetric_like=all(ld._symmetric_like for ld in lds),
    )
