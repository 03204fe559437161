"""Network-proximity weights: the tie itself, or a decay in path length, matched by firm id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._typing import FloatArray
from spillover._validate import preview
from spillover.errors import AlignmentError, SpecificationError, WeightsError
from spillover.weights._base import IslandPolicy, Weights
from spillover.weights._graph import Duplicates, hop_distances, tie_arrays
from spillover.weights._inputs import finish

Kind = Literal["adjacency", "decay"]
Decay = Literal["exponential", "power"] | Callable[[FloatArray], FloatArray]


def network(
    edges_or_network: Any,
    *,
    ids: Any = None,
    kind: Kind = "adjacency",
    decay: Decay = "exponential",
    scale: float = 1.0,
    alpha: float = 1.0,
    max_distance: int = 3,
    directed: bool | None = None,
    binary: bool = False,
    source: str = "source",
    target: str = "target",
    weight: str | None = None,
    duplicates: Duplicates = "raise",
    islands: IslandPolicy = "raise",
    name: str | None = None,
) -> Weights:
    """Weights from a firm network: w_ij is the tie from i to j, or a decay in path length.

    Parameters
    ----------
    edges_or_network : KnowledgeNetwork or pandas.DataFrame
        A :class:`spillover.networks.KnowledgeNetwork`, or an edge list with columns
        ``source``, ``target`` and optionally ``weight`` (checked as by
        :meth:`KnowledgeNetwork.from_edges`: self-loops and missing ids are refused).
    ids : index-like or Panel, optional
        The firms W is wanted over, in order (a Panel gives its sorted entities). Every firm
        with a tie must be among them (else AlignmentError naming them); listed firms
        without ties get an empty row, handled by ``islands``. Network firms without ties
        that are not listed are left out. Default: the network's firms.
    kind : {"adjacency", "decay"}, default "adjacency"
        ``"adjacency"``: w_ij = tie strength (1 if unweighted or ``binary``).
        ``"decay"``: w_ij = f(d_ij), d_ij the shortest path length in ties from i to j
        (tie strengths ignored), for 1 <= d_ij <= ``max_distance``; 0 beyond.
    decay : {"exponential", "power"} or callable, default "exponential"
        f(d) = exp(-(d - 1) / scale) (a direct tie weighs 1), f(d) = d ** -alpha, or a
        function of an array of path lengths returning finite weights >= 0.
    scale, alpha : float
        Parameters of the exponential and power decays (> 0).
    max_distance : int, default 3
        Longest path counted by ``kind="decay"``.
    directed : bool, optional
        Follow ties from source to target only. Default: the network's own setting (an
        edge list is undirected). ``False`` on a directed network uses ties in either
        direction (w_ij = max(a_ij, a_ji) for ``"adjacency"``).
    binary : bool, default False
        ``kind="adjacency"`` with w_ij = 1 for every tie, whatever its strength.
    source, target, weight : str
        Columns of an edge list (ignored for a KnowledgeNetwork).
    duplicates : {"raise", "sum"}, default "raise"
        A tie listed twice in an edge list: refuse, or add the weights.
    islands : {"raise", "keep", "drop"}, default "raise"
        Firms with an empty row (no tie, or none within ``max_distance``).
    name : str, optional
        Label in summaries.

    Returns
    -------
    Weights
        Sparse; not row-standardised (use :meth:`Weights.row_standardize`).

    Raises
    ------
    AlignmentError
        A firm with ties is not among ``ids``.
    WeightsError
        Bad edges, or islands with ``islands="raise"``.

    Notes
    -----
    Path lengths come from a breadth-first search from every firm at once in sparse
    algebra, so only pairs within ``max_distance`` are stored; no N x N dense matrix.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover import weights
    >>> edges = pd.DataFrame({"source": ["a", "b", "c"], "target": ["b", "c", "d"]})
    >>> w = weights.network(edges, kind="decay", decay="power", max_distance=2)
    >>> w.matrix.toarray().tolist()[0]
    [0.0, 1.0, 0.5, 0.0]
    """
    net_ids, adjacency, directed = _graph(
        edges_or_network, directed, source, target, weight, duplicates
    )
    if kind == "adjacency":
        matrix = adjacency
        if binary:
            matrix = sp.csr_array(matrix, copy=True)
            matrix.data[:] = 1.0
        label = "network adjacency"
    elif kind == "decay":
        matrix = hop_distances(adjacency, max_distance)
        matrix.data = _decay_weights(matrix.data, decay, scale, alpha)
        label = f"network decay(max_distance={max_distance})"
    else:
        raise SpecificationError(f"kind must be 'adjacency' or 'decay', got {kind!r}.")
    matrix, index = _to_ids(matrix, adjacency, net_ids, ids)
    return finish(matrix, index, name or label, islands=islands, meta={"directed": directed})


def _graph(
    obj: Any,
    directed: bool | None,
    source: str,
    target: str,
    weight: str | None,
    duplicates: Duplicates,
) -> tuple[pd.Index, sp.csr_array, bool]:
    """Firm ids, tie matrix (symmetric unless directed) and the direction used."""
    if isinstance(obj, pd.DataFrame):
        use = bool(directed)
        ties = tie_arrays(obj, source, target, weight, directed=use, duplicates=duplicates)
        return ties.ids, ties.adjacency(use), use
    if not all(hasattr(obj, a) for a in ("ids", "adjacency", "directed")):
        raise WeightsError(
            "network weights need a KnowledgeNetwork or an edge-list DataFrame, not "
            f"{type(obj).__name__}."
        )
    a = sp.csr_array(obj.adjacency)
    use = obj.directed if directed is None else bool(directed)
    if obj.directed and not use:
        a = sp.csr_array(a.maximum(a.T))
    return pd.Index(obj.ids), a, use


def _decay_weights(d: FloatArray, decay: Decay, scale: float, alpha: float) -> FloatArray:
    if callable(decay):
        w = np.asarray(decay(d.copy()), dtype=float)
        if w.shape != d.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise WeightsError(
                "the decay function must return one finite weight >= 0 per path length."
            )
        return w
    if decay == "exponential":
        _positive(scale, "scale")
        return np.exp(-(d - 1.0) / scale)
    if decay == "power":
        _positive(alpha, "alpha")
        return d**-alpha
    raise SpecificationError(f"decay must be 'exponential', 'power' or a function, got {decay!r}.")


def _positive(value: float, what: str) -> None:
    if not (np.isfinite(value) and value > 0):
        raise SpecificationError(f"{what} must be a finite number > 0, got {value!r}.")


def _to_ids(
    matrix: sp.csr_array, adjacency: sp.csr_array, net_ids: pd.Index, ids: Any
) -> tuple[sp.csr_array, pd.Index]:
    """``matrix`` (in network order) re-indexed to ``ids``, matched by id."""
    if ids is None:
        return matrix, net_ids
    index = pd.Index(getattr(ids, "entities", ids))
    if index.has_duplicates:
        raise AlignmentError(f"ids repeat: {preview(index[index.duplicated()].unique())}.")
    in_ties = np.bincount(adjacency.indices, minlength=len(net_ids))
    tied = (np.diff(adjacency.indptr) > 0) | (in_ties > 0)
    pos = index.get_indexer(net_ids)
    lost = net_ids[tied & (pos < 0)]
    if len(lost):
        raise AlignmentError(
            f"{len(lost)} firms with ties are not among ids=, e.g. {preview(lost)}; their "
            "ties would be lost. Add them to ids (e.g. the panel's firms) or drop their ties."
        )
    coo = matrix.tocoo()
    keep = (pos[coo.row] >= 0) & (pos[coo.col] >= 0)
    n = len(index)
    out = sp.csr_array((coo.data[keep], (pos[coo.row[keep]], pos[coo.col[keep]])), shape=(n, n))
    return out, index
