"""KnowledgeNetwork: the ties between firms, checked once, with the firm table."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._validate import preview
from spillover.errors import AlignmentError, SpecificationError
from spillover.weights import Weights
from spillover.weights import network as network_weights
from spillover.weights._graph import Duplicates, SelfLoops, tie_arrays


@dataclass(frozen=True, eq=False)
class KnowledgeNetwork:
    """Ties between firms (collaboration, co-patenting, supply, survey name generators).

    Build it with :meth:`from_edges`; the fields are checked and never change.

    Attributes
    ----------
    ties : pandas.DataFrame
        One row per tie: ``source``, ``target`` (firm ids) and ``weight`` (1 if the edge
        list had no weight). An undirected tie is listed once, ``source`` the firm that
        comes first in :attr:`ids`.
    nodes : pandas.DataFrame
        The firm table indexed by firm id (``firm``), one row per firm, with its
        attributes (capability, foreign, location, ...); firms without ties included.
    directed : bool
        Whether a tie runs from ``source`` to ``target`` (e.g. "whom do you ask for
        technical advice?") or both ways (co-patenting).
    weighted : bool
        Whether the edge list gave tie strengths.
    name : str
        Label in summaries.
    """

    ties: pd.DataFrame
    nodes: pd.DataFrame
    directed: bool
    weighted: bool
    name: str = field(default="")

    @classmethod
    def from_edges(
        cls,
        edges: pd.DataFrame,
        source: str = "source",
        target: str = "target",
        weight: str | None = None,
        *,
        nodes: pd.DataFrame | None = None,
        id_column: str | None = None,
        directed: bool = False,
        duplicates: Duplicates = "raise",
        self_loops: SelfLoops = "raise",
        name: str = "",
    ) -> KnowledgeNetwork:
        """A network from an edge list and an optional firm table.

        Parameters
        ----------
        edges : pandas.DataFrame
            One row per tie.
        source, target : str, default "source", "target"
            Columns with the firm ids at either end (the same ids as the firm panel).
        weight : str, optional
            Column of tie strengths (> 0), e.g. joint patents; unweighted if omitted.
        nodes : pandas.DataFrame, optional
            The firm table: one row per firm, ids in ``id_column`` or the index. Firms
            without ties are kept (see :attr:`isolates`). Default: the firms in ``edges``.
        id_column : str, optional
            Column of ``nodes`` holding the firm id; the index if omitted.
        directed : bool, default False
            Ties run from source to target; else (a, b) and (b, a) are the same tie.
        duplicates : {"raise", "sum"}, default "raise"
            A tie listed twice: refuse naming the pairs, or add the weights (a repeated
            unweighted tie then has weight 2).
        self_loops : {"raise", "drop"}, default "raise"
            Edges from a firm to itself: refuse naming them, or drop them with a warning.
        name : str, optional
            Label in summaries.

        Raises
        ------
        AlignmentError
            An edge names a firm missing from ``nodes`` (the ids are listed).
        WeightsError
            Missing ids, non-positive weights, self-loops or duplicates (as chosen).

        Examples
        --------
        >>> import pandas as pd
        >>> from spillover.networks import KnowledgeNetwork
        >>> edges = pd.DataFrame({"source": [1, 2], "target": [2, 3]})
        >>> firms = pd.DataFrame({"capability": [0.5, 1.2, 0.1, 0.7]}, index=[1, 2, 3, 4])
        >>> net = KnowledgeNetwork.from_edges(edges, nodes=firms)
        >>> net
        KnowledgeNetwork(undirected, unweighted, 4 firms, 2 ties, 1 isolated firm)
        >>> list(net.isolates)
        [4]
        """
        table = _firm_table(nodes, id_column)
        ties = tie_arrays(
            edges,
            source,
            target,
            weight,
            ids=None if table is None else table.index,
            directed=directed,
            duplicates=duplicates,
            self_loops=self_loops,
        )
        if table is None:
            table = pd.DataFrame(index=ties.ids.rename("firm"))
        frame = pd.DataFrame(
            {"source": ties.ids[ties.i], "target": ties.ids[ties.j], "weight": ties.weight}
        )
        return cls(frame, table, bool(directed), weight is not None, name)

    # ------------------------------------------------------------------ facts
    @property
    def ids(self) -> pd.Index:
        """Firm ids, in the order of every matrix and result."""
        return self.nodes.index

    @property
    def n_firms(self) -> int:
        return len(self.nodes)

    @property
    def n_ties(self) -> int:
        return len(self.ties)

    @cached_property
    def adjacency(self) -> sp.csr_array:
        """Tie strengths a_ij as a sparse N x N matrix in :attr:`ids` order (symmetric if
        undirected)."""
        i = self.ids.get_indexer(self.ties["source"])
        j = self.ids.get_indexer(self.ties["target"])
        n = self.n_firms
        a = sp.csr_array((self.ties["weight"].to_numpy(float), (i, j)), shape=(n, n))
        return a if self.directed else sp.csr_array(a + a.T)

    @cached_property
    def isolates(self) -> pd.Index:
        """Firms of the firm table without any tie (kept in every measure)."""
        a = self.adjacency
        tied = (np.diff(a.indptr) > 0) | (np.bincount(a.indices, minlength=self.n_firms) > 0)
        return self.ids[~tied]

    @cached_property
    def graph(self) -> nx.Graph:
        """The networkx graph: nodes in :attr:`ids` order with the firm attributes; edge
        attributes ``weight`` (tie strength) and ``distance`` (1 / weight)."""
        g = nx.DiGraph() if self.directed else nx.Graph()
        g.add_nodes_from(self.ids)
        for column in self.nodes.columns:
            nx.set_node_attributes(g, self.nodes[column].to_dict(), name=column)
        w = self.ties["weight"].to_numpy(float)
        g.add_edges_from(
            (s, t, {"weight": float(x), "distance": 1.0 / x})
            for s, t, x in zip(self.ties["source"], self.ties["target"], w, strict=True)
        )
        return g

    def attribute(self, column: str) -> pd.Series:
        """A column of the firm table, indexed by firm id."""
        if column not in self.nodes.columns:
            raise SpecificationError(
                f"the firm table has no column {column!r}; columns: "
                f"{preview(self.nodes.columns, 12)}."
            )
        return self.nodes[column]

    def weights(self, **options: Any) -> Weights:
        """Network-proximity weights; the options of :func:`spillover.weights.network`."""
        return network_weights(self, **options)

    def __repr__(self) -> str:
        k = len(self.isolates)
        return (
            f"KnowledgeNetwork({self.name + ', ' if self.name else ''}"
            f"{'directed' if self.directed else 'undirected'}, "
            f"{'weighted' if self.weighted else 'unweighted'}, {self.n_firms} firms, "
            f"{self.n_ties} ties, {k} isolated firm{'' if k == 1 else 's'})"
        )


def _firm_table(nodes: pd.DataFrame | None, id_column: str | None) -> pd.DataFrame | None:
    if nodes is None:
        if id_column is not None:
            raise SpecificationError("id_column= needs a firm table (nodes=).")
        return None
    if not isinstance(nodes, pd.DataFrame):
        raise SpecificationError(f"nodes must be a DataFrame, not {type(nodes).__name__}.")
    if id_column is not None:
        if id_column not in nodes.columns:
            raise SpecificationError(f"the firm table has no column {id_column!r}.")
        nodes = nodes.set_index(id_column)
    index = nodes.index
    if index.hasnans:
        raise AlignmentError("the firm table has missing firm ids; every firm needs an id.")
    if index.has_duplicates:
        raise AlignmentError(
            f"the firm table lists {int(index.duplicated().sum())} firms more than once, e.g. "
            f"{preview(index[index.duplicated()].unique())}; give one row per firm."
        )
    return nodes.rename_axis("firm").copy()
