"""Geographic spillover pools for register-scale data, computed tile by tile.

The same numbers as ``spillover_pool(panel, column, weights.knn(...))`` and
``spillover_pool(panel, column, weights.distance_band(...))`` (row-standardised for
``statistic="mean"``), without ever holding the N x k or N x N weights: the neighbour
search runs on tiles of a spatial grid (:mod:`spillover.weights._tiles`).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from spillover._typing import FloatArray, IntArray, Metric
from spillover._validate import preview
from spillover.errors import GeographyError, SpecificationError, WeightsError
from spillover.geo._crs import DistanceUnit, check_distance_unit, coordinate_units_per
from spillover.measures._common import entity_codes, period_rows, values
from spillover.measures._decompose import _coordinates
from spillover.measures._pools import Absent
from spillover.panel import Panel
from spillover.weights._distance import duplicate_points
from spillover.weights._tiles import band_sums, knn_sums

Statistic = Literal["sum", "mean"]
TILE_POINTS = 250_000
"""Default targets per tile: a few hundred MB of working memory with k = 10."""


def knn_pool(
    panel: Panel,
    column: str,
    geo: Any = None,
    *,
    k: int,
    statistic: Statistic = "sum",
    absent: Absent = "zero",
    metric: Metric | None = None,
    duplicates: Literal["raise", "keep"] = "raise",
    tile_points: int | None = TILE_POINTS,
    name: str | None = None,
    progress: bool = False,
) -> pd.Series:
    """Pool over the k nearest firms, S_it = sum (or mean) of K_jt over i's k neighbours.

    Parameters
    ----------
    panel : Panel
        Firm-period panel.
    column : str
        The stock K to pool (e.g. from :func:`rd_stock`); must be complete.
    geo : GeoDataFrame, GeoSeries or DataFrame, optional
        One location per firm, indexed by firm id (default ``panel.geo``), in a
        projected CRS (a plain two-column table needs ``metric="euclidean"``).
        Locations are static.
    k : int
        Neighbours per firm, 1 <= k < number of firms.
    statistic : {"sum", "mean"}, default "sum"
        Sum of the neighbours' stocks (binary weights), or their mean (row-standardised
        weights, 1 / k each).
    absent : {"zero", "renormalize"}, default "zero"
        Firms absent in a period, as in :func:`spillover_pool`: their stock counts as 0,
        or the weights are rescaled over the present neighbours (for ``"mean"``: the
        mean over present neighbours; NaN when none is present).
    metric : {"euclidean"}, optional
        Only for a plain coordinate table (projected x/y).
    duplicates : {"raise", "keep"}, default "raise"
        Coincident firms: raise naming them, or keep them as neighbours at distance 0.
    tile_points : int or None, default 250,000
        Firms per tile (on average; a dense tile is processed in chunks of this many).
        None: one tile, which holds the whole N x k neighbour list at once.
    name : str, optional
        Name of the result (default ``"<column>_knn<k>"``).
    progress : bool, default False
        Show a progress bar over tiles.

    Returns
    -------
    pandas.Series
        S_it indexed like ``panel``.

    Raises
    ------
    GeographyError
        If the locations are lon/lat (a geographic CRS or ``metric="haversine"``).
    WeightsError
        If firms share coordinates and ``duplicates="raise"``.

    Notes
    -----
    Neighbours are the k firms j != i nearest in Euclidean distance (``np.hypot`` of the
    projected coordinate differences). **Ties**: among firms at the same distance, the
    one earlier in ``panel.entities`` (sorted id order) wins, so the result does not
    depend on the tiling. ``weights.knn`` breaks ties by its KD-tree's order instead;
    both agree whenever the k-th distance is not tied. Each tile's halo of cells is
    doubled until every firm's k-th distance is strictly below its distance to the halo's
    edge, so firms at tile edges get exactly their global neighbours. Memory: one
    tile's ``tile_points x k`` neighbour list plus its halo's points; time O(N k log N).

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover import Panel
    >>> from spillover.measures import knn_pool
    >>> df = pd.DataFrame({"firm": [1, 2, 3, 4], "year": 2000, "rd": [1.0, 2.0, 4.0, 8.0]})
    >>> xy = pd.DataFrame({"x": [0.0, 1.0, 3.0, 7.0], "y": 0.0}, index=[1, 2, 3, 4])
    >>> knn_pool(Panel(df, entity="firm", time="year"), "rd", xy, k=1,
    ...          metric="euclidean").tolist()
    [2.0, 1.0, 2.0, 4.0]
    """
    if not isinstance(k, int | np.integer) or isinstance(k, bool):
        raise SpecificationError(f"k must be an integer, got {k!r}.")
    xy, stock, mask = _inputs(panel, column, geo, metric, statistic, absent, tile_points)
    if not 1 <= k < len(xy):
        raise SpecificationError(f"k must be between 1 and {len(xy) - 1} (firms - 1), got {k}.")
    _check_duplicates(xy, panel.entities, duplicates)
    sums = knn_sums(xy, _stacked(stock, mask), int(k), tile_points=tile_points, progress=progress)
    degree = np.full(len(xy), float(k))
    out = _finish(sums, degree, stock.shape[1], statistic, absent)
    return _series(panel, out, name or f"{column}_knn{k}")


def distance_band_pool(
    panel: Panel,
    column: str,
    geo: Any = None,
    *,
    threshold: float,
    lower: float = 0.0,
    unit: DistanceUnit = "km",
    statistic: Statistic = "sum",
    absent: Absent = "zero",
    metric: Metric | None = None,
    islands: Literal["raise", "keep"] = "raise",
    duplicates: Literal["raise", "keep"] = "raise",
    tile_points: int | None = TILE_POINTS,
    name: str | None = None,
    progress: bool = False,
) -> pd.Series:
    """Pool over the firms within a distance band, S_it = sum (or mean) of K_jt, j != i.

    Parameters
    ----------
    panel, column, geo, statistic, absent, metric, duplicates, tile_points, progress
        As in :func:`knn_pool`; ``"mean"`` divides by the number of firms in the band.
    threshold : float
        Upper distance (included), in ``unit``.
    lower : float, default 0
        Lower distance (excluded) for an annulus; 0 includes coincident firms.
    unit : {"km", "crs"}, default "km"
        Unit of ``threshold`` and ``lower``: km (converted with the CRS's axis unit) or
        the CRS's own units (needed for a plain coordinate table).
    islands : {"raise", "keep"}, default "raise"
        Firms with no other firm in the band: raise naming them, or keep them with a
        pool of 0 (as ``Weights.row_standardize(zero_rows="keep")`` for ``"mean"``).
    name : str, optional
        Name of the result (default ``"<column>_band"``).

    Returns
    -------
    pandas.Series
        S_it indexed like ``panel``.

    Raises
    ------
    GeographyError
        If the locations are lon/lat (a geographic CRS or ``metric="haversine"``).
    WeightsError
        If a firm has no neighbour (``islands="raise"``) or firms coincide
        (``duplicates="raise"`` and ``lower == 0``).

    Notes
    -----
    Neighbours: ``lower < d_ij <= threshold`` with d the ``np.hypot`` distance, the rule
    and arithmetic of ``weights.distance_band``, so the firm sets are identical, ties at
    the threshold included. Each tile is searched with a halo of the threshold plus one
    grid cell. Memory: one tile's neighbour pairs plus its halo's points; time
    O(N log N + pairs).

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover import Panel
    >>> from spillover.measures import distance_band_pool
    >>> df = pd.DataFrame({"firm": [1, 2, 3], "year": 2000, "rd": [1.0, 2.0, 4.0]})
    >>> xy = pd.DataFrame({"x": [0.0, 1_000.0, 2_500.0], "y": 0.0}, index=[1, 2, 3])
    >>> distance_band_pool(Panel(df, entity="firm", time="year"), "rd", xy, threshold=1_500,
    ...                    unit="crs", metric="euclidean").tolist()
    [2.0, 5.0, 2.0]
    """
    check_distance_unit(unit, max(threshold, lower), what=f"distances ({threshold=}, {lower=})")
    if not 0 <= lower < threshold:
        raise SpecificationError(
            f"a distance band needs 0 <= lower < threshold, got lower={lower:g} and "
            f"threshold={threshold:g} (in {unit!r} units)."
        )
    if islands not in ("raise", "keep"):
        raise SpecificationError(f"islands must be 'raise' or 'keep', got {islands!r}.")
    xy, stock, mask = _inputs(panel, column, geo, metric, statistic, absent, tile_points)
    per = coordinate_units_per(unit, "euclidean", _crs(panel, geo), what="band distances")
    if lower == 0:
        _check_duplicates(xy, panel.entities, duplicates)
    sums, counts = band_sums(
        xy, _stacked(stock, mask), threshold * per, lower * per,
        tile_points=tile_points, progress=progress,
    )  # fmt: skip
    if islands == "raise" and (counts == 0).any():
        alone = panel.entities[counts == 0]
        raise WeightsError(
            f"{len(alone)} firms have no other firm within {lower:g}-{threshold:g} {unit}, "
            f"e.g. {preview(alone)}. Widen the band, or pass islands='keep' (pool 0)."
        )
    out = _finish(sums, counts.astype(float), stock.shape[1], statistic, absent)
    return _series(panel, out, name or f"{column}_band")


# ---------------------------------------------------------------------- steps
def _inputs(
    panel: Panel,
    column: str,
    geo: Any,
    metric: Metric | None,
    statistic: str,
    absent: str,
    tile_points: int | None,
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Projected coordinates by entity; stocks as (entities x periods), absent = 0; the
    presence mask (for ``absent="renormalize"``, else None)."""
    if statistic not in ("sum", "mean"):
        raise SpecificationError(f"statistic must be 'sum' or 'mean', got {statistic!r}.")
    if absent not in ("zero", "renormalize"):
        raise SpecificationError(f"absent must be 'zero' or 'renormalize', got {absent!r}.")
    if tile_points is not None and (not isinstance(tile_points, int) or tile_points < 1):
        raise SpecificationError(
            f"tile_points must be a positive integer or None, got {tile_points!r}."
        )
    x = values(panel, column)
    xy, metric, _ = _coordinates(panel, geo, metric)
    if metric != "euclidean":
        raise GeographyError(
            "tiled pools need projected coordinates (planar distances), but the locations "
            "are lon/lat degrees. Project them first, e.g. geo.to_crs('EPSG:3035') "
            "(Europe) or geo.to_crs(geo.estimate_utm_crs()), or use spillover_pool with "
            "weights.knn / weights.distance_band for great-circle distances."
        )
    ent = entity_codes(panel)
    stock = np.zeros((panel.n_entities, sum(1 for _ in period_rows(panel))))
    mask = np.zeros_like(stock) if absent == "renormalize" else None
    for t, (_, rows) in enumerate(period_rows(panel)):
        stock[ent[rows], t] = x[rows]
        if mask is not None:
            mask[ent[rows], t] = 1.0
    return np.ascontiguousarray(xy, dtype=float), stock, mask


def _crs(panel: Panel, geo: Any) -> Any:
    geo = panel.geo if geo is None else geo
    return getattr(geo, "crs", None)


def _stacked(stock: FloatArray, mask: FloatArray | None) -> FloatArray:
    return stock if mask is None else np.hstack([stock, mask])


def _check_duplicates(xy: FloatArray, ids: pd.Index, policy: str) -> None:
    if policy not in ("raise", "keep"):
        raise SpecificationError(f"duplicates must be 'raise' or 'keep', got {policy!r}.")
    if policy == "keep":
        return
    dup = duplicate_points(xy)
    if len(dup):
        raise WeightsError(
            f"{len(dup)} firms share their coordinates with another firm, e.g. "
            f"{preview(ids[dup])}. Aggregate them to one entity, correct the geocoding, or "
            "pass duplicates='keep' to treat coincident points as neighbours at distance 0."
        )


def _finish(
    sums: FloatArray, degree: FloatArray, periods: int, statistic: str, absent: str
) -> FloatArray:
    """S (entities x periods) from neighbour sums of the stocks (and presence), as
    :func:`spillover.measures._pools.pool_kernel` does with binary or 1/degree weights."""
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.ones_like(degree) if statistic == "sum" else np.where(degree > 0, 1 / degree, 0.0)
        s = sums[:, :periods] * w[:, None]
        if absent == "zero":
            return s
        total = (w * degree)[:, None]
        covered = sums[:, periods:] * w[:, None]
        return np.where(covered == 0, np.where(total == 0, 0.0, np.nan), s * total / covered)


def _series(panel: Panel, out: FloatArray, name: str) -> pd.Series:
    ent: IntArray = entity_codes(panel)
    col = np.empty(len(ent), dtype=np.intp)
    for t, (_, rows) in enumerate(period_rows(panel)):
        col[rows] = t
    return pd.Series(out[ent, col], index=panel.data.index, name=name)
