"""spillover.measures: R&D stocks, spillover pools, cluster indices.

Functions take a :class:`~spillover.Panel` (or, for the cluster indices, a firm table) and
column names, and return pandas objects indexed like their input. Weights are matched to
the panel by entity id, never by position, and stay sparse.

R&D stocks
    :func:`rd_stock` (perpetual inventory, explicit gap policy).
Spillover pools
    :func:`spillover_pool` (any weights, static or one per period),
    :func:`pools_by_distance_band` (annuli), :func:`region_pools` (within / outside
    region), :func:`technology_pool` (Jaffe or Mahalanobis proximity, low rank).
Register-scale geographic pools
    :func:`knn_pool` and :func:`distance_band_pool`: the same pools over k nearest or
    banded neighbours, computed tile by tile on a spatial grid (projected CRS), so
    memory is bounded by a tile, never N x k or N x N.
Agglomeration
    :func:`location_quotient`, :func:`krugman_index`, :func:`herfindahl`,
    :func:`ellison_glaeser`.
Firm dynamics
    :func:`entry_rates` (entries, exits and their rates by year and region),
    :func:`lifecycle_stage` (emergence, growth, maturity, decline).
Spatial autocorrelation
    :func:`morans_i` (per period) and :func:`lisa`, computed by esda.
Learning by doing
    :func:`experience_stock` (cumulative output) and :func:`experience_stocks` (own,
    cluster, outside: Irwin and Klenow 1994).
"""

from spillover.measures._autocorr import lisa, morans_i
from spillover.measures._cluster import herfindahl, krugman_index, location_quotient
from spillover.measures._decompose import pools_by_distance_band, region_pools
from spillover.measures._ellison import ellison_glaeser
from spillover.measures._experience import experience_stock, experience_stocks
from spillover.measures._geo_pools import distance_band_pool, knn_pool
from spillover.measures._lifecycle import entry_rates, lifecycle_stage
from spillover.measures._pools import spillover_pool
from spillover.measures._stock import rd_stock
from spillover.measures._technology import technology_pool

__all__ = [
    "distance_band_pool",
    "ellison_glaeser",
    "entry_rates",
    "experience_stock",
    "experience_stocks",
    "herfindahl",
    "knn_pool",
    "krugman_index",
    "lifecycle_stage",
    "lisa",
    "location_quotient",
    "morans_i",
    "pools_by_distance_band",
    "rd_stock",
    "region_pools",
    "spillover_pool",
    "technology_pool",
]
