"""Where weights enter: the one coercion of user input to Weights, and weights by period.

Every consumer (spatial and panel models, diagnostics, measures, simulators, effects)
receives W through :func:`as_weights`, or through :class:`WeightsByPeriod` for one W per
period, so every input type is accepted, matched and refused the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._validate import preview
from spillover.errors import AlignmentError, SpecificationError, WeightsError
from spillover.linalg.matrix import SpatialMatrix
from spillover.linalg.stacking import PeriodMatrices
from spillover.panel import Panel
from spillover.weights._base import Weights

Bare = Literal["refuse", "positional"]


def as_weights(
    w: Any, ids: Any = None, *, what: str = "panel entities", bare: Bare = "refuse"
) -> Weights:
    """The one way user input becomes :class:`Weights`, matched by id (never mutated).

    Parameters
    ----------
    w : Weights, libpysal W or Graph, scipy sparse matrix/array or numpy array
        A Weights is used as is; a libpysal ``W``/``Graph`` takes its ids from its own id
        order (:meth:`Weights.from_libpysal`). A bare matrix has no ids: see ``bare``.
    ids : index-like or Panel, optional
        The entities the caller needs W over, in the caller's order (a Panel gives its
        sorted ``entities``). W is matched to them by id and reordered; ids on one side
        only are an AlignmentError listing them. None: W keeps its own ids and order.
    what : str, default "panel entities"
        What ``ids`` are, for the messages.
    bare : {"refuse", "positional"}, default "refuse"
        A matrix without ids. ``"refuse"``: a WeightsError that names the fixes,
        ``Weights(matrix, ids)`` / :func:`~spillover.weights.from_matrix` (matched by id)
        or :meth:`Weights.in_panel_order` (the user states the panel's entity order).
        ``"positional"``: its rows get the ids 0..N-1, for callers whose data carry no ids
        either (the simulators, which build the panel from W; the effects, which do not
        depend on how entities are numbered; array-level diagnostics, whose rows are
        positions).

    Returns
    -------
    Weights

    Raises
    ------
    WeightsError
        A bare matrix with ``bare="refuse"``, weights by period, or an unknown type.
    AlignmentError
        If the ids of W and ``ids`` differ.

    Examples
    --------
    >>> import numpy as np
    >>> from spillover.weights import as_weights, from_matrix
    >>> w = from_matrix(np.array([[0, 1], [1, 0]]), ids=["a", "b"])
    >>> list(as_weights(w, ["b", "a"]).ids)
    ['b', 'a']
    >>> as_weights(np.array([[0, 1.0], [1.0, 0]]), ["a", "b"])
    Traceback (most recent call last):
    ...
    spillover.errors.WeightsError: w is a bare numpy array without entity ids, ...
    """
    out = _coerce(w, what, bare)
    if ids is None:
        return out
    return out.align(getattr(ids, "entities", ids), what=what)


def _coerce(w: Any, what: str, bare: Bare) -> Weights:
    if isinstance(w, Weights):
        return w
    if isinstance(w, Mapping):
        raise WeightsError(
            f"weights by period ({type(w).__name__}) are not accepted here; pass one W for "
            "all periods."
        )
    if hasattr(w, "sparse") and not sp.issparse(w):
        return Weights.from_libpysal(w)
    if not (sp.issparse(w) or isinstance(w, np.ndarray | SpatialMatrix)):
        raise WeightsError(
            "w must be spillover Weights, a libpysal W/Graph, a scipy sparse matrix or a "
            f"numpy array, not {type(w).__name__}."
        )
    if bare == "positional":
        matrix = sp.csr_array(getattr(w, "matrix", w), dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise WeightsError(f"weights must be an N x N matrix, got shape {matrix.shape}.")
        return Weights(matrix, pd.RangeIndex(matrix.shape[0]), "matrix", "custom")
    if bare != "refuse":
        raise SpecificationError(f"bare must be 'refuse' or 'positional', got {bare!r}.")
    kind = "numpy array" if isinstance(w, np.ndarray) else f"{type(w).__name__} matrix"
    raise WeightsError(
        f"w is a bare {kind} without entity ids, so it cannot be matched to the {what} by "
        "id (it is never matched by position silently). Give it the ids of its rows, "
        "Weights(matrix, ids) or weights.from_matrix(matrix, ids=...); or, if its rows and "
        "columns follow the panel's sorted entity order, say so with "
        "Weights.in_panel_order(matrix, panel)."
    )


def is_by_period(w: Any) -> bool:
    """True for weights by period: a :class:`WeightsByPeriod` or any mapping period -> W."""
    return isinstance(w, Mapping)


class WeightsByPeriod(Mapping[Any, Weights]):
    """Time-varying weights: one Weights per period.

    Parameters
    ----------
    by_period : mapping period -> Weights or libpysal W/Graph
        E.g. technology proximity recomputed each year. Each is converted by
        :func:`as_weights` and keeps its own ids and order, so the periods of an unbalanced
        panel may hold different entities. Bare matrices are refused (no ids to match).

    Notes
    -----
    The one form of weights by period, accepted wherever a mapping period -> weights is
    (models, :func:`spillover.measures.spillover_pool`, effects), with one alignment
    policy, :meth:`check` (and :meth:`align`, which also orders each W_t as the panel).

    Examples
    --------
    >>> import numpy as np
    >>> from spillover import weights
    >>> w = weights.from_matrix(np.array([[0, 1], [1, 0]]), ids=["a", "b"])
    >>> wt = weights.WeightsByPeriod.constant(w, [2000, 2001])
    >>> list(wt), wt[2001].n
    ([2000, 2001], 2)
    """

    def __init__(self, by_period: Mapping[Any, Any]) -> None:
        if not len(by_period):
            raise SpecificationError("WeightsByPeriod needs at least one period.")
        self._items: dict[Any, Weights] = {
            p: as_weights(w, what=f"entities of period {p!r}") for p, w in by_period.items()
        }

    @classmethod
    def constant(cls, w: Weights, periods: Any) -> WeightsByPeriod:
        """The same weights in every period."""
        return cls({p: w for p in periods})

    @property
    def periods(self) -> pd.Index:
        return pd.Index(list(self._items))

    @property
    def ids(self) -> pd.Index:
        """Every id of any period, in order of first appearance."""
        return pd.Index(pd.unique(np.concatenate([w.ids.to_numpy() for w in self.values()])))

    @property
    def n(self) -> int:
        """Number of entities over all periods (N of each W_t once aligned to a panel)."""
        return len(self.ids)

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

    @cached_property
    def matrices(self) -> PeriodMatrices:
        """The W algebra's view: each distinct matrix once, with the periods using it."""
        return PeriodMatrices.of(list(self._items.values()), labels=list(self._items))

    def check(self, panel: Panel, periods: Any = None) -> WeightsByPeriod:
        """The one alignment policy of weights by period; each W_t keeps its order.

        For every period of ``panel`` (or of ``periods``, a subset): a W_t must exist
        (missing periods are listed), it may hold only panel entities (extras are listed)
        and must hold every entity observed in that period (absent ones are listed).
        Periods the panel does not have are left out. A balanced panel thus needs W_t over
        exactly its entities.

        Raises
        ------
        AlignmentError
            Naming the periods or ids at fault.
        """
        wanted = list(panel.periods if periods is None else periods)
        missing = [p for p in wanted if p not in self._items]
        if missing:
            raise AlignmentError(
                f"weights by period have no matrix for {len(missing)} panel periods, e.g. "
                f"{preview(missing)} (weights periods: {preview(self.periods)}). Supply one "
                "Weights per period."
            )
        index = panel.data.index
        observed = (
            {}
            if panel.is_balanced
            else index.get_level_values(0).groupby(index.get_level_values(1))
        )
        for p in wanted:
            _check_period(self._items[p], p, panel.entities, observed.get(p, panel.entities))
        return WeightsByPeriod({p: self._items[p] for p in wanted})

    def align(self, panel: Panel) -> WeightsByPeriod:
        """:meth:`check`, then each W_t ordered as ``panel.entities`` (restricted to its ids).

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from spillover import Panel, weights
        >>> df = pd.DataFrame({"r": ["a", "b"] * 2, "t": [1, 1, 2, 2], "y": 1.0})
        >>> panel = Panel(df, entity="r", time="t")
        >>> w = weights.from_matrix(np.array([[0, 1], [1, 0]]), ids=["b", "a"])
        >>> aligned = weights.WeightsByPeriod({1: w, 2: w, 3: w}).align(panel)
        >>> list(aligned), list(aligned[1].ids)
        ([1, 2], ['a', 'b'])
        """
        entities = panel.entities
        return WeightsByPeriod(
            {
                p: w.align(entities[entities.isin(w.ids)], what=f"panel entities of period {p!r}")
                for p, w in self.check(panel).items()
            }
        )


def _check_period(w: Weights, period: Any, entities: pd.Index, observed: pd.Index) -> None:
    extra = w.ids.difference(entities)
    if len(extra):
        raise AlignmentError(
            f"weights for period {period!r} hold {len(extra)} ids that are not panel "
            f"entities, e.g. {preview(extra)}. Restrict them with w.subset(...)."
        )
    lost = observed[~observed.isin(w.ids)]
    if len(lost):
        raise AlignmentError(
            f"weights for period {period!r} have no row for {len(lost)} entities observed "
            f"in that period, e.g. {preview(lost)}. Build each period's weights over the "
            "entities present in it."
        )
