"""spillover.networks: knowledge networks inside clusters, on networkx.

Firm networks from edge lists, centralities, communities, core-periphery structure,
Burt's constraint and effective size, and leader-follower ties. A network-proximity
weights matrix for the spillover pools and spatial models is built in
:mod:`spillover.weights`, like every other W.
"""

__all__: list[str] = []
