"""Where simulated firms are: a study area of regions, city-like clusters, point in polygon.

Firms are placed by a Thomas-type cluster process: city centres uniform over the study
area, heavy-tailed (Pareto) city sizes, Gaussian scatter around each centre, and a share
of "rural" firms uniform over the area. Every firm ends up strictly inside exactly one
region polygon, whose position is recorded.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import box

from spillover._typing import FloatArray, IntArray
from spillover._validate import preview
from spillover.errors import GeographyError, SpecificationError

DEFAULT_CRS = "EPSG:5070"
"""NAD83 / Conus Albers: an equal-area projection in metres (the default study area's CRS)."""

_MAX_ROUNDS = 200


def square_area(
    side_km: float = 1000.0,
    n_cells: int = 10,
    *,
    origin: tuple[float, float] = (-500_000.0, 1_500_000.0),
    crs: str = DEFAULT_CRS,
) -> gpd.GeoDataFrame:
    """A square study area cut into ``n_cells`` x ``n_cells`` square regions.

    Parameters
    ----------
    side_km : float, default 1000
        Side of the square in kilometres.
    n_cells : int, default 10
        Regions per side; regions are numbered 0..n_cells**2 - 1 row by row from the
        south-west corner.
    origin : (float, float)
        South-west corner in the CRS's metres. The default puts the square's centre at
        (0 m, 2,000,000 m) in EPSG:5070, i.e. 96.0 W, 41.0 N (Nebraska), so that maps
        and great-circle checks land somewhere real.
    crs : str, default "EPSG:5070"
        A projected CRS whose unit is the metre.

    Returns
    -------
    geopandas.GeoDataFrame
        One square polygon per region, indexed by ``region``, with columns ``row`` and
        ``col``.

    Examples
    --------
    >>> from spillover.simulate import square_area
    >>> area = square_area(100.0, 2)
    >>> len(area), round(float(area.area.sum()) / 1e6)  # km2
    (4, 10000)
    """
    if side_km <= 0 or n_cells < 1:
        raise SpecificationError(f"need side_km > 0 and n_cells >= 1, got {side_km}, {n_cells}.")
    step = side_km * 1000.0 / n_cells
    rows, cols = np.divmod(np.arange(n_cells * n_cells), n_cells)
    x0, y0 = origin[0] + cols * step, origin[1] + rows * step
    geoms = [box(a, b, a + step, b + step) for a, b in zip(x0, y0, strict=True)]
    frame = gpd.GeoDataFrame({"row": rows, "col": cols}, geometry=geoms, crs=crs)
    frame.index.name = "region"
    return frame


def check_area(area: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Validate a study area: projected metric CRS, unique ids, non-empty polygons."""
    if not isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        raise GeographyError(f"area must be a GeoDataFrame of polygons, not {type(area).__name__}.")
    crs = area.crs
    if crs is None:
        raise GeographyError(
            "area has no CRS. Set the CRS its coordinates are in, then project it to a metric "
            "one, e.g. area.set_crs('EPSG:4326').to_crs('EPSG:5070') for the US 48 states."
        )
    if crs.is_geographic:
        raise GeographyError(
            f"area is in the geographic CRS {crs.to_string()!r} (degrees); firms are placed "
            "and distances measured in metres. Project it first, e.g. area.to_crs('EPSG:5070') "
            "(US, equal-area) or area.to_crs(area.estimate_utm_crs())."
        )
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    if unit not in ("metre", "meter"):
        raise GeographyError(f"area CRS {crs.to_string()!r} is in {unit!r}; use one in metres.")
    geoms = area.geometry
    bad = geoms.isna() | geoms.is_empty | ~geoms.geom_type.isin(["Polygon", "MultiPolygon"])
    if bad.any():
        raise GeographyError(
            f"{int(bad.sum())} area geometries are missing, empty or not polygons, e.g. "
            f"{preview(area.index[bad.to_numpy()])}; drop them first."
        )
    if area.index.has_duplicates:
        raise GeographyError(
            f"area ids (its index) are not unique: {preview(area.index[area.index.duplicated()])}."
            " Set a unique index, e.g. area.set_index('STATE_NAME')."
        )
    return gpd.GeoDataFrame(geometry=geoms, crs=crs)


def _locate(tree: shapely.STRtree, xy: FloatArray) -> IntArray:
    """Position of the first polygon strictly containing each point; -1 if none."""
    inside, poly = tree.query(shapely.points(xy), predicate="within")
    out = np.full(len(xy), -1, dtype=np.intp)
    # first hit per point (overlapping polygons: the lowest position wins)
    order = np.lexsort((poly, inside))
    first = np.unique(inside[order], return_index=True)[1]
    out[inside[order][first]] = poly[order][first]
    return out


def uniform_points(
    rng: np.random.Generator, tree: shapely.STRtree, bounds: FloatArray, n: int
) -> tuple[FloatArray, IntArray]:
    """``n`` points uniform over the union of the tree's polygons (rejection sampling)."""
    xy = np.empty((n, 2))
    region = np.full(n, -1, dtype=np.intp)
    todo = np.arange(n)
    for _ in range(_MAX_ROUNDS):
        if not len(todo):
            return xy, region
        batch = max(2 * len(todo), 64)
        cand = rng.uniform(bounds[:2], bounds[2:], size=(batch, 2))
        pos = _locate(tree, cand)
        hit = np.flatnonzero(pos >= 0)[: len(todo)]
        xy[todo[: len(hit)]] = cand[hit]
        region[todo[: len(hit)]] = pos[hit]
        todo = todo[len(hit) :]
    raise GeographyError(
        "could not place points uniformly in the area: its polygons cover almost none of "
        "their bounding box. Check the geometries and their CRS."
    )


def cluster_sizes(
    rng: np.random.Generator, n_clusters: int, tail: float
) -> tuple[FloatArray, FloatArray]:
    """City size shares (Pareto with shape ``tail``) and spread factors sqrt(share * K)."""
    weight = rng.pareto(tail, n_clusters) + 1.0
    share = weight / weight.sum()
    return share, np.sqrt(share * n_clusters)


def scatter_around(
    rng: np.random.Generator,
    tree: shapely.STRtree,
    centres: FloatArray,
    centre_region: IntArray,
    sd: FloatArray,
) -> tuple[FloatArray, IntArray]:
    """One Gaussian draw per row around ``centres`` with spread ``sd``, redrawn until inside.

    A point still outside after many rounds (a centre on a sliver of coast) is put on
    its centre, which lies inside a polygon by construction.
    """
    n = len(centres)
    xy = np.empty((n, 2))
    region = np.full(n, -1, dtype=np.intp)
    todo = np.arange(n)
    for _ in range(_MAX_ROUNDS):
        if not len(todo):
            break
        cand = centres[todo] + rng.normal(size=(len(todo), 2)) * sd[todo, None]
        pos = _locate(tree, cand)
        ok = pos >= 0
        xy[todo[ok]] = cand[ok]
        region[todo[ok]] = pos[ok]
        todo = todo[~ok]
    xy[todo] = centres[todo]
    region[todo] = centre_region[todo]
    return xy, region


def place_firms(
    rng: np.random.Generator,
    area: gpd.GeoDataFrame,
    n_firms: int,
    *,
    n_clusters: int,
    cluster_sd_m: float,
    cluster_tail: float,
    background_share: float,
) -> tuple[FloatArray, IntArray, IntArray]:
    """Firm coordinates, region positions (rows of ``area``) and cluster labels (-1: rural)."""
    geoms = area.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    bounds = np.asarray(area.total_bounds, dtype=float)
    centres, centre_region = uniform_points(rng, tree, bounds, n_clusters)
    share, spread = cluster_sizes(rng, n_clusters, cluster_tail)
    rural = rng.random(n_firms) < background_share
    cluster = np.where(rural, -1, rng.choice(n_clusters, size=n_firms, p=share))
    xy = np.empty((n_firms, 2))
    region = np.empty(n_firms, dtype=np.intp)
    urban = np.flatnonzero(~rural)
    c = cluster[urban]
    xy[urban], region[urban] = scatter_around(
        rng, tree, centres[c], centre_region[c], cluster_sd_m * spread[c]
    )
    rur = np.flatnonzero(rural)
    xy[rur], region[rur] = uniform_points(rng, tree, bounds, len(rur))
    return xy, region, cluster
