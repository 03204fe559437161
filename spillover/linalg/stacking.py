"""The one stacking convention for balanced panels, and W applied within each period.

Entity-major: a stacked panel array holds entity 1's T periods, then entity 2's, ...,
i.e. the sorted (entity, time) row order of a :class:`~spillover.panel.Panel`. Reshaped to
``(N, T)`` (or ``(N, T, K)``) it has one row per entity, so ``W @ Y`` applies W to every
period in one sparse product: ``I_T (x) W`` (here ``W (x) I_T`` in entity-major order) is
never formed and nothing is densified. Data arriving time-major (T cross-sections of N, as
the array-level diagnostics take them) cross over with :func:`to_entity_major` and
:func:`to_time_major`, which only reorder.

One function applies W within each period (:func:`lag`) and one solves with
``I - rho W`` within each period (:func:`solve`), for one W or for one ``W_t`` per period
(:class:`PeriodMatrices`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from spillover._typing import FloatArray
from spillover.errors import WeightsError
from spillover.linalg.factor import SpatialFilter
from spillover.linalg.matrix import SpatialMatrix, as_spatial_matrix


@dataclass(frozen=True, eq=False)
class PeriodMatrices:
    """``W_t`` for each of T periods, each distinct matrix held once.

    Attributes
    ----------
    groups : tuple of (SpatialMatrix, tuple of int)
        Each distinct matrix and the positions (0..T-1) of the periods using it.
    n_periods : int
        T.
    """

    groups: tuple[tuple[SpatialMatrix, tuple[int, ...]], ...]
    n_periods: int

    @classmethod
    def of(cls, matrices: Sequence[Any], labels: Sequence[Any] | None = None) -> PeriodMatrices:
        """Group the per-period matrices (in period order) into distinct ones.

        Matrices are equal when they are the same object or hold the same entries. All must
        be N x N for one N; ``labels`` (e.g. the periods) name the offending one otherwise.
        """
        if not len(matrices):
            raise WeightsError("weights by period are empty; give one W_t for each period.")
        names = list(range(len(matrices))) if labels is None else list(labels)
        groups: list[tuple[SpatialMatrix, list[int]]] = []
        for t, item in enumerate(matrices):
            m = as_spatial_matrix(item)
            first = groups[0][0] if groups else m
            if m.shape != first.shape:
                raise WeightsError(
                    f"W_t of period {names[t]!r} is {m.shape[0]} x {m.shape[0]} but that of "
                    f"the first period is {first.shape[0]} x {first.shape[0]}; every W_t "
                    "must cover the same N entities (align them to the panel, e.g. "
                    "WeightsByPeriod.align)."
                )
            for g, periods in groups:
                if g is m or _same_entries(g.matrix, m.matrix):
                    periods.append(t)
                    break
            else:
                groups.append((m, [t]))
        return cls(tuple((m, tuple(p)) for m, p in groups), len(matrices))

    @property
    def n(self) -> int:
        return self.groups[0][0].shape[0]

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.n)

    @property
    def distinct(self) -> list[tuple[SpatialMatrix, int]]:
        """Distinct matrices and the number of periods using each."""
        return [(m, len(periods)) for m, periods in self.groups]


def _same_entries(a: sp.csr_array, b: sp.csr_array) -> bool:
    return a.shape == b.shape and a.nnz == b.nnz and (a != b).nnz == 0


def _single(w: Any) -> SpatialMatrix | None:
    """The one matrix of ``w``, or None when it holds several distinct W_t."""
    if isinstance(w, PeriodMatrices):
        return w.groups[0][0] if len(w.groups) == 1 else None
    return as_spatial_matrix(w)


def _each_period(
    w: Any, a: FloatArray, apply: Callable[[SpatialMatrix, FloatArray], FloatArray]
) -> FloatArray:
    """``apply(W_t, block)`` on the (N, periods x K) block of the periods sharing each
    distinct W_t; one call on the whole (N, T K) array when there is one W."""
    single = _single(w)
    if single is not None:
        n = single.shape[0]
        return apply(single, a.reshape(n, -1)).reshape(a.shape)
    n, t = w.n, w.n_periods
    cube = a.reshape(n, t, -1)
    out = np.empty_like(cube)
    for m, periods in w.groups:
        cols = list(periods)
        block = cube[:, cols]
        out[:, cols] = apply(m, block.reshape(n, -1)).reshape(block.shape)
    return out.reshape(a.shape)


def lag(w: Any, a: FloatArray) -> FloatArray:
    """W (or ``W_t``) applied within each period of an entity-major stacked array.

    Parameters
    ----------
    w : SpatialMatrix, scipy sparse array or PeriodMatrices
        N x N weights, or one ``W_t`` per period.
    a : numpy.ndarray
        Entity-major: shape ``(N T,)``, ``(N T, K)``, ``(N, T)`` or ``(N, T, K)`` (any
        shape whose C-order flattening lists entity 1's periods first). A cross-section is
        the case T = 1.

    Returns
    -------
    numpy.ndarray
        ``(W_t a_t)`` for every period t, in the shape of ``a``.

    Notes
    -----
    One sparse product with an N x (T K) block; with several distinct ``W_t`` one product
    per distinct matrix on the columns of the periods using it. Each entry is the same
    sum over the stored entries of a row of W whichever the grouping.
    """
    return _each_period(w, a, lambda m, block: m.matrix @ block)


def solve(w: Any, rho: float, a: FloatArray, *, iterate: bool = False) -> FloatArray:
    """``(I - rho W_t)^-1 a_t`` for every period t of an entity-major stacked array.

    ``w``, ``a`` and the returned shape as in :func:`lag`; each distinct matrix is
    factorised once (:class:`~spillover.linalg.factor.SpatialFilter`, which ``iterate`` is
    passed to) and solves the columns of every period using it together.
    """
    return _each_period(w, a, lambda m, block: SpatialFilter(m, rho, iterate=iterate).solve(block))


def to_entity_major(a: FloatArray, n_periods: int) -> FloatArray:
    """Rows of a time-major stacked ``(T N,)`` or ``(T N, K)`` array in entity-major order."""
    blocks = a.reshape(n_periods, -1, *a.shape[1:])
    return np.ascontiguousarray(blocks.swapaxes(0, 1)).reshape(a.shape)


def to_time_major(a: FloatArray, n_periods: int) -> FloatArray:
    """Rows of an entity-major stacked ``(N T,)`` or ``(N T, K)`` array in time-major order."""
    blocks = a.reshape(-1, n_periods, *a.shape[1:])
    return np.ascontiguousarray(blocks.swapaxes(0, 1)).reshape(a.shape)
