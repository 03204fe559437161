"""Firm points with an explicit CRS, and point-in-polygon region assignment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spillover._typing import Unmatched
from spillover._validate import preview, require_columns, require_numeric, warn_dropped
from spillover.errors import (
    GeographyError,
    SpecificationError,
)
from spillover.panel import Panel

if TYPE_CHECKING:
    import geopandas as gpd
from spillover.geo._attach import _check_option, _key_geometries
from spillover.geo._crs import _require_crs


def points_from_xy(frame: pd.DataFrame | Panel, *, x: str, y: str, crs: Any) -> gpd.GeoDataFrame:
    """Point geometries from coordinate columns, in a CRS the caller states.

    Parameters
    ----------
    frame : DataFrame or Panel
        One row per firm (or firm-year); a Panel is flattened with ``to_frame()``.
    x, y : str
        Coordinate columns: longitude and latitude for a geographic CRS, easting and
        northing for a projected one.
    crs : str, int or pyproj.CRS
        The CRS the coordinates are in. Required: lon/lat degrees need ``"EPSG:4326"``.

    Returns
    -------
    GeoDataFrame
        ``frame``'s columns plus a point ``geometry``, same index, CRS ``crs``.

    Raises
    ------
    GeographyError
        If ``crs`` is None or unknown, a coordinate is missing or infinite, or, for a
        geographic CRS, a longitude lies outside [-180, 180] or a latitude outside
        [-90, 90] (usually projected metres or swapped columns); the rows are named.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.geo import points_from_xy
    >>> firms = pd.DataFrame({"firm": [1, 2], "lon": [-71.06, -87.63], "lat": [42.36, 41.88]})
    >>> pts = points_from_xy(firms, x="lon", y="lat", crs="EPSG:4326")
    >>> pts.crs.to_string(), pts.geometry.iloc[0].x
    ('EPSG:4326', -71.06)
    """
    import geopandas as gpd
    import pyproj

    if isinstance(frame, Panel):
        frame = frame.to_frame()
    require_columns(frame, [x, y], "frame")
    require_numeric(frame, [x, y])
    if crs is None:
        raise GeographyError("crs is required: say what the coordinates are, e.g. 'EPSG:4326'.")
    try:
        crs = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise GeographyError(f"crs={crs!r} is not a CRS pyproj knows: {exc}") from exc
    xs = frame[x].to_numpy(dtype=float)
    ys = frame[y].to_numpy(dtype=float)
    bad = ~(np.isfinite(xs) & np.isfinite(ys))
    if bad.any():
        raise GeographyError(
            f"{int(bad.sum())} rows have a missing or infinite {x!r}/{y!r}, e.g. rows "
            f"{preview(frame.index[bad])}. Drop them first or fill in their location."
        )
    if crs.is_geographic:
        out = (np.abs(xs) > 180) | (np.abs(ys) > 90)
        if out.any():
            raise GeographyError(
                f"{int(out.sum())} rows are not lon/lat degrees ({x!r} must be in "
                f"[-180, 180], {y!r} in [-90, 90]), e.g. rows {preview(frame.index[out])}. "
                "Check that x is longitude, or pass the projected CRS the data are in."
            )
    return gpd.GeoDataFrame(frame.copy(), geometry=gpd.points_from_xy(xs, ys), crs=crs)


# ---------------------------------------------------------------------- regions
def assign_regions(
    points: gpd.GeoDataFrame,
    regions: gpd.GeoDataFrame,
    *,
    region_key: str,
    unmatched: Unmatched = "raise",
) -> gpd.GeoDataFrame:
    """Assign each point to the polygon that contains it (point-in-polygon join).

    Parameters
    ----------
    points : GeoDataFrame
        Point geometries (e.g. from :func:`points_from_xy`), with a CRS.
    regions : GeoDataFrame
        Region polygons with a CRS equal to that of ``points`` (for example
        ``panel.geo`` of a regional panel).
    region_key : str
        Column of ``regions`` (or the name of its index) identifying each region; it
        becomes a column of the same name in the result.
    unmatched : {"raise", "drop", "keep"}, default "raise"
        Points inside no polygon: ``"raise"`` names them in an error, ``"drop"``
        removes them (DroppedRowsWarning with the count), ``"keep"`` gives them a
        missing region.

    Returns
    -------
    GeoDataFrame
        A copy of ``points`` with the column ``region_key`` added.

    Raises
    ------
    GeographyError
        If either layer has no CRS or their CRSs differ (reproject one explicitly, e.g.
        ``regions.to_crs(points.crs)``), a point geometry is missing or not a point, or
        (``unmatched="raise"``) a point lies outside every polygon.

    Notes
    -----
    A point is matched to every polygon it *intersects*: its interior or its boundary.
    A point strictly inside one of non-overlapping polygons thus has one match; a point
    on a border shared by several polygons (or inside overlapping ones) gets the region
    whose key sorts first, so every point gets exactly one region, deterministically.
    The test is planar in the layers' CRS, which is how polygon edges stored in lon/lat
    are defined; no distance is computed.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely.geometry import box
    >>> from spillover.geo import assign_regions, points_from_xy
    >>> regions = gpd.GeoDataFrame({"code": ["W", "E"]}, crs="EPSG:32633",
    ...                            geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)])
    >>> firms = pd.DataFrame({"firm": [1, 2, 3], "x": [2.0, 15.0, 10.0], "y": [5.0] * 3})
    >>> pts = points_from_xy(firms, x="x", y="y", crs="EPSG:32633")
    >>> assign_regions(pts, regions, region_key="code")["code"].tolist()
    ['W', 'E', 'E']
    """
    import shapely

    _check_option(unmatched, ("raise", "drop", "keep"), "unmatched")
    _require_crs(points, "points")
    _require_crs(regions, "regions")
    if not points.crs.equals(regions.crs):
        raise GeographyError(
            f"points are in {points.crs.to_string()} but regions in "
            f"{regions.crs.to_string()}. Reproject one explicitly, e.g. "
            "regions = regions.to_crs(points.crs)."
        )
    if region_key in points.columns:
        raise SpecificationError(f"points already have a column {region_key!r}; rename it.")
    keys = _key_geometries(regions, region_key, region_key).index
    geoms = points.geometry
    bad = geoms.isna() | geoms.is_empty | (geoms.geom_type != "Point")
    if bad.any():
        raise GeographyError(
            f"{int(bad.sum())} rows of points have a missing, empty or non-point geometry, "
            f"e.g. rows {preview(points.index[bad])}."
        )
    xy = shapely.get_coordinates(geoms.to_numpy())
    tree = shapely.STRtree(regions.geometry.to_numpy())
    order = np.argsort(keys.to_numpy(), kind="stable")
    rank = np.empty(len(keys), dtype=np.intp)
    rank[order] = np.arange(len(keys))
    best = _first_region(tree, rank, geoms.to_numpy())
    outside = best == len(keys)
    out = points.copy()
    if outside.any():
        if unmatched == "raise":
            raise GeographyError(
                f"{int(outside.sum())} points lie outside every region, e.g. rows "
                f"{preview(points.index[outside])} at {preview(map(tuple, xy[outside]), 3)}. "
                "Fix their coordinates, or pass unmatched='drop' or 'keep'."
            )
        if unmatched == "drop":
            warn_dropped(int(outside.sum()), "points outside every region")
            out, best = out.loc[~outside], best[~outside]
    labels = pd.Series(keys[order].take(np.minimum(best, len(keys) - 1)), index=out.index)
    out[region_key] = labels.where(best < len(keys)) if unmatched == "keep" else labels
    return out


def _first_region(tree: Any, rank: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Per point, the smallest ``rank`` of the regions it intersects (``len(rank)`` if none)."""
    best = np.full(len(points), len(rank), dtype=np.intp)
    hit_point, hit_region = tree.query(points, predicate="intersects")
    np.minimum.at(best, hit_point, rank[hit_region])
    return best


# ---------------------------------------------------------------------- aggregate
