"""Geometry: attaching entity geometries, firm points, point-in-polygon, aggregation.

Every function here keeps the coordinate reference system (CRS) explicit: points are
built only with a stated CRS, joins refuse layers without one or with different ones,
and distances are left to :func:`distance_coordinates`, which refuses a missing CRS.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from spillover._typing import FloatArray, Metric, Unmatched
from spillover._validate import preview, require_columns, require_numeric, warn_dropped
from spillover.errors import (
    AlignmentError,
    DroppedRowsWarning,
    GeographyError,
    PanelError,
    SpecificationError,
    SpilloverWarning,
)
from spillover.panel import Panel, _check_geo

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "aggregate",
    "assign_regions",
    "attach_geometry",
    "distance_coordinates",
    "points_from_xy",
]


# ---------------------------------------------------------------------- distances
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
def attach_geometry(
    panel: Panel,
    geo: gpd.GeoDataFrame | str | Path,
    *,
    on: str | None = None,
    unmatched: Unmatched = "raise",
) -> Panel:
    """Attach one geometry per entity to a panel, matched by a key column.

    Parameters
    ----------
    panel : Panel
        The panel; its entity ids are matched against ``geo[on]``.
    geo : GeoDataFrame or str or Path
        Entity geometries, or the path of any vector file geopandas reads
        (GeoPackage, shapefile, GeoJSON, ...; ``.parquet`` is read as GeoParquet).
    on : str, optional
        Key column in ``geo`` (or the name of its index). Default: the panel's entity name.
    unmatched : {"raise", "drop", "keep"}, default "raise"
        What to do with keys found on one side only. ``"raise"`` lists them in an error.
        ``"drop"`` keeps the intersection: panel rows of entities without geometry are
        dropped (with a :class:`~spillover.errors.DroppedRowsWarning` giving the count).
        ``"keep"`` keeps every panel entity; those without geometry get a missing
        geometry (and a :class:`~spillover.errors.SpilloverWarning`), so code that needs
        coordinates, e.g. :func:`distance_coordinates`, refuses them later.
        Under ``"drop"`` and ``"keep"``, geometries without panel rows are left out
        (with a DroppedRowsWarning).

    Returns
    -------
    Panel
        A new Panel with ``geo`` set: a GeoDataFrame indexed by entity id in the panel's
        entity order, holding the geometry and the other columns of ``geo``. The CRS is
        kept as is (it may be None; distance code then refuses to run).

    Raises
    ------
    GeographyError
        If the key column is absent, or keys are duplicated or missing in ``geo``, or a
        geometry is missing or empty.
    AlignmentError
        If ``unmatched="raise"`` and a key is on one side only (both sides are listed).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely.geometry import box
    >>> from spillover import Panel
    >>> from spillover.geo import attach_geometry
    >>> df = pd.DataFrame({"region": ["A", "A", "B", "B"], "year": [2000, 2001] * 2,
    ...                    "y": [1.0, 2.0, 3.0, 4.0]})
    >>> shapes = gpd.GeoDataFrame({"code": ["B", "A"]}, crs="EPSG:32633",
    ...                           geometry=[box(1000, 0, 2000, 1000), box(0, 0, 1000, 1000)])
    >>> p = attach_geometry(Panel(df, entity="region", time="year"), shapes, on="code")
    >>> p.geo.index.tolist(), p.geo.crs.to_string()
    (['A', 'B'], 'EPSG:32633')
    """
    _check_option(unmatched, ("raise", "drop", "keep"), "unmatched")
    key = panel.entity_name if on is None else on
    keyed = _key_geometries(_read_geo(geo), key, panel.entity_name)
    ents = panel.entities
    missing, extra = ents.difference(keyed.index), keyed.index.difference(ents)
    if unmatched == "raise" and (len(missing) or len(extra)):
        raise AlignmentError(_unmatched_message(ents, keyed.index, missing, extra, key))
    if len(extra):
        warn_dropped(len(extra), f"geometries with no panel rows, {key} {preview(extra)}")
    if len(missing) and unmatched == "drop":
        rows = int(panel.data.index.get_level_values(0).isin(missing).sum())
        warn_dropped(
            rows, f"panel rows of {len(missing)} entities without geometry, e.g. {preview(missing)}"
        )
        panel = panel.subset(entities=ents.difference(missing))
    elif len(missing):
        warnings.warn(
            f"{len(missing)} entities have no geometry and keep a missing one, e.g. "
            f"{preview(missing)}; weights and distances will refuse them.",
            SpilloverWarning,
            stacklevel=2,
        )
    aligned = keyed.reindex(panel.entities)
    return panel._replace(geo=_check_geo(aligned, panel.entities, panel.entity_name))


def _read_geo(geo: Any) -> gpd.GeoDataFrame:
    import geopandas as gpd

    if isinstance(geo, str | Path):
        path = Path(geo)
        return gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
    if isinstance(geo, gpd.GeoDataFrame):
        return geo
    raise GeographyError(
        f"geometry must be a GeoDataFrame or a path to a vector file, not {type(geo).__name__}."
    )


def _key_geometries(gdf: gpd.GeoDataFrame, key: str, name: str) -> gpd.GeoDataFrame:
    """``gdf`` indexed by its ``key`` column (or index), validated, index renamed ``name``."""
    if key in gdf.columns:
        keyed = gdf.set_index(key)
    elif gdf.index.name == key:
        keyed = gdf.copy()
    else:
        raise GeographyError(
            f"geometry has no column {key!r}; available: {preview(gdf.columns, 12)}. "
            "Name the key column with on=..."
        )
    keys = keyed.index
    if keys.isna().any():
        raise GeographyError(
            f"{int(keys.isna().sum())} geometries have no {key!r} value; drop or fill them."
        )
    if keys.duplicated().any():
        dup = keys[keys.duplicated()].unique()
        raise GeographyError(
            f"{len(dup)} {key!r} values occur in more than one geometry row, e.g. "
            f"{preview(dup)}. Merge the parts first, e.g. gdf.dissolve(by={key!r})."
        )
    bad = keyed.geometry.isna() | keyed.geometry.is_empty
    if bad.any():
        raise GeographyError(
            f"{int(bad.sum())} geometries are missing or empty, {key} {preview(keys[bad])}."
        )
    keyed.index = keys.rename(name)
    return keyed


def _unmatched_message(
    ents: pd.Index, keys: pd.Index, missing: pd.Index, extra: pd.Index, key: str
) -> str:
    msg = (
        f"panel and geometry disagree: {len(missing)} panel entities have no geometry "
        f"(e.g. {preview(missing)}) and {len(extra)} {key!r} values have no panel rows "
        f"(e.g. {preview(extra)})."
    )
    if len(missing) == len(ents) and ents.dtype != keys.dtype:
        msg += (
            f" No key matches at all: panel ids are {ents.dtype} (e.g. {ents[0]!r}) but "
            f"{key!r} is {keys.dtype} (e.g. {keys[0]!r}); convert one side."
        )
    return msg + " Pass unmatched='drop' to keep the intersection, or unmatched='keep'."


def _check_option(value: str, allowed: Sequence[str], name: str) -> None:
    if value not in allowed:
        raise SpecificationError(f"{name}={value!r} is not one of {preview(allowed)}.")


def _require_crs(gdf: gpd.GeoDataFrame, what: str) -> None:
    if gdf.crs is None:
        raise GeographyError(
            f"{what} have no CRS. Set the one the coordinates are in, e.g. "
            f"{what}.set_crs('EPSG:4326') for lon/lat degrees."
        )


# ---------------------------------------------------------------------- points
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
    unique_xy, inverse = np.unique(xy, axis=0, return_inverse=True)
    tree = shapely.STRtree(regions.geometry.to_numpy())
    hit_point, hit_region = tree.query(shapely.points(unique_xy), predicate="intersects")
    order = np.argsort(keys.to_numpy(), kind="stable")
    rank = np.empty(len(keys), dtype=np.intp)
    rank[order] = np.arange(len(keys))
    best = np.full(len(unique_xy), len(keys), dtype=np.intp)
    np.minimum.at(best, hit_point, rank[hit_region])
    best = best[inverse.ravel()]
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


# ---------------------------------------------------------------------- aggregate
def aggregate(
    firm_panel: Panel,
    *,
    region: str,
    sum: Sequence[str] = (),
    mean: Sequence[str] = (),
    weighted_mean: Mapping[str, str] | None = None,
    count: str | None = "n_firms",
    missing: Literal["raise", "skip"] = "raise",
    regions: gpd.GeoDataFrame | None = None,
) -> Panel:
    """Aggregate a firm-year panel to a region-year panel.

    Parameters
    ----------
    firm_panel : Panel
        Firm-year panel with a column ``region`` (e.g. from :func:`assign_regions`).
    region : str
        Column holding each firm-year's region; it becomes the entity of the result.
    sum, mean : sequence of str
        Columns summed, or averaged (unweighted), over the firms of a region-year.
    weighted_mean : dict, optional
        ``{column: weight}``: ``sum(w * x) / sum(w)`` over the region-year's firms, e.g.
        ``{"wage": "emp"}`` for the employment-weighted mean wage. Weights must be >= 0.
    count : str or None, default "n_firms"
        Name of a column counting the firm rows in each region-year (all of them,
        including firms with missing values); None for no count.
    missing : {"raise", "skip"}, default "raise"
        ``"raise"``: a missing region or a missing value in a used column is an error
        naming the rows. ``"skip"``: rows without region are dropped, and each statistic
        uses the firms whose value (and weight) is present; a
        :class:`~spillover.errors.DroppedRowsWarning` reports the counts. A region-year
        whose values are all missing gets NaN (not 0) for sums too.
    regions : GeoDataFrame, optional
        Region geometries keyed by a column (or index) named ``region``; attached to the
        result (regions without any firm are left out, as they have no rows).

    Returns
    -------
    Panel
        Entity ``region``, time as in ``firm_panel``; output columns carry the input
        names (each column may appear in only one role), plus ``count``. Region-years
        without firms have no row, so the result may be unbalanced.

    Raises
    ------
    PanelError
        If ``missing="raise"`` and values are missing (the rows are named).
    SpecificationError
        If a column is absent or non-numeric, output names clash, or a weight is negative.

    Notes
    -----
    A weighted mean whose weights sum to zero in a region-year is NaN, with a warning.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover import Panel
    >>> from spillover.geo import aggregate
    >>> firms = Panel(pd.DataFrame({
    ...     "firm": [1, 2, 3, 1, 2, 3], "year": [2000] * 3 + [2001] * 3,
    ...     "state": ["MA", "MA", "CT"] * 2, "emp": [10.0, 30.0, 5.0, 20.0, 20.0, 5.0],
    ...     "wage": [50.0, 70.0, 40.0, 60.0, 80.0, 40.0]}), entity="firm", time="year")
    >>> out = aggregate(firms, region="state", sum=["emp"], weighted_mean={"wage": "emp"})
    >>> out.data.loc[("MA", 2000)].tolist()
    [40.0, 65.0, 2.0]
    """
    _check_option(missing, ("raise", "skip"), "missing")
    if not isinstance(firm_panel, Panel):
        raise SpecificationError(
            f"firm_panel must be a Panel, not {type(firm_panel).__name__}; build one with "
            "Panel(df, entity='firm', time='year')."
        )
    wmean = dict(weighted_mean or {})
    used = _aggregate_columns(firm_panel, region, list(sum), list(mean), wmean, count)
    frame = _handle_missing(firm_panel.data[[region, *used]], region, used, missing)
    time = firm_panel.time_name
    frame = frame.reset_index()
    for x, w in wmean.items():
        valid = frame[x].notna() & frame[w].notna()
        frame[f"__num_{x}"] = (frame[x] * frame[w]).where(valid)
        frame[f"__den_{x}"] = frame[w].where(valid)
    grouped = frame.groupby([region, time], sort=True)
    sums = grouped[[*sum, *(f"__{p}_{x}" for x in wmean for p in ("num", "den"))]].sum(min_count=1)
    out = pd.concat([sums[list(sum)], grouped[list(mean)].mean()], axis=1)
    for x in wmean:
        den = sums[f"__den_{x}"]
        out[x] = sums[f"__num_{x}"] / den.where(den != 0)
        _warn_zero_weight(den, x, wmean[x])
    if count is not None:
        out[count] = grouped.size()
    result = Panel(out.reset_index(), entity=region, time=time)
    if regions is None:
        return result
    keyed = _key_geometries(regions, region, region)
    return attach_geometry(result, keyed.loc[keyed.index.isin(result.entities)], on=region)


def _aggregate_columns(
    panel: Panel,
    region: str,
    sums: list[str],
    means: list[str],
    wmean: dict[str, str],
    count: str | None,
) -> list[str]:
    """Validate names; return the input columns the statistics read."""
    outputs = [*sums, *means, *wmean, *([count] if count else [])]
    if not outputs:
        raise SpecificationError(
            "nothing to aggregate: give sum=, mean=, weighted_mean= or count=."
        )
    seen = pd.Index(outputs)
    clash = [
        *seen[seen.duplicated()].unique(),
        *[n for n in (region, panel.time_name) if n in seen],
    ]
    if clash:
        raise SpecificationError(
            f"output column names clash: {preview(clash)}. Use each column in one role only; "
            "copy it first for a second one, e.g. panel.assign(emp_mean=panel['emp'])."
        )
    used = list(dict.fromkeys([*sums, *means, *wmean, *wmean.values()]))
    require_columns(panel.data, [region, *used], "firm panel")
    require_numeric(panel.data, used)
    for w in set(wmean.values()):
        negative = panel.data[w] < 0
        if negative.any():
            raise SpecificationError(
                f"weight {w!r} is negative in {int(negative.sum())} rows, e.g. "
                f"{preview(panel.data.index[negative])}; weights must be >= 0."
            )
    return used


def _handle_missing(
    frame: pd.DataFrame, region: str, used: list[str], missing: str
) -> pd.DataFrame:
    na = frame[[region, *used]].isna()
    if not na.to_numpy().any():
        return frame
    counts = na.sum()
    counts = counts[counts > 0]
    if missing == "raise":
        rows = na.index[na.any(axis=1)]
        raise PanelError(
            f"missing values in {preview([f'{c} ({n})' for c, n in counts.items()])}, "
            f"e.g. at {preview(rows)}. Fill them, or pass "
            "missing='skip' to drop rows without region and skip missing values."
        )
    no_region = na[region].to_numpy()
    warn_dropped(int(no_region.sum()), f"firm rows without {region!r}")
    skipped = counts.drop(region, errors="ignore")
    if len(skipped):
        warnings.warn(
            "aggregate skipped missing values (each statistic uses the firms with a value):"
            f" {', '.join(f'{c} {n}' for c, n in skipped.items())}.",
            DroppedRowsWarning,
            stacklevel=3,
        )
    return frame.loc[~no_region]


def _warn_zero_weight(den: pd.Series, x: str, w: str) -> None:
    zero = den.index[(den == 0).to_numpy()]
    if len(zero):
        warnings.warn(
            f"weighted mean of {x!r}: weights {w!r} sum to zero in {len(zero)} region-years, "
            f"e.g. {preview(zero)}; those cells are NaN.",
            DroppedRowsWarning,
            stacklevel=3,
        )
