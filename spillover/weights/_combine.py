"""Combinations of weights (products, weighted sums) and weights that vary by period."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._validate import preview
from spillover.errors import AlignmentError, SpecificationError
from spillover.weights._base import IslandPolicy, Weights
from spillover.weights._inputs import finish


def _aligned(weights: Sequence[Weights]) -> list[Weights]:
    if not weights or not all(isinstance(w, Weights) for w in weights):
        raise SpecificationError(
            "combine spillover Weights objects (convert libpysal ones with Weights.from_libpysal)."
        )
    first = weights[0]
    return [first] + [w.align(first.ids, what="ids of the first weights") for w in weights[1:]]


def product(*weights: Weights, islands: IslandPolicy = "raise") -> Weights:
    """Elementwise (Hadamard) product, e.g. geographic x technological proximity.

    Parameters
    ----------
    *weights : Weights
        Two or more weights over the same ids (matched by id, ordered as the first).
    islands : {"raise", "keep", "drop"}, default "raise"
        Units left without neighbours (their neighbours in one weights are not
        neighbours in another).

    Returns
    -------
    Weights
        w_ij = prod_m w^(m)_ij; transform "custom" if any input was normalised.

    Examples
    --------
    >>> import numpy as np
    >>> from spillover import weights
    >>> a = weights.from_matrix(np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]]), ids=[1, 2, 3])
    >>> b = weights.from_matrix(np.array([[0, 2, 0], [2, 0, 3], [0, 3, 0]]), ids=[1, 2, 3])
    >>> weights.product(a, b).matrix.toarray().tolist()
    [[0.0, 2.0, 0.0], [2.0, 0.0, 3.0], [0.0, 3.0, 0.0]]
    """
    if len(weights) < 2:
        raise SpecificationError("product needs at least two weights.")
    ws = _aligned(weights)
    matrix = ws[0].matrix
    for w in ws[1:]:
        matrix = sp.csr_array(matrix.multiply(w.matrix))
    out = finish(matrix, ws[0].ids, " x ".join(w.name or "w" for w in ws), islands=islands)
    return _mark_custom(out, ws)


def weighted_sum(
    weights: Sequence[Weights], coefficients: Sequence[float], *, islands: IslandPolicy = "raise"
) -> Weights:
    """Linear combination sum_m c_m W^(m) of weights over the same ids.

    Parameters
    ----------
    weights : sequence of Weights
        Matched by id, ordered as the first.
    coefficients : sequence of float
        One coefficient per weights.
    islands : {"raise", "keep", "drop"}, default "raise"
        Units without any non-zero weight in the sum.

    Examples
    --------
    >>> import numpy as np
    >>> from spillover import weights
    >>> a = weights.from_matrix(np.array([[0, 1], [1, 0]]), ids=["x", "y"])
    >>> weights.weighted_sum([a, a], [0.25, 0.5]).matrix.toarray().tolist()
    [[0.0, 0.75], [0.75, 0.0]]
    """
    coefficients = list(coefficients)
    if len(coefficients) != len(weights):
        raise SpecificationError(
            f"{len(weights)} weights but {len(coefficients)} coefficients; give one each."
        )
    ws = _aligned(list(weights))
    matrix = coefficients[0] * ws[0].matrix
    for c, w in zip(coefficients[1:], ws[1:], strict=True):
        matrix = matrix + c * w.matrix
    name = " + ".join(f"{c:g}*{w.name or 'w'}" for c, w in zip(coefficients, ws, strict=True))
    return _mark_custom(finish(sp.csr_array(matrix), ws[0].ids, name, islands=islands), ws)


def _mark_custom(out: Weights, inputs: list[Weights]) -> Weights:
    if any(w.transform != "original" for w in inputs):
        return out._with(out.matrix, transform="custom")
    return out


class WeightsByPeriod(Mapping[Any, Weights]):
    """Time-varying weights: one Weights per period, all over the same ids.

    Parameters
    ----------
    by_period : mapping period -> Weights
        E.g. technology proximity recomputed each year. All must hold the same set of
        ids; they are reordered to the ids of the first (matched by id).

    Notes
    -----
    A plain mapping, so it can be passed wherever a mapping period -> weights is
    accepted (e.g. :func:`spillover.measures.spillover_pool`). Use :meth:`align` to
    match it to a panel's periods and entities.

    Examples
    --------
    >>> import numpy as np
    >>> from spillover import weights
    >>> w = weights.from_matrix(np.array([[0, 1], [1, 0]]), ids=["a", "b"])
    >>> wt = weights.WeightsByPeriod.constant(w, [2000, 2001])
    >>> list(wt), wt[2001].n
    ([2000, 2001], 2)
    """

    def __init__(self, by_period: Mapping[Any, Weights]) -> None:
        if not len(by_period):
            raise SpecificationError("WeightsByPeriod needs at least one period.")
        periods = list(by_period)
        aligned = _aligned([by_period[p] for p in periods])
        self._items: dict[Any, Weights] = dict(zip(periods, aligned, strict=True))

    @classmethod
    def constant(cls, w: Weights, periods: Any) -> WeightsByPeriod:
        """The same weights in every period."""
        return cls({p: w for p in periods})

    @property
    def periods(self) -> pd.Index:
        return pd.Index(list(self._items))

    @property
    def ids(self) -> pd.Index:
        return next(iter(self._items.values())).ids

    def __getitem__(self, period: Any) -> Weights:
        if period not in self._items:
            raise KeyError(f"no weights for period {period!r}; periods: {preview(self.periods)}")
        return self._items[period]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return (
            f"WeightsByPeriod({len(self)} periods {preview(self.periods, 3)}, "
            f"n={len(self.ids)}, first: {next(iter(self._items.values()))!r})"
        )

    def map(self, func: Callable[[Weights], Weights]) -> WeightsByPeriod:
        """Apply ``func`` to each period's weights, e.g. ``wt.map(Weights.row_standardize)``."""
        return WeightsByPeriod({p: func(w) for p, w in self._items.items()})

    def align(self, panel: Any) -> WeightsByPeriod:
        """Restrict and order to a panel's periods and entities; raise listing mismatches.

        Every panel period needs weights (missing ones are listed); periods the panel
        does not have are left out. Each matrix is reordered to ``panel.entities``.
        """
        periods = pd.Index(panel.periods)
        missing = periods[~np.isin(periods, self.periods)]
        if len(missing):
            raise AlignmentError(
                f"time-varying weights have no matrix for {len(missing)} panel periods, "
                f"e.g. {preview(missing)} (weights periods: {preview(self.periods)})."
            )
        return WeightsByPeriod({p: self._items[p].align(panel.entities) for p in periods})
