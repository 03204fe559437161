"""CRS checks and the coordinates that distance computations use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from spillover._typing import FloatArray, Metric
from spillover.errors import GeographyError, SpecificationError

if TYPE_CHECKING:
    import geopandas as gpd

DistanceUnit = Literal["km", "crs"]
"""Unit of user-given distances: kilometres on any CRS, or the CRS's own units."""

HALF_EARTH_KM = np.pi * 6371.0088
"""Longest great-circle distance (km): larger km distances are almost surely metres."""


def distance_coordinates(
    geo: gpd.GeoDataFrame | gpd.GeoSeries, *, representative: bool = True
) -> tuple[FloatArray, Metric]:
    """Coordinates for distance computations, and the metric the CRS implies.

    Parameters
    ----------
    geo : GeoDataFrame or GeoSeries
        Points, or polygons (reduced to one point each). Must carry a CRS.
    representative : bool, default True
        For non-point geometries use ``representative_point()`` (always inside the
        polygon); if False, use the centroid computed in the CRS's own plane.

    Returns
    -------
    coords : ndarray of shape (n, 2)
        lon/lat in degrees (WGS84) for a geographic CRS, else projected x/y.
    metric : {"haversine", "euclidean"}
        ``"haversine"`` (great-circle km) for a geographic CRS; ``"euclidean"``
        (CRS units, usually metres) for a projected one.

    Raises
    ------
    GeographyError
        If the CRS is missing: distances are never computed in unknown units.
    """
    crs = geo.crs
    if crs is None:
        raise GeographyError(
            "geometry has no CRS, so distances would be in unknown units. Set it, e.g. "
            "gdf.set_crs('EPSG:4326') for lon/lat degrees or the projected CRS the data "
            "are in."
        )
    geoms = geo.geometry if hasattr(geo, "geometry") else geo
    if geoms.is_empty.any() or geoms.isna().any():
        bad = geoms.index[geoms.is_empty | geoms.isna()]
        raise GeographyError(f"{len(bad)} geometries are missing or empty, e.g. {list(bad[:5])}.")
    if not (geoms.geom_type == "Point").all():
        geoms = geoms.representative_point() if representative else geoms.centroid
    if crs.is_geographic:
        geoms = geoms.to_crs("EPSG:4326")
        return np.column_stack([geoms.x.to_numpy(), geoms.y.to_numpy()]), "haversine"
    return np.column_stack([geoms.x.to_numpy(), geoms.y.to_numpy()]), "euclidean"


# ---------------------------------------------------------------------- attach
def _require_crs(gdf: gpd.GeoDataFrame, what: str) -> None:
    if gdf.crs is None:
        raise GeographyError(
            f"{what} have no CRS. Set the one the coordinates are in, e.g. "
            f"{what}.set_crs('EPSG:4326') for lon/lat degrees."
        )


# ---------------------------------------------------------------------- points


def crs_units_per_km(crs: Any, *, what: str = "distances in km") -> float:
    """How many units of a projected CRS make one kilometre (1000 for metres).

    Raises
    ------
    GeographyError
        If the CRS's axes have no known linear unit, or different ones, so km cannot be
        converted (pyproj reports an "unknown" unit as one metre; we refuse it instead).
    """
    names = {a.unit_name for a in crs.axis_info}
    factors = {a.unit_conversion_factor for a in crs.axis_info}
    name = next(iter(names), "")
    factor = next(iter(factors), float("nan"))
    if len(names) != 1 or len(factors) != 1 or name.lower() in ("", "unknown"):
        raise GeographyError(
            f"the CRS {crs.name!r} has axis units {sorted(names) or 'none'}, so {what} cannot "
            "be converted: set a CRS with a known linear unit (e.g. gdf.to_crs('EPSG:5070') "
            "for metres)."
        )
    if not (np.isfinite(factor) and factor > 0):
        raise GeographyError(f"the CRS {crs.name!r} unit {name!r} has no length in metres.")
    return 1000.0 / factor


def check_distance_unit(unit: Any, largest: float | None, *, what: str) -> None:
    """Refuse a unit other than "km"/"crs", and km distances no two places on Earth have.

    ``largest`` is the largest distance the user gave (None if none); ``what`` names
    them in the message, e.g. ``"band edges [0, 5000]"``. Anything beyond half the
    Earth's circumference (20,015 km) given in km is almost surely metres.
    """
    if unit not in ("km", "crs"):
        raise SpecificationError(f"unit must be 'km' or 'crs', got {unit!r}.")
    if unit == "km" and largest is not None and largest > HALF_EARTH_KM:
        raise SpecificationError(
            f"{what} are in km (unit='km'), but no two places on Earth are more than "
            f"{HALF_EARTH_KM:,.0f} km apart: distances in the CRS's units (e.g. metres) need "
            "unit='crs' (metres divided by 1,000 give km)."
        )


def coordinate_units_per(unit: DistanceUnit, metric: Metric, crs: Any, *, what: str) -> float:
    """Distance units of the coordinates per unit of user-given distances.

    1 for ``unit="crs"`` and for lon/lat data (great-circle distances are already km);
    :func:`crs_units_per_km` for projected data and km. Raises a GeographyError for
    coordinates without a CRS (``crs=None``) and km: ``what`` (e.g. ``"band edges"``)
    names the distances in the message.
    """
    if unit == "crs" or metric == "haversine":
        return 1.0
    if crs is None:
        raise GeographyError(
            f"coordinates with metric='euclidean' and no CRS cannot take {what} in km: pass "
            f"unit='crs' ({what} in the coordinates' own units) or a GeoDataFrame with its CRS."
        )
    return crs_units_per_km(crs, what=f"{what} in km (or pass unit='crs')")
