"""Distance-based weights on points: k nearest, distance band, inverse distance, kernels.

Distances are great-circle kilometres for a geographic (lon/lat) CRS and Euclidean
in the CRS's units (usually metres) for a projected one, decided by
:func:`spillover.geo.distance_coordinates`; raw ``(n, 2)`` arrays need an explicit
``metric=``. Distances the user gives (bands, cutoffs, bandwidths) are in km by default
on any CRS (``unit="km"``, as in :func:`spillover.measures.pools_by_distance_band` and
``Conley(cutoff_km=...)``), or in the CRS's own units with ``unit="crs"``. Everything
runs on a KD-tree (:mod:`spillover.weights._distance`), so the cost grows with the
number of neighbour pairs, never with N^2; a band or cutoff so wide that it would link
more than 500 million pairs (estimated from a sample first) is refused with a WeightsError.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np

from spillover._typing import FloatArray, IntArray, Metric
from spillover.errors import SpecificationError, WeightsError
from spillover.geo._crs import DistanceUnit, check_distance_unit, coordinate_units_per
from spillover.weights._base import IslandPolicy, Weights
from spillover.weights._distance import _chord, _tree, knn_pairs, pairs_within
from spillover.weights._inputs import Points, check_duplicates, csr_from_rows, finish, points

Duplicates = Literal["raise", "keep"]
KernelName = Literal[
    "negative_exponential", "gaussian", "triangular", "epanechnikov", "bisquare", "uniform"
]
MAX_PAIRS = 50_000_000
"""Largest number of ordered pairs an untruncated (cutoff=None) weights may hold."""
MAX_BAND_PAIRS = 500_000_000
"""Largest estimated number of ordered pairs a band or cutoff may link (about 12 GB to
build); a wider one is refused before the pair search instead of exhausting memory."""
_SAMPLE_POINTS = 20_000

_KERNELS = {
    "negative_exponential": lambda z: np.exp(-z),
    "gaussian": lambda z: np.exp(-0.5 * z**2),
    "triangular": lambda z: 1.0 - z,
    "epanechnikov": lambda z: 1.0 - z**2,
    "bisquare": lambda z: (1.0 - z**2) ** 2,
    "uniform": np.ones_like,
}
_COMPACT = {"triangular", "epanechnikov", "bisquare", "uniform"}


def knn(
    geo: Any,
    k: int,
    *,
    metric: Metric | None = None,
    ids: Any = None,
    duplicates: Duplicates = "raise",
) -> Weights:
    """k-nearest-neighbour weights: w_ij = 1 if j is among the k units closest to i.

    Parameters
    ----------
    geo : GeoDataFrame, GeoSeries, Panel or array of shape (n, 2)
        Points (polygons are reduced to a representative point), indexed by entity id.
        An array needs ``metric=`` and ``ids=``.
    k : int
        Neighbours per unit, 1 <= k < n.
    metric : {"haversine", "euclidean"}, optional
        Only with an array: lon/lat degrees (great-circle km) or projected x/y.
    ids : sequence, optional
        Only with an array: the entity id of each row.
    duplicates : {"raise", "keep"}, default "raise"
        Coincident points: raise a WeightsError naming them, or keep them as
        neighbours of each other at distance 0.

    Returns
    -------
    Weights
        Binary, not symmetric in general (j near i does not make i near j); every row
        has exactly k neighbours, so there are no islands.

    Notes
    -----
    Same neighbours as ``libpysal.weights.KNN`` and ``libpysal.graph.Graph.build_knn``
    for points without ties. Ties at the k-th distance are broken by the KD-tree's
    order. Distances are not stored (weights are binary); ``meta`` records the metric.

    Examples
    --------
    >>> import numpy as np
    >>> from spillover import weights
    >>> xy = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [7.0, 0.0]])
    >>> w = weights.knn(xy, 1, metric="euclidean", ids=["a", "b", "c", "d"])
    >>> w.lag(np.array([1.0, 2.0, 3.0, 4.0])).tolist()
    [2.0, 1.0, 2.0, 3.0]
    """
    xy, metric, index, unit, _ = points(geo, metric, ids)
    if not isinstance(k, int | np.integer):
        raise SpecificationError(f"k must be an integer, got {k!r}.")
    i, j, d = knn_pairs(xy, int(k), metric=metric)
    check_duplicates(i, j, d, index, duplicates)
    matrix = csr_from_rows(i, j, np.ones(len(i)), len(xy))
    meta = {"metric": metric, "unit": unit, "k": int(k)}
    return finish(matrix, index, f"knn(k={k})", islands="raise", meta=meta)


_UNIT_DOC = """unit : {"km", "crs"}, default "km"
        Unit of the distances given here and of the distances inside the weights.
        ``"km"``: kilometres on any data, great-circle for lon/lat and planar for a
        projected CRS, whose axis unit (metre, foot, US survey foot, ...) is converted
        with :func:`spillover.geo.crs_units_per_km` (a CRS of unknown unit is refused).
        ``"crs"``: the units distances are measured in (km for lon/lat, the CRS's own
        unit for projected data, the coordinates' own unit for a raw array with
        ``metric="euclidean"``, which has no CRS and so needs ``"crs"``). km values
        beyond 20,015 km (half the Earth's circumference) are refused: they are
        almost surely metres, which need ``unit="crs"``."""


def distance_band(
    geo: Any,
    threshold: float,
    *,
    lower: float = 0.0,
    unit: DistanceUnit = "km",
    binary: bool = True,
    metric: Metric | None = None,
    ids: Any = None,
    islands: IslandPolicy = "raise",
    duplicates: Duplicates = "raise",
) -> Weights:
    """Neighbours within a distance band: w_ij = 1 if lower < d_ij <= threshold.

    Parameters
    ----------
    geo, metric, ids, duplicates
        As in :func:`knn`.
    threshold : float
        Upper distance, in ``unit`` (km by default).
    lower : float, default 0
        Lower distance (exclusive), in ``unit``, for annuli such as 50-100 km.
    {unit}
    binary : bool, default True
        If False, the weight is 1 / d_ij inside the band with d_ij in ``unit``
        (libpysal's ``DistanceBand(binary=False)``, alpha = -1); coincident points
        then raise.
    islands : {{"raise", "keep", "drop"}}, default "raise"
        Units with no other unit inside the band: raise naming them, keep as zero rows,
        or drop them.

    Returns
    -------
    Weights
        Symmetric; ``meta`` records the metric, the unit of the band and the band.

    Notes
    -----
    Matches ``libpysal.weights.DistanceBand`` / ``Graph.build_distance_band`` on
    projected points with ``unit="crs"`` (distances <= threshold included).

    Examples
    --------
    Points 0, 1 and 2.5 km apart in a projected CRS in metres, band of 1.5 km:

    >>> import geopandas as gpd
    >>> from spillover import weights
    >>> pts = gpd.GeoSeries(gpd.points_from_xy([0.0, 1_000.0, 2_500.0], [0.0] * 3),
    ...                     index=[1, 2, 3], crs="EPSG:5070")
    >>> w = weights.distance_band(pts, 1.5)
    >>> w.name, w.cardinalities.tolist()
    ('distance_band(0-1.5 km)', [1, 2, 1])
    """
    given = max(threshold, lower)
    check_distance_unit(unit, given, what=f"distances (threshold={threshold:g}, lower={lower:g})")
    if not 0 <= lower < threshold:
        raise SpecificationError(
            f"a distance band needs 0 <= lower < threshold, got lower={lower:g} and "
            f"threshold={threshold:g} (in {unit!r} units)."
        )
    p = _scaled_pairs(
        geo, metric, ids, unit, threshold, lower, "raise" if not binary else duplicates
    )
    w = np.ones(len(p.i)) if binary else 1.0 / (p.d / p.per)
    name = f"distance_band({lower:g}-{threshold:g} {p.label})"
    return _from_pairs(p, w, name, islands, lower=lower, threshold=threshold)


def inverse_distance(
    geo: Any,
    *,
    power: float = 1.0,
    cutoff: float | None = None,
    unit: DistanceUnit = "km",
    metric: Metric | None = None,
    ids: Any = None,
    islands: IslandPolicy = "raise",
) -> Weights:
    """Inverse-distance weights w_ij = d_ij^(-power) for d_ij <= cutoff, d_ij in ``unit``.

    Parameters
    ----------
    geo, metric, ids
        As in :func:`knn`.
    power : float, default 1
        Decay exponent (2 for gravity-type decay).
    cutoff : float, optional
        Largest distance with a non-zero weight, in ``unit`` (km by default). None
        links all pairs, which is refused beyond 50 million pairs (about 7,000 units):
        give a cutoff for large data.
    {unit}
    islands : {{"raise", "keep", "drop"}}, default "raise"
        Units with no other unit within the cutoff.

    Returns
    -------
    Weights
        Symmetric, not normalised. The distance unit matters: with ``unit="km"`` the
        weights are km^(-power) on any CRS; metres (``unit="crs"`` on a metre CRS)
        rescale every weight by 1000^(-power). Row standardisation removes the scale.

    Raises
    ------
    WeightsError
        If two points coincide (1 / 0), naming them.

    Examples
    --------
    >>> import numpy as np
    >>> from spillover import weights
    >>> xy = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]])
    >>> w = weights.inverse_distance(xy, power=1, unit="crs", metric="euclidean",
    ...                              ids=["a", "b", "c"])
    >>> float(w.matrix[0, 1]), float(w.matrix[0, 2])
    (0.5, 0.25)
    """
    if not power > 0:  # also refuses NaN
        raise SpecificationError(f"power must be positive, got {power}.")
    check_distance_unit(unit, cutoff, what=f"distances (cutoff={cutoff})")
    _check_cutoff(cutoff, unit)
    p = _scaled_pairs(geo, metric, ids, unit, cutoff, 0.0, "raise")
    name = f"inverse_distance(power={power:g}" + (
        f", cutoff={cutoff:g} {p.label})" if cutoff else ")"
    )
    w = (p.d / p.per) ** (-float(power))
    return _from_pairs(p, w, name, islands, power=power, cutoff=cutoff)


def kernel(
    geo: Any,
    *,
    bandwidth: float,
    function: KernelName = "negative_exponential",
    cutoff: float | None = None,
    unit: DistanceUnit = "km",
    metric: Metric | None = None,
    ids: Any = None,
    islands: IslandPolicy = "raise",
    duplicates: Duplicates = "raise",
) -> Weights:
    """Distance-decay kernel weights w_ij = K(d_ij / bandwidth), K(0) = 1, w_ii = 0.

    Parameters
    ----------
    geo, metric, ids, duplicates
        As in :func:`knn`.
    bandwidth : float
        Decay scale h, in ``unit`` (km by default).
    function : str, default "negative_exponential"
        With z = d / h: ``"negative_exponential"`` exp(-z); ``"gaussian"``
        exp(-z^2 / 2); and, zero for z >= 1, ``"triangular"`` 1 - z,
        ``"epanechnikov"`` 1 - z^2, ``"bisquare"`` (1 - z^2)^2, ``"uniform"`` 1.
    cutoff : float, optional
        Largest distance with a non-zero weight, in ``unit``. Compact kernels default
        to the bandwidth; for the exponential and Gaussian kernels None links all
        pairs, which is refused beyond 50 million pairs: give a cutoff (e.g. 3
        bandwidths) for large data.
    {unit}
    islands : {{"raise", "keep", "drop"}}, default "raise"
        Units without any other unit within the cutoff.

    Returns
    -------
    Weights
        Symmetric. z = d / h does not depend on the unit, only the bandwidth's meaning
        does.

    Notes
    -----
    The kernels are libpysal's (``libpysal.kernels.kernel(..., decay=True)``) scaled
    so that K(0) = 1, the usual distance-decay form of spillover studies
    (w = exp(-d / h)). Unlike ``libpysal.weights.Kernel``, the diagonal is zero: a
    unit is not its own neighbour.

    Examples
    --------
    Two points 1 km apart in a projected CRS in metres, bandwidth 1 km:

    >>> import geopandas as gpd
    >>> from spillover import weights
    >>> pts = gpd.GeoSeries(gpd.points_from_xy([0.0, 1_000.0], [0.0, 0.0]), index=[0, 1],
    ...                     crs="EPSG:5070")
    >>> w = weights.kernel(pts, bandwidth=1.0, cutoff=3.0)
    >>> w.name, round(float(w.matrix[0, 1]), 6)  # exp(-1)
    ('kernel(negative_exponential, bandwidth=1 km, cutoff=3 km)', 0.367879)
    """
    if function not in _KERNELS:
        raise SpecificationError(f"unknown kernel {function!r}; use one of {sorted(_KERNELS)}.")
    if not bandwidth > 0:
        raise SpecificationError(f"bandwidth must be positive, got {bandwidth}.")
    given = bandwidth if cutoff is None else max(bandwidth, cutoff)
    check_distance_unit(unit, given, what=f"distances (bandwidth={bandwidth:g}, cutoff={cutoff})")
    _check_cutoff(cutoff, unit)
    if function in _COMPACT:
        cutoff = bandwidth if cutoff is None else min(cutoff, bandwidth)
    p = _scaled_pairs(geo, metric, ids, unit, cutoff, 0.0, duplicates)
    w = _KERNELS[function](p.d / (bandwidth * p.per))
    name = f"kernel({function}, bandwidth={bandwidth:g} {p.label}"
    if cutoff is not None and not (function in _COMPACT and cutoff == bandwidth):
        name += f", cutoff={cutoff:g} {p.label}"
    name += ")"
    return _from_pairs(p, w, name, islands, bandwidth=bandwidth, cutoff=cutoff)


for _builder in (distance_band, inverse_distance, kernel):
    _builder.__doc__ = (_builder.__doc__ or "").format(unit=_UNIT_DOC)


def _check_cutoff(cutoff: float | None, unit: DistanceUnit) -> None:
    """A cutoff is None (all pairs) or a positive number, checked in the user's unit."""
    if cutoff is not None and not cutoff > 0:
        raise SpecificationError(f"cutoff must be positive, got {cutoff} (in {unit!r} units).")


class _Pairs(NamedTuple):
    """Neighbour pairs of a builder: points, the user's unit, pairs sorted by row."""

    pts: Points
    per: float
    """Coordinate distance units per unit of the user's distances."""
    label: str
    """Label of the user's distance unit in names and ``meta``."""
    i: IntArray
    j: IntArray
    d: FloatArray
    """Distances in coordinate units (divide by ``per`` for the user's unit)."""


def _scaled_pairs(
    geo: Any,
    metric: Metric | None,
    ids: Any,
    unit: DistanceUnit,
    upper: float | None,
    lower: float,
    duplicates: str,
) -> _Pairs:
    """Pairs with ``lower < d <= upper`` in the user's unit (all pairs if ``upper`` is None),
    coincident points checked under the ``duplicates`` policy."""
    pts = points(geo, metric, ids)
    per, label = _scale(pts, unit)
    if upper is None:
        i, j, d = _all_pairs(pts.xy, pts.metric)
    else:
        _check_band_size(pts.xy, pts.metric, float(upper) * per, f"{upper:g} {label}")
        i, j, d = pairs_within(pts.xy, float(upper) * per, metric=pts.metric, lower=lower * per)
    check_duplicates(i, j, d, pts.ids, duplicates)
    return _Pairs(pts, per, label, i, j, d)


def _from_pairs(
    p: _Pairs, values: FloatArray, name: str, islands: IslandPolicy, **options: Any
) -> Weights:
    """Weights from the pairs and their values; ``meta`` holds metric, unit and options."""
    meta = {"metric": p.pts.metric, "unit": p.label, **options}
    matrix = csr_from_rows(p.i, p.j, values, len(p.pts.xy))
    return finish(matrix, p.pts.ids, name, islands=islands, meta=meta)


def _scale(pts: Points, unit: DistanceUnit) -> tuple[float, str]:
    """Coordinate distance units per unit of the user's distances, and that unit's label."""
    per = coordinate_units_per(unit, pts.metric, pts.crs, what="distances")
    return per, "km" if unit == "km" else pts.unit


def _check_band_size(xy: FloatArray, metric: Metric, upper: float, given: str) -> None:
    """Refuse a band whose pairs would exceed MAX_BAND_PAIRS, estimated from a sample.

    Neighbour counts of 1,000 points among 20,000 sampled ones, scaled to all n points;
    only run when n (n - 1) could exceed the limit at all.
    """
    n = len(xy)
    if n * (n - 1) <= MAX_BAND_PAIRS:
        return
    rng = np.random.default_rng(0)
    m = min(n, _SAMPLE_POINTS)
    tree = _tree(xy[rng.choice(n, size=m, replace=False)], metric)
    radius = _chord(upper) if metric == "haversine" else upper
    counts = tree.query_ball_point(tree.data[: min(m, 1_000)], radius, return_length=True)
    estimate = (np.mean(counts) - 1.0) * (n - 1) / (m - 1) * n
    if estimate > MAX_BAND_PAIRS:
        raise WeightsError(
            f"a distance of {given} links about {estimate:,.0f} ordered pairs of the {n:,} "
            f"units (estimated from {m:,} sampled points), more than {MAX_BAND_PAIRS:,} "
            "(about 24 bytes each while building). Use a shorter threshold or cutoff, or "
            "weights.knn(geo, k) for a fixed number of neighbours."
        )


def _all_pairs(xy: FloatArray, metric: Metric) -> tuple[IntArray, IntArray, FloatArray]:
    """Every ordered pair, refused beyond MAX_PAIRS (an untruncated weights is dense)."""
    n = len(xy)
    if n * (n - 1) > MAX_PAIRS:
        raise WeightsError(
            f"without a cutoff all {n} x {n - 1} = {n * (n - 1):,} pairs would be stored "
            f"(limit {MAX_PAIRS:,}). Pass cutoff= (in km, or in CRS units with "
            "unit='crs') to keep the weights sparse."
        )
    return pairs_within(xy, np.inf, metric=metric)
