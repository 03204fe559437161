"""Centralities of firms in a knowledge network, thin over networkx.

Each function returns a Series or DataFrame indexed by firm id in ``net.ids`` order and
states networkx's convention it inherits.
"""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pandas as pd

from spillover._validate import user_stacklevel
from spillover.errors import DisconnectedWeightsWarning, SpecificationError
from spillover.networks._network import KnowledgeNetwork


def degree(net: KnowledgeNetwork, *, weighted: bool = False) -> pd.DataFrame:
    """Number of ties (or their total strength) of each firm.

    Parameters
    ----------
    net : KnowledgeNetwork
    weighted : bool, default False
        Sum tie strengths ("strength") instead of counting ties.

    Returns
    -------
    pandas.DataFrame
        Undirected: one column ``degree``. Directed: ``in_degree`` (ties received, e.g.
        times named as a source of advice) and ``out_degree`` (ties sent). Unnormalised;
        networkx's ``degree_centrality`` is ``degree / (N - 1)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.networks import KnowledgeNetwork, degree
    >>> net = KnowledgeNetwork.from_edges(pd.DataFrame({"source": [1, 1], "target": [2, 3]}))
    >>> degree(net)["degree"].tolist()
    [2.0, 1.0, 1.0]
    """
    a = net.adjacency.copy()
    if not weighted:
        a.data[:] = 1.0
    out = np.asarray(a.sum(axis=1)).ravel()
    if not net.directed:
        return pd.DataFrame({"degree": out}, index=net.ids)
    into = np.asarray(a.sum(axis=0)).ravel()
    return pd.DataFrame({"in_degree": into, "out_degree": out}, index=net.ids)


def betweenness(
    net: KnowledgeNetwork, *, normalized: bool = True, weighted: bool = False
) -> pd.Series:
    """Betweenness centrality: the share of shortest paths between other firms through i.

    Parameters
    ----------
    net : KnowledgeNetwork
    normalized : bool, default True
        Divide by the number of pairs of other firms (see Notes).
    weighted : bool, default False
        Path length as the sum of 1 / tie strength instead of the number of ties.

    Returns
    -------
    pandas.Series
        Indexed by firm id.

    Notes
    -----
    ``networkx.betweenness_centrality`` (Brandes' algorithm, exact). ``normalized``:
    divided by (N - 1)(N - 2) / 2 for undirected and (N - 1)(N - 2) for directed graphs
    (the number of pairs not involving i); unnormalised undirected values count each
    pair once. ``weighted=True`` measures path length as the sum of 1 / tie strength
    (stronger ties are shorter), networkx's ``weight="distance"``; default: hops.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.networks import KnowledgeNetwork, betweenness
    >>> star = pd.DataFrame({"source": ["hub"] * 3, "target": ["a", "b", "c"]})
    >>> betweenness(KnowledgeNetwork.from_edges(star), normalized=False).to_dict()
    {'a': 0.0, 'b': 0.0, 'c': 0.0, 'hub': 3.0}
    """
    weight = "distance" if weighted else None
    values = nx.betweenness_centrality(net.graph, normalized=normalized, weight=weight)
    return _series(net, values, "betweenness")


def closeness(net: KnowledgeNetwork, *, weighted: bool = False) -> pd.Series:
    """Closeness centrality, (r - 1) / sum of distances to the r - 1 firms i can reach.

    Parameters
    ----------
    net : KnowledgeNetwork
    weighted : bool, default False
        Distances as sums of 1 / tie strength instead of numbers of ties.

    Returns
    -------
    pandas.Series
        Indexed by firm id.

    Notes
    -----
    ``networkx.closeness_centrality`` with ``wf_improved=True``: in a disconnected network
    the value is scaled by (r - 1) / (N - 1) (Wasserman and Faust), so firms in small
    components are not rated central; isolated firms get 0. For directed networks it is
    the distance *to* i from the firms that reach it (incoming paths). ``weighted``:
    distances are sums of 1 / tie strength.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.networks import KnowledgeNetwork, closeness
    >>> path = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"]})
    >>> closeness(KnowledgeNetwork.from_edges(path)).tolist()
    [0.6666666666666666, 1.0, 0.6666666666666666]
    """
    weight = "distance" if weighted else None
    return _series(net, nx.closeness_centrality(net.graph, distance=weight), "closeness")


def eigenvector(net: KnowledgeNetwork, *, weighted: bool = False) -> pd.Series:
    """Eigenvector centrality: the Perron eigenvector of the tie matrix, unit length.

    Parameters
    ----------
    net : KnowledgeNetwork
    weighted : bool, default False
        Use tie strengths instead of 0/1 ties.

    Returns
    -------
    pandas.Series
        Indexed by firm id; NaN outside the largest component (see Notes).

    Raises
    ------
    SpecificationError
        If no connected component has three firms.

    Notes
    -----
    ``networkx.eigenvector_centrality_numpy`` (ARPACK to machine precision): x solves
    lambda x_i = sum_j a_ji x_j for the largest eigenvalue lambda, scaled to Euclidean
    norm 1 and positive. Directed networks use the ties *received* (left eigenvector, as
    networkx). The vector is unique and positive only in a connected (directed: strongly
    connected) network, and networkx refuses any other. Here a DisconnectedWeightsWarning
    is issued instead and the centrality is computed within the largest connected
    (directed: strongly connected) component (the first in firm order if two are as
    large), scaled to norm 1 there; every other firm,
    isolated firms included, gets NaN. Use degree, or compute per component, if those
    firms matter.

    Examples
    --------
    >>> import networkx as nx, numpy as np, pandas as pd
    >>> from spillover.networks import KnowledgeNetwork, eigenvector
    >>> edges = nx.to_pandas_edgelist(nx.karate_club_graph())
    >>> x = eigenvector(KnowledgeNetwork.from_edges(edges))
    >>> bool(np.isclose(x.pow(2).sum(), 1.0)), int(x.idxmax())
    (True, 33)
    """
    g = net.graph
    if net.n_ties == 0:
        raise SpecificationError("eigenvector centrality needs at least one tie.")
    parts = list(
        nx.strongly_connected_components(g) if net.directed else nx.connected_components(g)
    )
    weight = "weight" if weighted else None
    largest = max(parts, key=len)
    if len(largest) <= 2:  # ARPACK needs N >= 3
        raise SpecificationError(
            f"the largest {'strongly ' if net.directed else ''}connected component has "
            f"{len(largest)} firm(s): eigenvector centrality is not informative; use degree."
        )
    if len(parts) == 1:
        return _series(net, nx.eigenvector_centrality_numpy(g, weight=weight), "eigenvector")
    kind = "strongly connected" if net.directed else "connected"
    warnings.warn(
        f"the network is not {kind} ({len(parts)} components): eigenvector centrality is "
        f"computed within the largest component ({len(largest)} of {len(g)} firms); the "
        "other firms get NaN.",
        DisconnectedWeightsWarning,
        stacklevel=user_stacklevel(),
    )
    values = nx.eigenvector_centrality_numpy(g.subgraph(largest), weight=weight)
    return _series(net, values, "eigenvector")


def _series(net: KnowledgeNetwork, values: dict, name: str) -> pd.Series:
    data = [values.get(i, np.nan) for i in net.ids]
    return pd.Series(data, index=net.ids, name=name, dtype=float)
