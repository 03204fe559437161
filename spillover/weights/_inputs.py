"""Where user input enters the weights builders: geometry, points, ids, policies.

Builders call these once, then work on plain arrays; every builder ends in
:func:`finish`, which applies the island policy and warns about disconnected graphs.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from spillover._typing import FloatArray, IntArray, Metric
from spillover._validate import preview, user_stacklevel
from spillover.errors import (
    DisconnectedWeightsWarning,
    GeographyError,
    SpecificationError,
    WeightsError,
)
from spillover.geo import distance_coordinates
from spillover.weights._base import IslandPolicy, Weights

if TYPE_CHECKING:
    import geopandas as gpd


def geometries(geo: Any) -> gpd.GeoSeries:
    """Geometry of each entity, indexed by unique entity id, from a Panel or Geo* object."""
    import geopandas as gpd

    if hasattr(geo, "geo") and hasattr(geo, "entities"):  # a Panel with geometry
        geo = geo.geo
    if isinstance(geo, gpd.GeoDataFrame):
        geo = geo.geometry
    if not isinstance(geo, gpd.GeoSeries):
        raise GeographyError(
            f"expected a GeoDataFrame, GeoSeries or a Panel with geometry, got "
            f"{type(geo).__name__}. For raw coordinates pass an (n, 2) array with metric= "
            "and ids=."
        )
    if geo.index.has_duplicates:
        raise WeightsError(
            f"geometry index has duplicate ids: {preview(geo.index[geo.index.duplicated()])}. "
            "Index the GeoDataFrame by a unique entity id (gdf.set_index('id'))."
        )
    bad = geo.isna() | geo.is_empty
    if bad.any():
        raise GeographyError(
            f"{int(bad.sum())} geometries are missing or empty, e.g. {preview(geo.index[bad])}."
        )
    return geo


class Points(NamedTuple):
    """Coordinates of entities and how distances between them are measured."""

    xy: FloatArray
    metric: Metric
    ids: pd.Index
    unit: str
    """Unit of the distances: "km" for lon/lat, else the CRS's (or the array's) own unit."""
    crs: Any
    """The CRS, or None for a raw coordinate array."""


def points(geo: Any, metric: Metric | None, ids: Any) -> Points:
    """Coordinates, metric, ids, distance unit and CRS of a Panel, Geo* object or array."""
    crs = None
    if isinstance(geo, np.ndarray | list | tuple):
        if metric is None or ids is None:
            raise SpecificationError(
                "raw coordinates need an explicit metric= ('haversine' for lon/lat degrees, "
                "'euclidean' for projected x/y) and ids= (one entity id per row)."
            )
        xy = np.asarray(geo, dtype=float)
        index = pd.Index(ids)
        if xy.ndim != 2 or len(index) != len(xy):
            raise WeightsError(f"{len(index)} ids for coordinates of shape {xy.shape}.")
        unit = "km" if metric == "haversine" else "coordinate units"
    else:
        if metric is not None or ids is not None:
            raise SpecificationError(
                "metric= and ids= are only for raw coordinate arrays: with geometry the CRS "
                "decides the metric and the index gives the ids."
            )
        series = geometries(geo)
        xy, metric = distance_coordinates(series)
        index, crs = series.index, series.crs
        unit = "km" if metric == "haversine" else _crs_unit(series)
    if index.has_duplicates:
        raise WeightsError(f"ids are not unique: {preview(index[index.duplicated()])}.")
    return Points(xy, metric, index, unit, crs)


def _crs_unit(geo: gpd.GeoSeries) -> str:
    try:
        return str(geo.crs.axis_info[0].unit_name)
    except (AttributeError, IndexError):
        return "CRS units"


def check_duplicates(i: IntArray, j: IntArray, d: FloatArray, ids: pd.Index, policy: str) -> None:
    """Raise on pairs at distance zero (coincident points) unless ``policy == 'keep'``."""
    if policy == "keep":
        return
    if policy != "raise":
        raise SpecificationError(f"duplicates must be 'raise' or 'keep', got {policy!r}.")
    zero = (d == 0) & (i < j)
    if zero.any():
        pairs = [f"{ids[a]!r}={ids[b]!r}" for a, b in zip(i[zero][:5], j[zero][:5], strict=True)]
        raise WeightsError(
            f"{int(zero.sum())} pairs of points have identical coordinates, e.g. "
            f"{', '.join(pairs)}. Aggregate them to one entity, correct the geocoding, or "
            "pass duplicates='keep' to treat coincident points as neighbours at distance 0."
        )


def csr_from_rows(i: IntArray, j: IntArray, w: FloatArray, n: int) -> sp.csr_array:
    """CSR matrix from pairs already sorted by row (no sort, no COO round trip)."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(i, minlength=n), out=indptr[1:])
    small = max(n, len(j)) < np.iinfo(np.int32).max
    dtype = np.int32 if small else np.int64
    return sp.csr_array(
        (np.asarray(w, dtype=np.float64), j.astype(dtype), indptr.astype(dtype)), shape=(n, n)
    )


def finish(
    matrix: sp.csr_array,
    ids: pd.Index,
    name: str,
    *,
    islands: IslandPolicy,
    meta: dict[str, Any] | None = None,
) -> Weights:
    """The builders' common tail: Weights, island policy, disconnected-graph warning."""
    if islands not in ("raise", "keep", "drop"):
        raise SpecificationError(f"islands must be 'raise', 'keep' or 'drop', got {islands!r}.")
    w = Weights(matrix, ids, name, "original", dict(meta or {}))
    w = w.check_islands(islands)
    warn_components(w)
    return w


def warn_components(w: Weights) -> None:
    """Warn when the non-island units fall into more than one connected component."""
    linked = np.diff(w.matrix.indptr) > 0
    linked |= np.bincount(w.matrix.indices, minlength=w.n) > 0
    if w.n == 0 or not linked.any():
        return
    _, labels = connected_components(w.matrix, directed=True, connection="weak")
    sizes = np.bincount(labels[linked])
    sizes = np.sort(sizes[sizes > 0])[::-1]
    if len(sizes) > 1:
        warnings.warn(
            f"{w.name or 'the'} weights split into {len(sizes)} disconnected groups of units "
            f"(sizes {preview(sizes.tolist(), 6)}): no spillover crosses between groups. "
            "w.components() labels them; widen the band or raise k to connect them.",
            DisconnectedWeightsWarning,
            stacklevel=user_stacklevel(),
        )
