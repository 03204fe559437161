"""One weights matrix per period: the mean log-determinant over periods.

With fixed effects concentrated out by maximum likelihood (the direct approach), a model
``y_t = rho W_t y_t + X_t beta + mu + alpha_t + e_t`` has the log-likelihood of the static
case with ``T log|I - rho W|`` replaced by ``sum_t log|I - rho W_t|``, ``W y`` by the
per-period lags ``W_t y_t`` (demeaned after lagging) and each trace in the information
matrix by its sum over periods. The shared core multiplies one log-determinant and one set
of traces by the number of periods, so :func:`combined_logdet` and the variance average
them over periods (each distinct ``W_t`` is factorised once, weighted by how many periods
use it). The weights are a :class:`~spillover.weights.WeightsByPeriod` aligned to the
panel; the algebra sees its :class:`~spillover.linalg.stacking.PeriodMatrices`.
"""

from __future__ import annotations

from spillover.linalg.logdet import LogDeterminant


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

    def slope_error(r: float) -> float:  # the mean of the bounds bounds the mean's error
        return sum(c * ld.slope_error(r) for ld, c in per_matrix) / total

    first = lds[0]
    return LogDeterminant(
        method=first.method,
        n=first.n,
        bounds=bounds,
        description=f"{first.description}; mean over {total} periods, {len(lds)} distinct W_t",
        _evaluate=evaluate,
        _error=error,
        _symmetric_like=all(ld._symmetric_like for ld in lds),
        _slope_error=slope_error,
        level=min(ld.level for ld in lds),
    )
