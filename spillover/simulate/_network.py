"""A knowledge network with a planted core and periphery (a two-block stochastic block model)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spillover._validate import as_rng
from spillover.errors import SpecificationError
from spillover.networks import KnowledgeNetwork


@dataclass(frozen=True)
class NetworkTruth:
    """The planted structure and the parameters that drew it.

    Attributes
    ----------
    core : pandas.Series
        True for planted core firms, indexed by firm id.
    p_core, p_core_periphery, p_periphery : float
        Tie probabilities within the core, between core and periphery, within the
        periphery.
    capability_gap : float
        Mean capability of core firms minus that of periphery firms (in sd of the noise).
    """

    core: pd.Series
    p_core: float
    p_core_periphery: float
    p_periphery: float
    capability_gap: float


@dataclass(frozen=True)
class SimulatedNetwork:
    """What :func:`knowledge_network` returns.

    Attributes
    ----------
    edges : pandas.DataFrame
        Undirected ties, columns ``source`` < ``target`` (firm ids 1..N).
    nodes : pandas.DataFrame
        Firm table indexed by ``firm``: ``capability`` and, if asked, ``foreign``.
    truth : NetworkTruth
    """

    edges: pd.DataFrame
    nodes: pd.DataFrame
    truth: NetworkTruth

    def network(self) -> KnowledgeNetwork:
        """The ties and firm table as a :class:`~spillover.networks.KnowledgeNetwork`."""
        return KnowledgeNetwork.from_edges(self.edges, nodes=self.nodes, name="simulated")


def knowledge_network(
    n_firms: int,
    *,
    core_share: float = 0.2,
    p_core: float = 0.8,
    p_core_periphery: float = 0.3,
    p_periphery: float = 0.05,
    capability_gap: float = 1.0,
    foreign: tuple[float, float] | None = None,
    seed: int | np.random.Generator | None = None,
) -> SimulatedNetwork:
    """Simulate an undirected firm network with a planted core and periphery.

    Parameters
    ----------
    n_firms : int
        Firms, ids 1..n_firms (at least 3).
    core_share : float, default 0.2
        Share of firms in the core; round(core_share * n_firms) firms, at least one,
        drawn at random (their ids carry no information).
    p_core, p_core_periphery, p_periphery : float
        Probability of a tie between two core firms, a core and a periphery firm, and
        two periphery firms; every pair is drawn independently.
    capability_gap : float, default 1.0
        capability_i = capability_gap * core_i + e_i, e_i ~ N(0, 1): leaders in the core.
    foreign : (float, float), optional
        Probabilities that a core and a periphery firm are foreign-owned; adds a boolean
        ``foreign`` column to the firm table.
    seed : int or numpy.random.Generator, optional
        The same seed gives the same network.

    Returns
    -------
    SimulatedNetwork

    Notes
    -----
    Each firm's expected number of ties is (k - 1) p_core + (N - k) p_core_periphery in
    the core and k p_core_periphery + (N - k - 1) p_periphery in the periphery (k core
    firms): the wider that gap relative to the binomial spread, the more surely a
    core-periphery model recovers the planted core. Pairs are drawn one row at a time,
    O(N^2) time and O(N) memory.

    Examples
    --------
    >>> from spillover import simulate
    >>> sim = simulate.knowledge_network(50, seed=1)
    >>> int(sim.truth.core.sum()), list(sim.nodes.columns)
    (10, ['capability'])
    """
    n = _check(n_firms, core_share, (p_core, p_core_periphery, p_periphery), foreign)
    rng = as_rng(seed)
    ids = pd.RangeIndex(1, n + 1, name="firm")
    core = np.zeros(n, dtype=bool)
    core[rng.choice(n, size=max(1, round(core_share * n)), replace=False)] = True
    probs = np.array([[p_periphery, p_core_periphery], [p_core_periphery, p_core]])
    rows, cols = [], []
    for i in range(n - 1):
        hit = np.flatnonzero(rng.random(n - i - 1) < probs[int(core[i]), core[i + 1 :].astype(int)])
        rows.append(np.full(len(hit), i))
        cols.append(hit + i + 1)
    i, j = np.concatenate(rows), np.concatenate(cols)
    edges = pd.DataFrame({"source": ids[i], "target": ids[j]})
    nodes = pd.DataFrame({"capability": capability_gap * core + rng.standard_normal(n)}, index=ids)
    if foreign is not None:
        nodes["foreign"] = rng.random(n) < np.where(core, foreign[0], foreign[1])
    truth = NetworkTruth(
        pd.Series(core, index=ids, name="core"),
        float(p_core),
        float(p_core_periphery),
        float(p_periphery),
        float(capability_gap),
    )
    return SimulatedNetwork(edges, nodes, truth)


def _check(
    n_firms: int,
    core_share: float,
    probabilities: tuple[float, float, float],
    foreign: tuple[float, float] | None,
) -> int:
    if isinstance(n_firms, bool) or not isinstance(n_firms, int | np.integer) or n_firms < 3:
        raise SpecificationError(f"n_firms must be an integer >= 3, got {n_firms!r}.")
    if not 0 < core_share < 1:
        raise SpecificationError(f"core_share must lie in (0, 1), got {core_share!r}.")
    named = zip(("p_core", "p_core_periphery", "p_periphery"), probabilities, strict=True)
    for what, p in [*named, *zip(("foreign[0]", "foreign[1]"), foreign or (), strict=False)]:
        if not 0 <= p <= 1:
            raise SpecificationError(f"{what} must be a probability in [0, 1], got {p!r}.")
    return int(n_firms)
