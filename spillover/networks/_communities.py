"""Communities of firms (Louvain, greedy modularity) and Burt's structural holes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import networkx as nx
import pandas as pd

from spillover.errors import SpecificationError
from spillover.networks._network import KnowledgeNetwork

Method = Literal["louvain", "greedy"]


@dataclass(frozen=True)
class Communities:
    """A partition of the firms into communities.

    Attributes
    ----------
    labels : pandas.Series
        Community of each firm (0 the largest, ties broken by the smallest firm position),
        indexed by firm id in ``net.ids`` order.
    modularity : float
        ``networkx.community.modularity`` of the partition, with the same ``resolution``
        and weights as the search.
    method : str
    resolution : float
    """

    labels: pd.Series
    modularity: float
    method: str
    resolution: float

    @property
    def sizes(self) -> pd.Series:
        """Number of firms in each community."""
        return self.labels.value_counts().sort_index().rename("firms")


def communities(
    net: KnowledgeNetwork,
    *,
    method: Method = "louvain",
    resolution: float = 1.0,
    weighted: bool = True,
    seed: int | None = 0,
) -> Communities:
    """Communities maximising modularity, by Louvain (seeded) or greedy agglomeration.

    Parameters
    ----------
    net : KnowledgeNetwork
    method : {"louvain", "greedy"}, default "louvain"
        ``networkx.community.louvain_communities`` (Blondel et al. 2008; randomised node
        order, so seeded) or ``greedy_modularity_communities`` (Clauset, Newman and Moore
        2004; deterministic).
    resolution : float, default 1
        Modularity resolution gamma (below 1 favours larger communities).
    weighted : bool, default True
        Use tie strengths (no effect on an unweighted network).
    seed : int, default 0
        Seed of the Louvain node order, passed to networkx as is; the same seed and the
        same firm order (``net.ids``) give the same partition (None: fresh entropy).

    Notes
    -----
    Modularity Q = (1 / 2m) sum_ij (a_ij - gamma k_i k_j / 2m) [c_i = c_j]; directed
    networks use the directed form (Leicht and Newman 2008), as networkx. Isolated firms
    are communities of their own.

    Examples
    --------
    >>> import networkx as nx
    >>> from spillover.networks import KnowledgeNetwork, communities
    >>> net = KnowledgeNetwork.from_edges(nx.to_pandas_edgelist(nx.karate_club_graph()))
    >>> part = communities(net, method="greedy", weighted=False)
    >>> round(part.modularity, 4), part.sizes.tolist()
    (0.3807, [17, 9, 8])
    """
    if not resolution > 0:
        raise SpecificationError(f"resolution must be > 0, got {resolution!r}.")
    weight = "weight" if weighted else None
    g = net.graph
    if method == "louvain":
        found = nx.community.louvain_communities(g, weight=weight, resolution=resolution, seed=seed)
    elif method == "greedy":
        found = nx.community.greedy_modularity_communities(g, weight=weight, resolution=resolution)
    else:
        raise SpecificationError(f"method must be 'louvain' or 'greedy', got {method!r}.")
    q = nx.community.modularity(g, found, weight=weight, resolution=resolution)
    return Communities(_labels(net, found), float(q), method, float(resolution))


def _labels(net: KnowledgeNetwork, found: list) -> pd.Series:
    pos = {firm: k for k, firm in enumerate(net.ids)}
    ordered = sorted(found, key=lambda c: (-len(c), min(pos[f] for f in c)))
    label = {firm: k for k, c in enumerate(ordered) for firm in c}
    return pd.Series([label[i] for i in net.ids], index=net.ids, name="community")


def constraint(net: KnowledgeNetwork, *, weighted: bool = True) -> pd.Series:
    """Burt's constraint c_i = sum_{j != i} (p_ij + sum_{q != i, j} p_iq p_qj)^2.

    Parameters
    ----------
    net : KnowledgeNetwork
    weighted : bool, default True
        Use tie strengths (no effect on an unweighted network).

    Returns
    -------
    pandas.Series
        Indexed by firm id.

    Notes
    -----
    ``networkx.constraint``: p_ij = (a_ij + a_ji) / sum_k (a_ik + a_ki), the
    proportional *mutual* tie strength, so a directed network counts ties in either
    direction and an undirected weighted one uses w_ij / sum_k w_ik. A firm with a single
    contact has 1, the hub of a star with k spokes 1 / k; closed triads can exceed 1 (each
    firm of a triangle has 2 (1/2 + 1/4)^2 = 1.125). Isolated firms: NaN.
    ``weighted=False`` treats every tie as 1.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.networks import KnowledgeNetwork, constraint
    >>> star = pd.DataFrame({"source": ["hub"] * 4, "target": list("abcd")})
    >>> float(constraint(KnowledgeNetwork.from_edges(star))["hub"])
    0.25
    """
    values = nx.constraint(net.graph, weight="weight" if weighted else None)
    return pd.Series([values[i] for i in net.ids], index=net.ids, name="constraint")


def effective_size(net: KnowledgeNetwork, *, weighted: bool = True) -> pd.Series:
    """Burt's effective size: contacts minus their redundancy, sum_j (1 - sum_q p_iq m_jq).

    Parameters
    ----------
    net : KnowledgeNetwork
    weighted : bool, default True
        Use tie strengths (no effect on an unweighted network).

    Returns
    -------
    pandas.Series
        Indexed by firm id.

    Notes
    -----
    ``networkx.effective_size``: p_iq as in :func:`constraint` and m_jq = (a_jq +
    a_qj) / max_k (a_jk + a_kj), j's mutual strength to q relative to its strongest tie.
    Unweighted and undirected this equals Borgatti's n - 2t / n (n contacts, t ties among
    them). Isolated firms: NaN. networkx builds an N x N dense array here, so memory
    grows as N^2 (about 80 MB at N = 3,000).

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.networks import KnowledgeNetwork, effective_size
    >>> star = pd.DataFrame({"source": ["hub"] * 4, "target": list("abcd")})
    >>> float(effective_size(KnowledgeNetwork.from_edges(star))["hub"])
    4.0
    """
    values = nx.effective_size(net.graph, weight="weight" if weighted else None)
    return pd.Series([values[i] for i in net.ids], index=net.ids, name="effective_size")
