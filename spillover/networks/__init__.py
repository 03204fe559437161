"""Knowledge networks of firms: ties, centralities, communities, core and periphery.

* :class:`KnowledgeNetwork`: ties from an edge list (collaboration, co-patenting,
  supplier ties, survey name generators) and a firm table, checked once; firm ids are
  those of the firm panel.
* centralities: :func:`degree`, :func:`betweenness`, :func:`closeness`,
  :func:`eigenvector` (networkx, conventions stated)
* groups: :func:`communities` (Louvain, greedy modularity) with their modularity
* core and periphery: :func:`core_periphery` (Borgatti-Everett discrete model) and
  :func:`coreness` (continuous model)
* social capital: :func:`constraint`, :func:`effective_size` (Burt)
* leaders and followers: :func:`leader_follower`
* as spatial weights: :meth:`KnowledgeNetwork.weights`, i.e.
  :func:`spillover.weights.network`, for spillover pools and spatial models
"""

from spillover.networks._centrality import betweenness, closeness, degree, eigenvector
from spillover.networks._communities import (
    Communities,
    communities,
    constraint,
    effective_size,
)
from spillover.networks._core import CorePeriphery, core_periphery
from spillover.networks._coreness import Coreness, coreness
from spillover.networks._leaders import LeaderFollower, leader_follower
from spillover.networks._network import KnowledgeNetwork

__all__ = [
    "Communities",
    "CorePeriphery",
    "Coreness",
    "KnowledgeNetwork",
    "LeaderFollower",
    "betweenness",
    "closeness",
    "communities",
    "constraint",
    "core_periphery",
    "coreness",
    "degree",
    "effective_size",
    "eigenvector",
    "leader_follower",
]
