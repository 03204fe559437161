"""Spatial and technological weights aligned to panel entities.

Every builder returns a :class:`Weights`: a sparse N x N matrix that knows the entity
ids it is ordered by, and is matched to panels by id, never by position. What is derived
from the matrix (symmetry, row standardisation, spectral radius, parameter bounds, ...) is
computed once and cached on it.

* the boundary: :func:`as_weights` turns any accepted input (Weights, libpysal W/Graph,
  a scipy or numpy matrix) into Weights matched by id; every consumer receives W through
  it. A bare matrix without ids is refused unless its order is stated with
  :meth:`Weights.in_panel_order`. :class:`WeightsByPeriod` is the one form of weights
  by period, with one alignment policy (:meth:`WeightsByPeriod.check`).

* polygons: :func:`queen`, :func:`rook`, :func:`higher_order`
* points: :func:`knn`, :func:`distance_band`, :func:`inverse_distance`, :func:`kernel`
  (great-circle km for lon/lat, Euclidean for projected CRSs)
* firms: :func:`technology` (Jaffe 1986; Bloom, Schankerman and Van Reenen 2013)
* user data: :func:`from_matrix`, :func:`from_edges`, :meth:`Weights.from_libpysal`
* firm networks: :func:`network` (ties, or a decay in path length)
* combinations: :func:`product`, :func:`weighted_sum`
* normalisation and reports: :meth:`Weights.row_standardize`,
  :meth:`Weights.spectral_normalize`, :meth:`Weights.minmax_normalize`,
  :meth:`Weights.symmetrize`, :meth:`Weights.describe`
"""

from spillover.errors import DisconnectedWeightsWarning
from spillover.linalg.spectral import minmax_scale, spectral_radius
from spillover.weights._base import Weights
from spillover.weights._boundary import WeightsByPeriod, as_weights, is_by_period
from spillover.weights._combine import product, weighted_sum
from spillover.weights._contiguity import higher_order, queen, rook
from spillover.weights._network import network
from spillover.weights._points import distance_band, inverse_distance, kernel, knn
from spillover.weights._summary import WeightsSummary
from spillover.weights._technology import technology
from spillover.weights._user import from_edges, from_matrix

__all__ = [
    "DisconnectedWeightsWarning",
    "Weights",
    "WeightsByPeriod",
    "WeightsSummary",
    "as_weights",
    "distance_band",
    "from_edges",
    "from_matrix",
    "higher_order",
    "inverse_distance",
    "is_by_period",
    "kernel",
    "knn",
    "minmax_scale",
    "network",
    "product",
    "queen",
    "rook",
    "spectral_radius",
    "technology",
    "weighted_sum",
]
