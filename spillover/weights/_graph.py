"""Graph building blocks shared by network weights and knowledge networks.

An edge list enters through :func:`tie_arrays` (checked once: missing values, self-loops,
duplicate ties, unknown firms), and path lengths come from :func:`hop_distances`, a
level-synchronous breadth-first search over all firms at once in sparse algebra: only
the pairs within the distance limit are ever stored.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._typing import FloatArray, IntArray
from spillover._validate import preview, require_columns, warn_dropped
from spillover.errors import AlignmentError, SpecificationError, WeightsError

Duplicates = Literal["raise", "sum"]
SelfLoops = Literal["raise", "drop"]


class Ties(NamedTuple):
    """Checked ties between firms: positions into ``ids`` and tie strengths."""

    ids: pd.Index
    i: IntArray
    j: IntArray
    weight: FloatArray

    def adjacency(self, directed: bool) -> sp.csr_array:
        """N x N tie matrix in ``ids`` order; symmetric unless ``directed``."""
        n = len(self.ids)
        a = sp.csr_array((self.weight, (self.i, self.j)), shape=(n, n))
        return a if directed else sp.csr_array(a + a.T)


def tie_arrays(
    frame: pd.DataFrame,
    source: str,
    target: str,
    weight: str | None,
    *,
    ids: Any = None,
    directed: bool,
    duplicates: Duplicates = "raise",
    self_loops: SelfLoops = "raise",
) -> Ties:
    """Check an edge list and return its ties as positions into the firm ids.

    Undirected ties are stored once, with ``i < j``; (a, b) and (b, a) are the same tie.
    ``ids=None`` takes the sorted union of the endpoints.
    """
    if duplicates not in ("raise", "sum"):
        raise SpecificationError(f"duplicates must be 'raise' or 'sum', got {duplicates!r}.")
    if self_loops not in ("raise", "drop"):
        raise SpecificationError(f"self_loops must be 'raise' or 'drop', got {self_loops!r}.")
    require_columns(frame, [source, target] + ([weight] if weight else []), "edge list")
    src, dst = frame[source], frame[target]
    values = _tie_strengths(frame, weight)
    missing = src.isna().to_numpy() | dst.isna().to_numpy()
    if missing.any():
        raise WeightsError(
            f"{int(missing.sum())} edges have a missing firm id, e.g. rows "
            f"{preview(frame.index[missing])}."
        )
    index = _firm_index(ids, src, dst)
    i, j = index.get_indexer(src), index.get_indexer(dst)
    unknown = pd.Index(src[i < 0]).append(pd.Index(dst[j < 0])).unique()
    if len(unknown):
        raise AlignmentError(
            f"{len(unknown)} firms in the edge list are not in the firm table, e.g. "
            f"{preview(unknown)}. Add them to the node table or correct the ids."
        )
    loop = i == j
    if loop.any():
        if self_loops == "raise":
            raise WeightsError(
                f"{int(loop.sum())} edges tie a firm to itself, e.g. {preview(index[i[loop]])} "
                f"(rows {preview(frame.index[loop])}). Pass self_loops='drop' to drop them."
            )
        warn_dropped(int(loop.sum()), f"self-loops, e.g. firms {preview(index[i[loop]])}")
        i, j, values = i[~loop], j[~loop], values[~loop]
    if not directed:
        i, j = np.minimum(i, j), np.maximum(i, j)
    return _merge_duplicates(Ties(index, i, j, values), duplicates, directed)


def _tie_strengths(frame: pd.DataFrame, weight: str | None) -> FloatArray:
    if weight is None:
        return np.ones(len(frame))
    values = pd.to_numeric(frame[weight], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        raise WeightsError(
            f"{int(bad.sum())} edges have a missing, non-numeric or non-positive weight in "
            f"{weight!r}, e.g. rows {preview(frame.index[bad])}. A tie's strength must be > 0; "
            "leave absent ties out of the edge list."
        )
    return values


def _firm_index(ids: Any, src: pd.Series, dst: pd.Series) -> pd.Index:
    if ids is None:
        return pd.Index(pd.unique(pd.concat([src, dst]))).sort_values()
    index = pd.Index(ids)
    if index.has_duplicates:
        raise WeightsError(
            f"firm ids repeat: {preview(index[index.duplicated()].unique())}; give each firm once."
        )
    return index


def _merge_duplicates(ties: Ties, duplicates: Duplicates, directed: bool) -> Ties:
    n = len(ties.ids)
    key = ties.i.astype(np.int64) * n + ties.j
    uniq, inverse = np.unique(key, return_inverse=True)
    if len(uniq) == len(key):
        return ties
    if duplicates == "raise":
        dup = pd.Series(key).duplicated().to_numpy()
        pairs = [
            f"({ties.ids[a]!r}, {ties.ids[b]!r})"
            for a, b in zip(ties.i[dup][:5], ties.j[dup][:5], strict=True)
        ]
        kind = "(source, target) pairs" if directed else "ties (in either direction)"
        raise WeightsError(
            f"{int(dup.sum())} {kind} appear more than once, e.g. {', '.join(pairs)}. Pass "
            "duplicates='sum' to add their weights (e.g. several joint patents), or "
            "aggregate the edge list first."
        )
    summed = np.bincount(inverse, weights=ties.weight, minlength=len(uniq))
    return Ties(ties.ids, (uniq // n).astype(np.intp), (uniq % n).astype(np.intp), summed)


def hop_distances(adjacency: sp.csr_array, max_distance: int) -> sp.csr_array:
    """Shortest-path lengths in ties (hops) from each row firm, up to ``max_distance``.

    ``adjacency[i, j] != 0`` is a tie from i to j (tie strengths are ignored). Returns a
    sparse matrix whose stored entries are the pairs i != j with 1 <= d_ij <= max_distance,
    with value d_ij; pairs farther apart or unreachable are not stored.

    Notes
    -----
    A breadth-first search from every firm at once: the frontier at distance d is the set
    of pairs reached by one more tie from the frontier at d - 1 and not reached before.
    Memory and time are proportional to the pairs within ``max_distance`` (times the mean
    degree), never to N^2 unless every pair is that close.
    """
    if isinstance(max_distance, bool) or not isinstance(max_distance, int | np.integer):
        raise SpecificationError(f"max_distance must be an integer >= 1, got {max_distance!r}.")
    if max_distance < 1:
        raise SpecificationError(f"max_distance must be >= 1, got {max_distance}.")
    n = adjacency.shape[0]
    step = _binary(adjacency)
    reached = _binary(sp.csr_array(step + sp.eye_array(n, format="csr")))
    frontier, dist = step, sp.csr_array(step)
    for d in range(2, max_distance + 1):
        nxt = _binary(sp.csr_array(frontier @ step))
        nxt = sp.csr_array(nxt - nxt.multiply(reached))
        nxt.eliminate_zeros()
        if nxt.nnz == 0:
            break
        dist = sp.csr_array(dist + d * nxt)
        reached = sp.csr_array(reached + nxt)
        frontier = nxt
    dist.sort_indices()
    return dist


def _binary(m: sp.csr_array) -> sp.csr_array:
    out = sp.csr_array(m, dtype=np.float64, copy=True)
    out.eliminate_zeros()
    out.data[:] = 1.0
    return out
