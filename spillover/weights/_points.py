"""Distance-based weights on points: k nearest, distance band, inverse distance, kernels.

Distances are great-circle kilometres for a geographic (lon/lat) CRS and Euclidean
in the CRS's units (usually metres) for a projected one, decided by
:func:`spillover.geo.distance_coordinates`; raw ``(n, 2)`` arrays need an explicit
``metric=``. Everything runs on a KD-tree (:mod:`spillover.weights._distance`), so the
cost grows with the number of neighbour pairs, never with N^2.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from spillover._typing import FloatArray, Metric
from spillover.errors import SpecificationError, WeightsError
from spillover.weights._base import IslandPolicy, Weights
from spillover.weights._distance import knn_pairs, pairs_within
from spillover.weights._inputs import check_duplicates, csr_from_rows, finish, points

Duplicates = Literal["raise", "keep"]
KernelName = Literal[
    "negative_exponential", "gaussian", "triangular", "epanechnikov", "bisquare", "uniform"
]
MAX_PAIRS = 50_000_000
"""Largest number of ordered pairs an untruncated (cutoff=None) weights may hold."""

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
    xy, metric, index, unit = points(geo, metric, ids)
    if not isinstance(k, int | np.integer):
        raise SpecificationError(f"k must be an integer, got {k!r}.")
    i, j, d = knn_pairs(xy, int(k), metric=metric)
    check_duplicates(i, j, d, index, duplicates)
    matrix = csr_from_rows(i, j, np.ones(len(i)), len(xy))
    meta = {"metric": metric, "unit": unit, "k": int(k)}
    return finish(matrix, index, f"knn(k={k})", islands="raise", meta=meta)


def distance_band(
    geo: Any,
    threshold: float,
    *,
    lower: float = 0.0,
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
        Upper distance, in km for lon/lat data, in CRS units (usually metres) for
        projected data.
    lower : float, default 0
        Lower distance (exclusive), for annuli such as 50-100 km.
    binary : bool, default True
        If False, the weight is 1 / d_ij inside the band (libpysal's
        ``DistanceBand(binary=False)``, alpha = -1); coincident points then raise.
    islands : {"raise", "keep", "drop"}, default "raise"
        Units with no other unit inside the band: raise naming them, keep as zero rows,
        or drop them.

    Returns
    -------
    Weights
        Symmetric; ``meta`` records the metric, unit and band.

    Notes
    -----
    Matches ``libpysal.weights.DistanceBand`` / ``Graph.build_distance_band`` on
    projected points (distances <= threshold included).

    Examples
    --------
    >>> import numpy as np
    >>> from spillover import weights
    >>> xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.5, 0.0]])
    >>> weights.distance_band(xy, 1.5, metric="euclidean", ids=[1, 2, 3]).cardinalities.tolist()
    [1, 2, 1]
    """
    xy, metric, index, unit = points(geo, metric, ids)
    i, j, d = pairs_within(xy, float(threshold), metric=metric, lower=float(lower))
    check_duplicates(i, j, d, index, "raise" if not binary else duplicates)
    w = np.ones(len(i)) if binary else 1.0 / d
    name = f"distance_band({lower:g}-{threshold:g} {unit})"
    meta = {"metric": metric, "unit": unit, "lower": lower, "threshold": threshold}
    return finish(csr_from_rows(i, j, w, len(xy)), index, name, islands=islands, meta=meta)


def inverse_distance(
    geo: Any,
    *,
    power: float = 1.0,
    cutoff: float | None = None,
    metric: Metric | None = None,
    ids: Any = None,
    islands: IslandPolicy = "raise",
) -> Weights:
    """Inverse-distance weights w_ij = d_ij^(-power) for d_ij <= cutoff.

    Parameters
    ----------
    geo, metric, ids
        As in :func:`knn`.
    power : float, default 1
        Decay exponent (2 for gravity-type decay).
    cutoff : float, optional
        Largest distance with a non-zero weight (km for lon/lat, CRS units otherwise).
        None links all pairs, which is refused beyond 50 million pairs (about 7,000
        units): give a cutoff for large data.
    islands : {"raise", "keep", "drop"}, default "raise"
        Units with no other unit within the cutoff.

    Returns
    -------
    Weights
        Symmetric, not normalised (distance units matter: km vs metres rescale every
        weight by 1000^power; row standardisation removes the scale).

    Raises
    ------
    WeightsError
        If two points coincide (1 / 0), naming them.

    Examples
    --------
    >>> import numpy as np
    >>> from spillover import weights
    >>> xy = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]])
    >>> w = weights.inverse_distance(xy, power=1, metric="euclidean", ids=["a", "b", "c"])
    >>> float(w.matrix[0, 1]), float(w.matrix[0, 2])
    (0.5, 0.25)
    """
    if power <= 0:
        raise SpecificationError(f"power must be positive, got {power}.")
    xy, metric, index, unit = points(geo, metric, ids)
    i, j, d = _pairs(xy, metric, cutoff)
    check_duplicates(i, j, d, index, "raise")
    meta = {"metric": metric, "unit": unit, "power": power, "cutoff": cutoff}
    name = f"inverse_distance(power={power:g}" + (f", cutoff={cutoff:g} {unit})" if cutoff else ")")
    w = d ** (-float(power))
    return finish(csr_from_rows(i, j, w, len(xy)), index, name, islands=islands, meta=meta)


def kernel(
    geo: Any,
    *,
    bandwidth: float,
    function: KernelName = "negative_exponential",
    cutoff: float | None = None,
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
        Decay scale h (km for lon/lat, CRS units otherwise).
    function : str, default "negative_exponential"
        With z = d / h: ``"negative_exponential"`` exp(-z); ``"gaussian"``
        exp(-z^2 / 2); and, zero for z >= 1, ``"triangular"`` 1 - z,
        ``"epanechnikov"`` 1 - z^2, ``"bisquare"`` (1 - z^2)^2, ``"uniform"`` 1.
    cutoff : float, optional
        Largest distance with a non-zero weight. Compact kernels default to the
        bandwidth; for the exponential and Gaussian kernels None links all pairs, which
        is refused beyond 50 million pairs: give a cutoff (e.g. 3 bandwidths) for large
        data.
    islands : {"raise", "keep", "drop"}, default "raise"
        Units without any other unit within the cutoff.

    Returns
    -------
    Weights
        Symmetric.

    Notes
    -----
    The kernels are libpysal's (``libpysal.kernels.kernel(..., decay=True)``) scaled
    so that K(0) = 1, the usual distance-decay form of spillover studies
    (w = exp(-d / h)). Unlike ``libpysal.weights.Kernel``, the diagonal is zero: a
    unit is not its own neighbour.

    Examples
    --------
    >>> import numpy as np
    >>> from spillover import weights
    >>> xy = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> w = weights.kernel(xy, bandwidth=1.0, metric="euclidean", ids=[0, 1])
    >>> round(float(w.matrix[0, 1]), 6)  # exp(-1)
    0.367879
    """
    if function not in _KERNELS:
        raise SpecificationError(f"unknown kernel {function!r}; use one of {sorted(_KERNELS)}.")
    if not bandwidth > 0:
        raise SpecificationError(f"bandwidth must be positive, got {bandwidth}.")
    if function in _COMPACT:
        cutoff = bandwidth if cutoff is None else min(cutoff, bandwidth)
    xy, metric, index, unit = points(geo, metric, ids)
    i, j, d = _pairs(xy, metric, cutoff)
    check_duplicates(i, j, d, index, duplicates)
    w = _KERNELS[function](d / bandwidth)
    meta = {"metric": metric, "unit": unit, "bandwidth": bandwidth, "cutoff": cutoff}
    name = f"kernel({function}, bandwidth={bandwidth:g} {unit})"
    return finish(csr_from_rows(i, j, w, len(xy)), index, name, islands=islands, meta=meta)


def _pairs(xy: FloatArray, metric: Metric, cutoff: float | None) -> tuple[Any, Any, FloatArray]:
    """Pairs within ``cutoff``, or all pairs when None (refused if too many)."""
    n = len(xy)
    if cutoff is None:
        if n * (n - 1) > MAX_PAIRS:
            raise WeightsError(
                f"without a cutoff all {n} x {n - 1} = {n * (n - 1):,} pairs would be stored "
                f"(limit {MAX_PAIRS:,}). Pass cutoff= (km for lon/lat data, CRS units "
                "otherwise) to keep the weights sparse."
            )
        return pairs_within(xy, np.inf, metric=metric)
    if not cutoff > 0:
        raise SpecificationError(f"cutoff must be positive, got {cutoff}.")
    return pairs_within(xy, float(cutoff), metric=metric)
