"""spillover.measures: R&D stocks, spillover pools, cluster indices."""

from spillover.measures._autocorr import lisa, morans_i
from spillover.measures._cluster import herfindahl, krugman_index, location_quotient
from spillover.measures._decompose import pools_by_distance_band, region_pools
from spillover.measures._ellison import ellison_glaeser
from spillover.measures._pools import spillover_pool
from spillover.measures._stock import rd_stock
from spillover.measures._technology import technology_pool

__all__ = [
    "ellison_glaeser",
    "herfindahl",
    "krugman_index",
    "lisa",
    "location_quotient",
    "morans_i",
    "pools_by_distance_band",
    "rd_stock",
    "region_pools",
    "spillover_pool",
    "technology_pool",
]
