"""Pools split by distance band (annuli) and by region (within vs outside)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._typing import FloatArray, IntArray, Metric
from spillover._validate import preview, require_columns, require_same_ids
from spillover.errors import GeographyError, PanelError, SpecificationError
from spillover.geo import distance_coordinates
from spillover.geo._crs import DistanceUnit, check_distance_unit, coordinate_units_per
from spillover.measures._common import period_rows, values
from spillover.measures._pools import Absent, pool_kernel, spillover_pool, weights_by_period
from spillover.panel import Panel
from spillover.weights._base import Weights
from spillover.weights._distance import pairs_within

BandUnit = DistanceUnit


def pools_by_distance_band(
    panel: Panel,
    column: str,
    geo: Any = None,
    *,
    bands: Sequence[float] = (0, 50, 100, 200),
    unit: BandUnit = "km",
    metric: Metric | None = None,
    absent: Absent = "zero",
) -> pd.DataFrame:
    """One spillover pool per distance annulus: S^b_it = sum of K_jt with d_ij in band b.

    Parameters
    ----------
    panel : Panel
        Entity-period panel.
    column : str
        The stock K to pool.
    geo : GeoDataFrame, GeoSeries or DataFrame, optional
        One location per entity, indexed by entity id (default: ``panel.geo``). With a
        CRS, the CRS decides the metric (:func:`spillover.geo.distance_coordinates`). A
        plain DataFrame holds two coordinate columns (lon, lat or x, y) and needs
        ``metric``.
    bands : sequence of float, default (0, 50, 100, 200)
        Increasing band edges, in ``unit``. Band b is the annulus (edge_b, edge_b+1]; the
        first band also contains distance 0 (coincident points).
    unit : {"km", "crs"}, default "km"
        Unit of ``bands``. ``"km"`` (the default, as ``Conley(cutoff_km=...)`` and the
        simulators' ``*_km`` options): kilometres whatever the data, great-circle for
        lon/lat and planar for projected data, whose CRS axis unit (metre, foot, US
        survey foot, ...) is converted with pyproj's ``unit_conversion_factor``; a CRS
        whose unit is unknown is refused. ``"crs"``: the units distances are measured in
        (:func:`spillover.geo.distance_coordinates`): kilometres for lon/lat, the CRS's
        own unit for projected data, the coordinates' own unit for a plain table with
        ``metric="euclidean"`` (which has no CRS, so ``"km"`` is refused there). The
        default is kilometres so the same edges mean the same distances on every data
        set; edges beyond 20,015 km (half the Earth's circumference) are refused with
        ``unit="km"``, which catches metre edges passed as km.
    metric : {"haversine", "euclidean"}, optional
        Only for a plain coordinate DataFrame.
    absent : {"zero", "renormalize"}, default "zero"
        Treatment of entities absent in a period, as in :func:`spillover_pool`.

    Returns
    -------
    pandas.DataFrame
        One column per band, indexed like ``panel``, named ``"<column>_<lower>_<upper>km"``
        (e.g. ``"stock_0_5km"``) with ``unit="km"`` and ``"<column>_<lower>_<upper>"`` in
        CRS units with ``unit="crs"``.

    Notes
    -----
    Binary band weights, the unit itself excluded: column b is the sum of the others'
    stocks at distance in the band, and the columns add up to the pool over the
    whole range of the bands. Locations are static. Pairs come from one KD-tree query up to the
    last edge (:func:`spillover.weights._distance.pairs_within`), never an N x N
    distance matrix.

    Examples
    --------
    Firms at 0, 3 and 9 km along a line, in a projected CRS in metres; bands in km:

    >>> import geopandas as gpd
    >>> import pandas as pd
    >>> from spillover import Panel
    >>> from spillover.measures import pools_by_distance_band
    >>> df = pd.DataFrame({"firm": [1, 2, 3], "year": 2000, "k": [1.0, 2.0, 4.0]})
    >>> pts = gpd.GeoSeries(gpd.points_from_xy([0.0, 3_000.0, 9_000.0], [0.0] * 3),
    ...                     index=[1, 2, 3], crs="EPSG:5070")
    >>> out = pools_by_distance_band(Panel(df, entity="firm", time="year"), "k", pts,
    ...                              bands=[0, 5, 10])
    >>> list(out.columns), out.to_numpy().tolist()
    (['k_0_5km', 'k_5_10km'], [[2.0, 4.0], [1.0, 4.0], [0.0, 3.0]])
    """
    edges = _check_edges(bands, unit)
    coords, metric, crs = _coordinates(panel, geo, metric)
    scaled = edges * coordinate_units_per(unit, metric, crs, what="band edges")
    n = panel.n_entities
    out = {}
    i_all, j_all, d_all = pairs_within(coords, scaled[-1], metric=metric, lower=scaled[0])
    for (lo, hi), (lo_c, hi_c) in zip(pairwise(edges), pairwise(scaled), strict=True):
        keep = (d_all <= hi_c) & ((d_all > lo_c) | (lo_c == 0))
        i, j = i_all[keep], j_all[keep]
        w = Weights(sp.csr_array((np.ones(len(i)), (i, j)), shape=(n, n)), panel.entities)
        label = f"{column}_{lo:g}_{hi:g}" + ("km" if unit == "km" else "")
        out[label] = spillover_pool(panel, column, w, absent=absent, name=label)
    return pd.DataFrame(out, index=panel.data.index)


def _check_edges(bands: Sequence[float], unit: Any) -> FloatArray:
    check_distance_unit(unit, None, what="band edges")
    edges = np.asarray(bands, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or edges[0] < 0 or (np.diff(edges) <= 0).any():
        raise SpecificationError(
            f"bands must be >= 2 increasing non-negative edges, got {list(bands)}."
        )
    check_distance_unit(unit, edges[-1], what=f"band edges {list(bands)}")
    return edges


def _coordinates(panel: Panel, geo: Any, metric: Metric | None) -> tuple[FloatArray, Metric, Any]:
    """Coordinates in ``panel.entities`` order, matched by id; metric; CRS (or None)."""
    if geo is None:
        geo = panel.geo
    if not isinstance(geo, pd.DataFrame | pd.Series):
        raise SpecificationError(
            f"geo must be a GeoDataFrame/GeoSeries or a coordinate DataFrame indexed by "
            f"entity id, not {type(geo).__name__}; locations are matched by id."
        )
    require_same_ids(
        panel.entities,
        geo.index,
        subject="locations and panel entities",
        absent="entities have no location",
        extra="locations are not panel entities",
        fix="Pass geo.loc[panel.entities].",
    )
    geo = geo.loc[panel.entities]
    if hasattr(geo, "crs") and hasattr(geo, "geometry"):
        if metric is not None:
            raise SpecificationError("metric is implied by the CRS; do not pass it with geometry.")
        return (*distance_coordinates(geo), geo.crs)
    if metric is None or geo.ndim != 2 or geo.shape[1] != 2:
        raise GeographyError(
            "a plain coordinate table needs exactly two columns (lon, lat or x, y) and "
            "metric='haversine' (degrees, distances in km) or 'euclidean' (projected units)."
        )
    return geo.to_numpy(dtype=float), metric, None


def region_pools(
    panel: Panel,
    column: str,
    region: str,
    *,
    w: Weights | Any | Mapping[Any, Weights | Any] | None = None,
    statistic: Literal["sum", "mean"] = "sum",
) -> pd.DataFrame:
    """Within-region and outside-region pools from a region column (firms nested in regions).

    Parameters
    ----------
    panel : Panel
        Firm-period panel.
    column : str
        The stock K to pool.
    region : str
        Column with each firm's region in each period (may change over time).
    w : Weights, libpysal W/Graph, or mapping period -> weights, optional
        Split a weighted pool instead: S_within_it = sum_{j != i, same region} w_ij K_jt
        and S_outside_it = sum_{j in other regions} w_ij K_jt, which add up to
        ``spillover_pool(panel, column, w)``. Matched by id as in :func:`spillover_pool`;
        only with ``statistic="sum"``.
    statistic : {"sum", "mean"}, default "sum"
        ``"sum"``: S_within_it = sum of K_jt over the other firms j in i's region in t,
        S_outside_it = sum over firms in other regions, so within + outside + K_it =
        the period total. ``"mean"``: the same sums divided by the number of firms they
        cover (NaN when there is none).

    Returns
    -------
    pandas.DataFrame
        Columns ``"<column>_within"`` and ``"<column>_outside"``, indexed like ``panel``.

    Notes
    -----
    Computed from group sums by (region, period), O(N) per period: no N x N matrix.
    With ``w``, its non-zeros are split by whether both firms are in the same region
    in that period, O(nnz(W)) per period. Firms absent in a period contribute nothing.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover import Panel
    >>> from spillover.measures import region_pools
    >>> df = pd.DataFrame({"firm": [1, 2, 3], "year": 2000, "k": [1.0, 2.0, 4.0],
    ...                    "nuts": ["A", "A", "B"]})
    >>> region_pools(Panel(df, entity="firm", time="year"), "k", "nuts").to_numpy().tolist()
    [[2.0, 4.0], [1.0, 4.0], [0.0, 3.0]]
    """
    if statistic not in ("sum", "mean"):
        raise SpecificationError(f"statistic must be 'sum' or 'mean', got {statistic!r}.")
    x = values(panel, column)
    require_columns(panel.data, [region], "panel")
    reg = panel.data[region]
    if reg.isna().any():
        raise PanelError(
            f"{int(reg.isna().sum())} rows have no {region!r}, e.g. at "
            f"{preview(reg.index[reg.isna()])}. Assign every firm a region."
        )
    rcode = pd.factorize(reg)[0]
    if w is not None:
        if statistic != "sum":
            raise SpecificationError("with weights w, region pools are weighted sums only.")
        within, outside = _split_weighted(panel, x, rcode, w)
        return pd.DataFrame(
            {f"{column}_within": within, f"{column}_outside": outside}, index=panel.data.index
        )
    per = np.empty(len(x), dtype=np.intp)
    for k, (_, rows) in enumerate(period_rows(panel)):
        per[rows] = k
    cell = pd.factorize(per * (rcode.max() + 1) + rcode)[0]
    cell_sum = np.bincount(cell, weights=x)[cell]
    cell_n = np.bincount(cell)[cell]
    total = np.bincount(per, weights=x)[per]
    n_total = np.bincount(per)[per]
    within, outside = cell_sum - x, total - cell_sum
    if statistic == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):
            within = np.where(cell_n > 1, within / (cell_n - 1), np.nan)
            outside = np.where(n_total > cell_n, outside / (n_total - cell_n), np.nan)
    return pd.DataFrame(
        {f"{column}_within": within, f"{column}_outside": outside}, index=panel.data.index
    )


def _split_weighted(
    panel: Panel, x: FloatArray, rcode: IntArray, w: Any
) -> tuple[FloatArray, FloatArray]:
    """W's pool split into same-region and other-region neighbours, period by period."""
    within, outside = np.empty(len(x)), np.empty(len(x))
    for _, rows, wt, pos in weights_by_period(panel, w):
        m = wt.matrix
        reg = np.full(m.shape[0], -1)
        reg[pos] = rcode[rows]
        row_reg = np.repeat(reg, np.diff(m.indptr))
        same = (row_reg == reg[m.indices]) & (row_reg >= 0)
        w_in = sp.csr_array((m.data * same, m.indices, m.indptr), shape=m.shape)
        w_out = sp.csr_array((m.data * ~same, m.indices, m.indptr), shape=m.shape)
        within[rows] = pool_kernel(w_in, pos, x[rows], w_in.diagonal(), False)
        outside[rows] = pool_kernel(w_out, pos, x[rows], None, False)
    return within, outside
