"""The row-level steps of Poisson IRLS on staged rows held by Dask workers.

:class:`DaskIrlsStaged` is the Dask twin of :class:`spillover.backends.IrlsStaged`: a
:class:`spillover.backends.DaskStaged` sample (``__v0`` the outcome, ``__v1``... the
regressors) with the working columns of iteratively reweighted least squares, the same
methods with the same results. Each transform is one task per partition (the partition
functions in :mod:`spillover.backends._dask_irls_parts`), each reduction is added on the
workers; the iteration itself (step halving, stopping rule) is the estimator's
(:mod:`spillover.models._poisson_out_of_core`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from spillover.backends import _dask_irls_parts as irls
from spillover.backends._dask_parts import Residual
from spillover.backends._dask_tables import DaskStaged
from spillover.backends._irls import ETA_MAX
from spillover.errors import SpecificationError


class DaskIrlsStaged(DaskStaged):
    """A staged Poisson sample on Dask workers with the working columns of IRLS (module
    notes); the weight ``__w`` of the sweeps is ``__rw * __mu`` while iterating."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parts = self._map("staging the IRLS columns", irls.add_working)

    # ------------------------------------------------------------------ sample
    def set_offset(self, offset: int | None, exposure: int | None, keys: Sequence[str]) -> None:
        """``__off`` = the value column ``offset`` plus the log of the value column
        ``exposure`` (either may be None); both must be the last value columns, which then
        leave the swept columns. SpecificationError naming rows with exposure <= 0."""
        if exposure is not None:
            n, rows = self._reduce(
                "checking the exposure", irls.rows_where, irls.add_found,
                column=f"__v{exposure}", test="not positive", keys=list(keys),
            )  # fmt: skip
            if n:
                raise SpecificationError(
                    f"the exposure must be positive and finite; it is not in {n} rows, e.g. "
                    f"({', '.join(keys)}, exposure) = {', '.join(map(str, rows))}."
                )
        if offset is not None or exposure is not None:
            self._transform("setting the offset", irls.set_offset, offset=offset,
                            exposure=exposure)  # fmt: skip
        self.k -= (offset is not None) + (exposure is not None)

    def check_outcome(self, name: str, keys: Sequence[str]) -> None:
        """SpecificationError naming rows with a negative outcome, or an outcome that is
        zero throughout."""
        neg, pos = self._reduce("checking the outcome", irls.outcome_signs)
        if neg:
            _, rows = self._reduce(
                "checking the outcome", irls.rows_where, irls.add_found, column="__y",
                test="negative", keys=list(keys),
            )  # fmt: skip
            raise SpecificationError(
                f"Poisson PML needs a non-negative outcome; {name!r} is negative in {neg} "
                f"rows, e.g. ({', '.join(keys)}, {name}) = {', '.join(map(str, rows))}."
            )
        if not pos:
            raise SpecificationError(f"{name!r} is zero in every row: there is nothing to fit.")

    def _zero_levels(self, i: int) -> np.ndarray:
        """One bool per code of effect set ``i``: the level has rows, its outcome is zero
        throughout."""
        got = self._reduce(
            "finding separated rows", irls.level_outcome, column=f"__e{i}", size=self.sizes[i]
        )
        return (got[:, 0] > 0) & (got[:, 1] <= 0)

    def separated_rows(self, keys: Sequence[str], limit: int = 5) -> tuple[int, list]:
        """Rows in a level (of any effect set) whose outcome is zero throughout: their
        count and the ``keys`` of the first ``limit``."""
        flags = [self._zero_levels(i) for i in range(self.n_effects)]
        return self._reduce(
            "finding separated rows", irls.rows_in_levels, irls.add_found, flags=flags,
            keys=list(keys), limit=limit,
        )  # fmt: skip

    def drop_separated(self) -> tuple[int, int]:
        """Drop the rows of levels whose outcome is zero throughout, and the singletons,
        set by set until neither remains (as :meth:`IrlsStaged.drop_separated`); return
        (separated, singletons) dropped."""
        separated = singletons = 0
        while True:
            before = separated + singletons
            for i in range(self.n_effects):
                separated += self.drop_levels(i, self._zero_levels(i), "dropping separated rows")
                singletons += self.drop_singletons_of(i)
            if separated + singletons == before:
                return separated, singletons

    # ------------------------------------------------------------------ iterating
    def start(self) -> float:
        """``mu = (y + mean_w(y)) / 2`` (the in-memory start); its deviance."""
        total, weight = self._reduce("starting IRLS", irls.weighted_outcome)
        self._transform("starting IRLS", irls.start, mean=total / weight)
        return self.deviance(None)

    def working(self, first: bool) -> None:
        """The working response ``z = eta - offset + (y - mu) / mu`` into ``__z``; the
        value column 0 becomes z (first iteration) or the previous sweep of z plus the
        change of z (warm start); weights ``__rw * __mu``. The regressors stay as swept."""
        self._transform("forming the working response", irls.working, first=first)

    def propose(self, beta: np.ndarray) -> None:
        """``eta_new = z - (z~ - x~ beta) + offset`` into ``__en``."""
        self._transform("proposing a step", irls.propose, k=self.k, beta=np.asarray(beta, float))

    def deviance(self, alpha: float | None) -> float:
        """``2 sum rw (y log(y / mu) - (y - mu))`` at ``eta + alpha (eta_new - eta)``
        (the current mu if ``alpha`` is None)."""
        a = None if alpha is None else float(alpha)
        return float(self._reduce("taking the deviance", irls.deviance, alpha=a, eta_max=ETA_MAX))

    def accept(self, alpha: float) -> None:
        """``mu = exp(eta + alpha (eta_new - eta))``, eta clipped at ``ETA_MAX``."""
        self._transform("taking a step", irls.accept, alpha=float(alpha), eta_max=ETA_MAX)

    def reweight(self, working: bool) -> None:
        """Weights ``__rw * __mu`` (``working``) or the regression weights alone."""
        self._transform("reweighting", irls.reweight, working=working)

    def poisson_residual(self) -> Residual:
        """The handle of the response residual ``y - mu`` with the swept regressors (what
        :meth:`hc_meat` and :meth:`score_sums` take)."""
        k = self.k
        return Residual(k, np.zeros(k), False, np.zeros(k - 1), response=True)

    def likelihoods(self) -> tuple[float, float, float]:
        """Weighted log-likelihood at mu, at the constant mean, and that mean."""
        wy, w, loglik, lg = self._reduce("taking the likelihood", irls.likelihood_sums)
        mean = wy / w
        return float(loglik), float(wy * np.log(mean) - w * mean - lg), float(mean)
