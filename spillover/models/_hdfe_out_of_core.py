"""HDFE out of core: the in-memory estimator's algebra on reductions computed by a backend.

The rows stay in the backend (DuckDB: :mod:`._hdfe_duckdb`; Dask: :mod:`._hdfe_dask`); only
small arrays come back. :class:`OutOfCoreHDFE` is the backend-neutral part; a subclass says
how to open the data and stage the rows (a table with the transforms and reductions of
:class:`spillover.backends.Staged`) and how the backend's failures read.

1. Singletons are dropped by the backend, repeatedly, exactly as
   :func:`._demean.singleton_mask`.
2. Absorbing follows :class:`._demean.Absorber`. The largest effect set F is removed by
   group means; if the other sets S have at most ``EXACT_MAX_LEVELS`` levels in total,
   their coefficients solve the small normal equations ``C g = S' M_F v`` with ``C = S'S -
   (F'S)' diag(1/n_g) (F'S)`` (summed by :func:`._ooc_algebra.normal_matrix_part` over
   pieces of whole F levels: chunks streamed from DuckDB sorted by F, or the Dask
   partitions, each holding whole F levels; ``S' M_F v`` by the backend; solved by the same
   pivoted Cholesky), and one backend pass subtracts ``S g`` and its F means: the
   projection is exact, no iteration. Otherwise alternating projections run in the backend
   (each pass removes the group means of every set) until the largest mean removed in a
   pass, summed over the sets and relative to the column's largest absolute value, is below
   ``tol``.
3. The moments of the demeaned columns and ``sum e^2`` are single backend aggregates; the
   slopes solve the scaled normal equations of the demeaned regressors, the intercept is
   ``mean(y) - mean(X) b`` (reghdfe's ``_cons``, as in memory) and ``(X'X)^-1`` of ``X =
   [1, x~ + mean(x)]`` is formed by blocks from ``x~'x~``.
4. Covariances come from the registry (:mod:`spillover.inference.vcov`), fed compressed
   score rows whose outer products sum to the same meats: for ``Cluster`` the score sums of
   each cell of the cluster variables (the kernels then sum cells into clusters, and into
   intersections for two-way); for HC1/HC0 a K x K square root of ``sum e_i^2 x_i x_i'``;
   for iid the residual norm. The absorbed df A is the exact rank (as in memory), and the
   effects nested in a cluster variable (checked by the backend) are left out of it through
   the same kernel rule. For ``DriscollKraay`` the score sums of each period come back
   (labelled by the time column, turned into calendar period numbers as in memory) and the
   registry's kernel applies the Bartlett weights (DuckDB and Dask alike). For ``Conley``
   the backend's score sums per location and period feed the k x k meat
   (:mod:`._conley_out_of_core`, DuckDB and Dask alike), handed to the registry's kernel.
5. Regression weights w (``weights=``, ``weight_type=``; DuckDB and Dask) follow the in-memory
   conventions (:mod:`._regweights`): every group mean is w-weighted (exact and iterative
   absorbing), the moments are ``Z'WZ``, the intercept is the weighted ``mean(y) - mean(X)
   b`` with ``sum w`` in place of N in the bread's intercept block, the scores are
   ``w x e``, the HC meat ``sum w^2 e^2 x x'`` (analytic) or ``sum w e^2 x x'``
   (frequency), and N of df and small-sample factors is the rows (analytic) or ``sum w``
   (frequency; also the reported nobs). A and the cluster counts are unchanged.
6. :class:`._out_of_core.OutOfCoreSample` is the part every out-of-core estimator shares
   (source, staged sample, singletons, absorbing, absorbed df, covariance inputs from score
   sums, release); :class:`._duckdb_sample.DuckDBSample` is its DuckDB side, on which
   :mod:`._iv_duckdb` runs 2SLS.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from spillover.inference.registry import Need, compute_vcov
from spillover.models._ooc_algebra import (
    bread_with_intercept,
    check_within,
    parse_formula,
    solve_scaled,
)
from spillover.models._out_of_core import PROVIDES as SAMPLE_PROVIDES
from spillover.models._out_of_core import OutOfCoreSample
from spillover.models._results import Results

__all__ = ["PROVIDES", "OutOfCoreHDFE", "parse_formula"]

#: What the out-of-core HDFE fit hands the covariance kernels: the sample's, and the
#: Conley meat summed from the backend's score sums (:mod:`._conley_out_of_core`).
PROVIDES = SAMPLE_PROVIDES | {Need.COORDS}


class OutOfCoreHDFE(OutOfCoreSample):
    """The backend-neutral out-of-core side of :class:`~spillover.models.HDFE`; a
    subclass adds the backend hooks of :class:`._out_of_core.OutOfCoreSample`."""

    def __init__(
        self,
        formula: str,
        data: Any,
        absorb: Sequence[str],
        backend: Any,
        *,
        singletons: str,
        tol: float,
        max_iter: int,
        weights: str | None = None,
        weight_type: str = "analytic",
    ) -> None:
        self.y, self.xs, intercept = parse_formula(formula, self.label)
        self.names = ["Intercept", *self.xs] if intercept else list(self.xs)
        super().__init__(
            data,
            [self.y, *self.xs],
            absorb,
            backend,
            intercept=intercept,
            singletons=singletons,
            tol=tol,
            max_iter=max_iter,
            weights=weights,
            weight_type=weight_type,
        )

    def fit(self, spec: Any) -> Results:
        raw, means, absorbed = self._sweep()
        with self._errors():
            gram, n = self.table.moments(np.zeros_like(means), False)  # [y~, x~]'W[y~, x~]
            total = self.table.weight_total() if self.weights else n  # sum w, or the rows
            check_within(self.xs, gram[1:, 1:], raw[1:], self.absorb)
            slopes = solve_scaled(gram[1:, 1:], gram[1:, 0])
            shift = means if self.intercept else np.zeros_like(means)
            if self.intercept:
                b = np.concatenate([[means[0] - means[1:] @ slopes], slopes])
                bread = bread_with_intercept(gram[1:, 1:], means[1:], total)
            else:
                b, bread = slopes, np.linalg.inv(gram[1:, 1:])
            resid = self.table.residual(shift, self.intercept, b)
            ssr, tss_within = self.table.sums_of_squares(shift, shift[0], resid)
            inputs = self.vcov_inputs(spec, resid, bread=bread, ssr=ssr, absorbed=absorbed)
            cov, name, df_resid = compute_vcov(spec, inputs)
        fit_stats = {"r2": 1 - ssr / raw[0], "r2_within": 1 - ssr / tss_within}
        return self.results(
            Results, b, cov, self.names, df_resid=df_resid, vcov_name=name,
            model="OLS, absorbed effects", fit_stats=fit_stats,
            info={"singletons dropped": self.n_singletons},
        )  # fmt: skip
