"""Geometry: attaching entity geometries, firm points, point-in-polygon, aggregation.

Every function here keeps the coordinate reference system (CRS) explicit: points are
built only with a stated CRS, joins refuse layers without one or with different ones,
and distances are left to :func:`distance_coordinates`, which refuses a missing CRS.
"""

from spillover.geo._aggregate import aggregate
from spillover.geo._attach import attach_geometry
from spillover.geo._crs import crs_units_per_km, distance_coordinates
from spillover.geo._points import assign_regions, points_from_xy

__all__ = [
    "aggregate",
    "assign_regions",
    "attach_geometry",
    "crs_units_per_km",
    "distance_coordinates",
    "points_from_xy",
]
