"""HDFE out of core: the in-memory estimator's algebra on reductions computed by a backend.

The rows stay in the backend (DuckDB: :mod:`spillover.models._hdfe_duckdb`; Dask:
:mod:`spillover.models._hdfe_dask`); only small arrays come back. :class:`OutOfCoreHDFE`
is the backend-neutral part; a subclass says how to open the data and stage the rows
(a table object with the transforms and reductions of
:class:`spillover.backends.Staged`) and how the backend's failures read.

1. Singletons are dropped by the backend, repeatedly, exactly as
   :func:`._demean.singleton_mask`.
2. Absorbing follows :class:`._demean.Absorber`. The largest effect set F is removed by
   group means; if the other sets S have at most ``EXACT_MAX_LEVELS`` levels in total, their
   coefficients solve the small normal equations ``C g = S' M_F v`` with
   ``C = S'S - (F'S)' diag(1/n_g) (F'S)`` (summed by :func:`normal_matrix_part` over
   pieces of whole F levels: chunks streamed from DuckDB sorted by F, or the Dask
   partitions, each holding whole F levels; ``S' M_F v`` by the backend; solved by the same
   pivoted Cholesky), and one backend pass subtracts ``S g`` and its F means: the
   projection is exact, no iteration. Otherwise alternating projections run in the backend
   (each pass removes the group means of every set) until the largest mean removed in a
   pass, summed over the sets and relative to the column's largest absolute value, is below
   ``tol``.
3. The moments of the demeaned columns and ``sum e^2`` are single backend aggregates; the
   slopes solve the scaled normal equations of the demeaned regressors, the intercept is
   ``mean(y) - mean(X) b`` (reghdfe's ``_cons``, as in memory) and ``(X'X)^-1`` of
   ``X = [1, x~ + mean(x)]`` is formed by blocks from ``x~'x~``.
4. Covariances come from the registry (:mod:`spillover.inference.vcov`), fed compressed
   score rows whose outer products sum to the same meats: for ``Cluster`` the score sums
   of each cell of the cluster variables (the kernels then sum cells into clusters, and
   into intersections for two-way); for HC1/HC0 a K x K square root of
   ``sum e_i^2 x_i x_i'``; for iid the residual norm. The absorbed df A is the exact rank
   (as in memory), and the effects nested in a cluster variable (checked by the backend)
   are left out of it through the same kernel rule.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from functools import partial
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.linalg import cho_solve

from spillover._validate import preview, warn_dropped
from spillover.errors import ConvergenceError, SpecificationError
from spillover.inference.registry import Named, Need, compute_vcov
from spillover.inference.vcov import Cluster, VcovInputs, absorbed_df
from spillover.models import _demean
from spillover.models._checks import require_rows_left
from spillover.models._fit import _wald_f
from spillover.models._results import Results

#: What the out-of-core fit hands the covariance kernels (no time or coordinates yet).
PROVIDES = frozenset({Need.SCORES, Need.GROUPS})
_TERM = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def parse_formula(formula: str, backend: str = "DuckDB") -> tuple[str, list[str], bool]:
    """``"y ~ x1 + x2"`` into (y, [x1, x2], intercept); plain column names only."""
    if "~" not in formula:
        raise SpecificationError(f"formula {formula!r} needs 'y ~ x1 + x2'.")
    lhs, rhs = (s.strip() for s in formula.split("~", 1))
    terms = [t.strip() for t in re.split(r"\s*([+-])\s*", "+ " + rhs) if t.strip()]
    intercept, xs, sign = True, [], "+"
    for t in terms:
        if t in "+-":
            sign = t
        elif t in ("0", "1"):
            intercept = intercept if (t == "1" and sign == "+") else False
        elif _TERM.match(t) and sign == "+":
            xs.append(t)
        else:
            raise SpecificationError(
                f"the {backend} backend takes plain column names in the formula; {t!r} is not "
                "one. Compute transformed columns (log, W(x) pools) in the source first."
            )
    if not _TERM.match(lhs):
        raise SpecificationError(f"dependent variable {lhs!r} must be a plain column name.")
    return lhs, xs, intercept


class OutOfCoreHDFE(ABC):
    """The backend-neutral out-of-core side of :class:`~spillover.models.HDFE`.

    A subclass sets ``label`` and implements ``_open`` (data to the backend; the column
    names), ``_stage`` (the staged rows: a table with the methods of
    :class:`spillover.backends.Staged`) and ``_errors`` (a context translating the
    backend's failures into BackendError).
    """

    label: ClassVar[str] = "out-of-core"

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
    ) -> None:
        self.y, self.xs, self.intercept = parse_formula(formula, self.label)
        self.absorb, self.tol, self.max_iter = tuple(absorb), tol, max_iter
        self.names = ["Intercept", *self.xs] if self.intercept else list(self.xs)
        effects = [[p.strip() for p in a.split(":")] for a in self.absorb]
        with self._errors():
            self.columns = self._open(data, backend)
            needed = [self.y, *self.xs, *(p for e in effects for p in e)]
            missing = [c for c in dict.fromkeys(needed) if c not in self.columns]
            if missing:
                raise SpecificationError(
                    f"columns {missing} are not in the data; available: "
                    f"{preview(self.columns, 12)}."
                )
            self.table = self._stage([self.y, *self.xs], effects, self.columns)
            self.n_singletons = self.table.drop_singletons() if singletons == "drop" else 0
            self.nobs = self.table.count()
        require_rows_left(self.nobs, reason="every row is a singleton", fix="absorb fewer effects")
        warn_dropped(self.n_singletons, "singleton observations of an absorbed effect")
        self._swept: tuple[np.ndarray, np.ndarray, int] | None = None
        self._factors: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

    # ------------------------------------------------------------------ backend hooks
    @abstractmethod
    def _open(self, data: Any, backend: Any) -> list[str]:
        """Hand ``data`` to the backend; return its column names."""

    @abstractmethod
    def _stage(self, columns: list[str], effects: list[list[str]], keep: list[str]) -> Any:
        """The staged rows: y and the regressors ``columns``, one code per effect set,
        the source columns ``keep`` carried (cluster variables)."""

    @abstractmethod
    def _errors(self) -> AbstractContextManager[None]:
        """A context turning the backend's failures into BackendError."""

    # ------------------------------------------------------------------ absorbing
    def _split(self, sets: Sequence[int]) -> tuple[int, list[int], list[int], int, bool]:
        """Largest set, the others, their code offsets, size and whether exact applies
        (the in-memory rule of :class:`._demean.Absorber`)."""
        levels = [self._levels[i] for i in sets]
        order = np.argsort(levels)[::-1]
        big, small = sets[int(order[0])], [sets[int(i)] for i in order[1:]]
        offsets = list(np.cumsum([0] + [self._bounds[i] for i in small])[:-1].astype(int))
        size = int(sum(self._bounds[i] for i in small))
        exact = bool(small) and sum(self._levels[i] for i in small) <= _demean.EXACT_MAX_LEVELS
        return big, small, offsets, size, exact

    def _rank(self, sets: Sequence[int]) -> int:
        """Rank of the dummies of the effect sets ``sets`` (intercept included)."""
        if not sets:
            return 0
        big, small, offsets, size, exact = self._split(sets)
        if not small:
            return self._levels[big]
        if exact:
            return self._levels[big] + len(self._factor(big, small, offsets, size)[0])
        a, b = self.table.edges(sets[0], sets[1])
        rest = [np.arange(self._levels[i]) for i in sets[2:]]
        return absorbed_df([a, b, *rest], intercept=False)

    def _sweep(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Absorb once (cached): centred sums of squares and means of the raw columns
        (y first), and the absorbed df A."""
        if self._swept is None:
            with self._errors():
                self._levels, self._bounds = self.table.levels(), self.table.code_bounds()
                k = len(self.xs) + 1
                raw = np.array([self.table.centred_square_sum(j) for j in range(k)])
                means = self.table.means()
                sets = list(range(len(self.absorb)))
                rank = self._rank(sets)
                big, small, offsets, size, exact = self._split(sets)
                if not small:
                    self.table.sweep(big)
                elif exact:
                    self._exact(big, small, offsets, size)
                else:
                    self._alternate(sets)
            self._swept = (raw, means, rank - int(self.intercept))
        return self._swept

    def _factor(
        self, big: int, small: list[int], offsets: list[int], size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Independent levels and Cholesky factor of C (cached: rank and solve share it)."""
        key = (big, *small)
        if key not in self._factors:
            c = self._normal_matrix(big, small, offsets, size)
            self._factors[key] = _demean._pivoted_cholesky((c + c.T) / 2)
        return self._factors[key]

    def _normal_matrix(self, big: int, small: list[int], offsets: list[int], size: int):
        """``C = S'S - (F'S)' diag(1/n_g) (F'S)``, summed by the backend over pieces of
        whole F levels (C is a sum over F levels), each by :func:`normal_matrix_part`."""
        part = partial(normal_matrix_part, size=size)
        return self.table.sum_by_group(big, small, offsets, part, np.zeros((size, size)))

    def _exact(self, big: int, small: list[int], offsets: list[int], size: int) -> None:
        idx, chol = self._factor(big, small, offsets, size)
        rhs = self.table.projected_sums(big, small, offsets, size)
        gamma = np.zeros_like(rhs)
        if len(idx):
            gamma[idx] = cho_solve((chol, False), rhs[idx])
        self.table.sweep(big, small, offsets, gamma)

    def _alternate(self, sets: list[int]) -> None:
        scale = np.maximum(self.table.column_scale(), 1e-300)
        change = np.inf
        for _ in range(self.max_iter):
            change = float((sum(self.table.sweep(i) for i in sets) / scale).max())
            if change < self.tol:
                return
        raise ConvergenceError(
            f"absorbing {len(sets)} effect sets in {self.label} did not converge in "
            f"{self.max_iter} passes (last relative change {change:.2e} > tol {self.tol:g}); "
            "raise max_iter or tol, or check for weakly connected effects."
        )

    # ------------------------------------------------------------------ fit
    def fit(self, spec: Any) -> Results:
        raw, means, absorbed = self._sweep()
        with self._errors():
            gram, n = self.table.moments(np.zeros_like(means), False)  # [y~, x~]'[y~, x~]
            self._check_within(gram, raw)
            slopes = _solve(gram[1:, 1:], gram[1:, 0])
            shift = means if self.intercept else np.zeros_like(means)
            if self.intercept:
                b = np.concatenate([[means[0] - means[1:] @ slopes], slopes])
                bread = _bread_with_intercept(gram[1:, 1:], means[1:], n)
            else:
                b, bread = slopes, np.linalg.inv(gram[1:, 1:])
            resid = self.table.residual(shift, self.intercept, b)
            ssr, tss_within = self.table.sums_of_squares(shift, shift[0], resid)
            inputs = self._inputs(spec, resid, bread, ssr, absorbed)
            cov, name, df_resid = compute_vcov(spec, inputs)
        params = pd.Series(b, index=self.names, name="parameter")
        fit_stats = {"r2": 1 - ssr / raw[0], "r2_within": 1 - ssr / tss_within}
        return Results(
            params=params,
            vcov=pd.DataFrame(cov, index=self.names, columns=self.names),
            nobs=n,
            df_resid=df_resid,
            vcov_name=name,
            model=f"OLS, absorbed effects ({self.label})",
            dependent=self.y,
            fixed_effects=self.absorb,
            fit_stats={**fit_stats, **_wald_f(params, cov, df_resid)},
            info={"singletons dropped": self.n_singletons, "backend": self.label},
        )

    def _check_within(self, gram: np.ndarray, raw: np.ndarray) -> None:
        """Name regressors the absorbed effects leave without variation, or collinear."""
        within = np.diag(gram)[1:]
        gone = [x for x, w, r in zip(self.xs, within, raw[1:], strict=True) if w <= 1e-20 * r]
        if not gone and len(self.xs):
            scale = np.sqrt(within)
            eig, vec = np.linalg.eigh(gram[1:, 1:] / np.outer(scale, scale))
            if eig.min() <= 1e-9:
                gone = [x for x, v in zip(self.xs, vec[:, 0], strict=True) if abs(v) > 1e-6]
        if gone:
            raise SpecificationError(
                f"regressors {gone} have no variation, or are collinear, once the absorbed "
                f"effects ({', '.join(self.absorb)}) are removed; drop one or absorb coarser "
                "effects."
            )

    def _inputs(
        self, spec: Any, resid: Any, bread: np.ndarray, ssr: float, absorbed: int
    ) -> VcovInputs:
        k = len(self.names)
        common = dict(
            x=np.zeros((0, k)),
            resid=np.array([np.sqrt(ssr)]),
            bread=bread,
            absorbed=absorbed,
            time=np.zeros(0, np.intp),
            entity=np.zeros(0, np.intp),
            nobs=self.nobs,
        )
        if isinstance(spec, Cluster):
            return self._cluster_inputs(spec, resid, common)
        needs_meat = isinstance(spec, Named) and spec.name in ("robust", "hc0")
        scores = _root(self.table.hc_meat(resid)) if needs_meat else np.zeros((1, k))
        return VcovInputs(scores=scores, effects={}, groups=self._no_groups, **common)

    def _cluster_inputs(self, spec: Cluster, resid: Any, common: dict) -> VcovInputs:
        missing = [c for c in spec.by if c not in self.columns]
        if missing:
            raise SpecificationError(
                f"cannot cluster by {missing}: not columns of the data; available: "
                f"{preview(self.columns, 12)}. Add the column to the data (frame, Parquet "
                "files or relation)."
            )
        for c in spec.by:
            if n := self.table.null_count(c):
                raise SpecificationError(
                    f"cluster variable {c!r} has {n} missing values; fill or drop those rows "
                    "in the source."
                )
        labels, sums = self.table.score_sums(resid, spec.by)
        cells = dict(zip(spec.by, labels, strict=True))
        effects = {}
        nested = {c: self.table.nested(c) for c in spec.by}
        for i, name in enumerate(self.absorb):
            home = next((c for c in spec.by if nested[c][i]), None)
            # Per cell: the cluster the effect is nested in, else one level across cells
            # (not nested), which is what the kernel's nesting test reads.
            effects[name] = pd.factorize(cells[home])[0] if home else np.zeros(len(sums), np.intp)

        def without(names: Sequence[str]) -> int:
            rest = [i for i, a in enumerate(self.absorb) if a not in set(names)]
            return max(self._rank(rest) - int(self.intercept), 0) if rest else 0

        return VcovInputs(
            scores=sums,
            effects=effects,
            groups=cells.__getitem__,
            absorbed_without=without,
            **common,
        )

    @staticmethod
    def _no_groups(name: str) -> np.ndarray:  # pragma: no cover - only Cluster reads groups
        raise SpecificationError(f"no groups for {name!r} outside Cluster(...).")


def normal_matrix_part(groups: np.ndarray, codes: list[np.ndarray], size: int) -> np.ndarray:
    """The part of ``C = S'S - (F'S)' diag(1/n_g) (F'S)`` from rows holding whole F levels,
    ``groups`` their F codes sorted, ``codes`` their (offset) codes of the sets S."""
    c = np.zeros((size, size))
    if not len(groups):
        return c
    local = np.concatenate([[0], np.cumsum(np.diff(groups) != 0)])
    counts = np.bincount(local).astype(float)
    for a in codes:
        for b in codes:
            c += np.bincount(a * size + b, minlength=size * size).reshape(size, size)
    return c - _demean.within_group_pairs(local, counts, codes, size)


def _solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Slopes from the normal equations of the demeaned regressors, scaled to unit diagonal."""
    scale = np.sqrt(np.clip(np.diag(gram), 1e-300, None))
    return np.linalg.solve(gram / np.outer(scale, scale), rhs / scale) / scale


def _bread_with_intercept(gram: np.ndarray, xbar: np.ndarray, n: int) -> np.ndarray:
    """``(X'X)^-1`` for X = [1, x~ + xbar] from ``x~'x~`` (x~ sums to zero: the effects
    absorb a constant), by the partitioned inverse; avoids inverting the ill-conditioned
    X'X of regressors with large means and little within variation."""
    inv = np.linalg.inv(gram)
    u = inv @ xbar
    out = np.empty((len(xbar) + 1, len(xbar) + 1))
    out[0, 0] = 1 / n + xbar @ u
    out[0, 1:] = out[1:, 0] = -u
    out[1:, 1:] = inv
    return out


def _root(meat: np.ndarray) -> np.ndarray:
    """R with ``R'R = meat`` (symmetric PSD): rows whose outer products sum to the meat."""
    vals, vecs = np.linalg.eigh((meat + meat.T) / 2)
    return np.sqrt(np.clip(vals, 0, None))[:, None] * vecs.T
