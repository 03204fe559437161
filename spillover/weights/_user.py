"""Weights from a user's matrix or edge list, checked and matched by id."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._validate import preview, require_columns
from spillover.errors import AlignmentError, SpecificationError, WeightsError
from spillover.weights._base import IslandPolicy, Weights
from spillover.weights._inputs import finish

Diagonal = Literal["raise", "zero", "keep"]


def from_matrix(
    matrix: Any,
    ids: Any = None,
    *,
    name: str = "user",
    diagonal: Diagonal = "raise",
    islands: IslandPolicy = "raise",
) -> Weights:
    """Weights from a square dense array, scipy sparse matrix or labelled DataFrame.

    Parameters
    ----------
    matrix : array, scipy sparse matrix/array or pandas.DataFrame
        N x N weights, ``matrix[i, j]`` the weight unit i gives unit j. A DataFrame's
        index and columns are the ids (columns are reordered to match the index).
    ids : sequence, optional
        Entity id of each row/column; required unless ``matrix`` is a DataFrame.
    name : str, default "user"
        Label in summaries.
    diagonal : {"raise", "zero", "keep"}, default "raise"
        Non-zero self-weights w_ii: raise naming the ids, set them to zero, or keep them.
    islands : {"raise", "keep", "drop"}, default "raise"
        Rows without any non-zero weight.

    Returns
    -------
    Weights

    Raises
    ------
    WeightsError
        If the matrix is not square, has NaN/inf, ids do not fit, or w_ii != 0.

    Examples
    --------
    >>> import numpy as np
    >>> from spillover import weights
    >>> w = weights.from_matrix(np.array([[0, 1], [2, 0]]), ids=["a", "b"])
    >>> w.row_standardize().matrix.toarray().tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    if isinstance(matrix, pd.DataFrame):
        if ids is not None:
            raise SpecificationError("ids= is only for unlabelled matrices; the index is used.")
        if set(matrix.columns) != set(matrix.index) or len(matrix.columns) != len(matrix.index):
            raise AlignmentError(
                "a weights DataFrame needs the same ids as index and columns; columns not in "
                f"the index: {preview(matrix.columns.difference(matrix.index))}, index not in "
                f"the columns: {preview(matrix.index.difference(matrix.columns))}."
            )
        ids, matrix = matrix.index, matrix[list(matrix.index)].to_numpy(dtype=float)
    if ids is None:
        raise SpecificationError("from_matrix needs ids= (the entity id of each row/column).")
    shape = matrix.shape if sp.issparse(matrix) else np.shape(matrix)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise WeightsError(
            f"weights must be square (N x N), got shape {shape}; rows and columns "
            "are the same entities."
        )
    csr = matrix if sp.issparse(matrix) else sp.csr_array(np.asarray(matrix, dtype=np.float64))
    csr = sp.csr_array(csr, dtype=np.float64)
    index = pd.Index(ids)
    diag = csr.diagonal()
    if np.any(diag != 0) and diagonal != "keep":
        if diagonal == "raise":
            bad = index[diag != 0]
            raise WeightsError(
                f"{len(bad)} units have a non-zero weight on themselves, e.g. {preview(bad)}. "
                "Spatial weights exclude the unit itself: pass diagonal='zero' to remove "
                "them or diagonal='keep' if intended."
            )
        if diagonal != "zero":
            raise SpecificationError(
                f"diagonal must be 'raise', 'zero' or 'keep', got {diagonal!r}."
            )
        csr = sp.csr_array(csr - sp.diags_array(diag))
    return finish(csr, index, name, islands=islands)


def from_edges(
    frame: pd.DataFrame,
    source: str,
    target: str,
    weight: str | None = None,
    *,
    ids: Any = None,
    directed: bool = True,
    islands: IslandPolicy = "raise",
    name: str = "edges",
) -> Weights:
    """Weights from an edge list: one row per (source, target[, weight]).

    Parameters
    ----------
    frame : pandas.DataFrame
        The edges; ``w[source, target] = weight``.
    source, target : str
        Columns holding entity ids.
    weight : str, optional
        Column of weights; binary (1) if omitted.
    ids : sequence, optional
        All entity ids in the wanted order (units without edges become islands). By
        default the sorted union of sources and targets.
    directed : bool, default True
        If False, every edge also sets ``w[target, source]``.
    islands : {"raise", "keep", "drop"}, default "raise"
        Units listed in ``ids`` without outgoing edges.
    name : str, default "edges"
        Label in summaries.

    Raises
    ------
    WeightsError
        On missing ids or weights, self-links, or the same pair listed twice.
    AlignmentError
        If an edge names an id not in ``ids``.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover import weights
    >>> edges = pd.DataFrame({"from": ["a", "b"], "to": ["b", "c"], "flow": [2.0, 1.0]})
    >>> w = weights.from_edges(edges, "from", "to", "flow", directed=False)
    >>> w.cardinalities.tolist()
    [1, 2, 1]
    """
    require_columns(frame, [source, target] + ([weight] if weight else []), "edge list")
    src, dst = frame[source], frame[target]
    values = frame[weight].to_numpy(dtype=float) if weight else np.ones(len(frame))
    missing = src.isna().to_numpy() | dst.isna().to_numpy() | ~np.isfinite(values)
    if missing.any():
        raise WeightsError(
            f"{int(missing.sum())} edges have a missing id or weight, e.g. rows "
            f"{preview(frame.index[missing])}."
        )
    if not directed:
        src, dst = pd.concat([src, dst]), pd.concat([dst, src])
        values = np.concatenate([values, values])
    index = pd.Index(ids) if ids is not None else pd.Index(pd.unique(pd.concat([src, dst])))
    if ids is None:
        index = index.sort_values()
    elif index.has_duplicates:
        raise WeightsError(
            f"ids= lists {int(index.duplicated().sum())} entities more than once, e.g. "
            f"{preview(index[index.duplicated()].unique())}; give each entity id once."
        )
    i, j = index.get_indexer(src), index.get_indexer(dst)
    unknown = pd.Index(src[i < 0]).append(pd.Index(dst[j < 0])).unique()
    if len(unknown):
        raise AlignmentError(
            f"{len(unknown)} edge ids are not among ids=, e.g. {preview(unknown)}."
        )
    _check_pairs(i, j, index)
    matrix = sp.csr_array((values, (i, j)), shape=(len(index), len(index)))
    return finish(matrix, index, name, islands=islands)


def _check_pairs(i: Any, j: Any, index: pd.Index) -> None:
    self_link = i == j
    if self_link.any():
        raise WeightsError(
            f"{int(self_link.sum())} edges link a unit to itself, e.g. "
            f"{preview(index[i[self_link]])}; spatial weights exclude the unit itself."
        )
    key = pd.Series(i.astype(np.int64) * len(index) + j)
    dup = key.duplicated().to_numpy()
    if dup.any():
        pairs = [
            f"({index[a]!r}, {index[b]!r})" for a, b in zip(i[dup][:5], j[dup][:5], strict=True)
        ]
        raise WeightsError(
            f"{int(dup.sum())} (source, target) pairs appear more than once, e.g. "
            f"{', '.join(pairs)}. Aggregate them first (e.g. groupby().sum()); with "
            "directed=False list each pair once."
        )
