"""Conley (1999) spatial HAC covariance for panels, with within-unit serial correlation.

Pure array kernels: :func:`conley_meat` returns the "meat" of the sandwich from score
contributions, coordinates and (entity, time) codes; :func:`conley_vcov` wraps it for a
plain OLS fit. Neighbour pairs come from a KD-tree
(:func:`spillover.weights._distance.pairs_within`) among the distinct locations, and the
per-period sums are sparse-times-dense products: nothing builds an N x N matrix.

The kernel matrix among fixed locations is the costly step; it is kept in a small
least-recently-used cache keyed by a digest of the locations and the options, so a
study that fits several models with the same ``Conley(...)`` on the same panel builds it
once (:func:`clear_kernel_cache` empties it).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from spillover._typing import FloatArray, IntArray, Metric
from spillover.errors import SpecificationError
from spillover.inference import kernels
from spillover.inference._conley_inputs import (
    _check_inputs,
    _check_lags,
    _check_unique_keys,
    _codes,
    _unique_rows,
)
from spillover.weights._distance import pairs_within

Kernel = Literal["bartlett", "uniform"]

_CHUNK_BYTES = 256 * 2**20
"""Upper bound on the dense (locations x periods x k) score block built at once."""

_CACHE_ENTRIES = 4
"""Kernel matrices kept at most (least recently used dropped first)."""
_CACHE_BYTES = 1 * 2**30
"""Total size of the cached kernel matrices at most; a larger matrix is not cached."""
_cache: OrderedDict[tuple[Any, ...], sp.csr_array] = OrderedDict()
_cache_lock = threading.Lock()


def conley_meat(
    scores: FloatArray,
    coords: FloatArray,
    *,
    entity: Any,
    time: Any,
    cutoff: float,
    metric: Metric,
    kernel: Kernel = "bartlett",
    lags: int = 0,
) -> FloatArray:
    """Meat of the Conley (1999) spatial HAC covariance, with optional serial terms.

    Parameters
    ----------
    scores : ndarray, shape (n, k)
        Score contributions ``s_it = x_it * u_it`` (``x`` demeaned if effects were
        absorbed), one row per observation, rows in any order.
    coords : ndarray, shape (n, 2)
        Location of each observation: (lon, lat) in degrees for ``metric="haversine"``
        (distances in km along great circles), projected (x, y) for ``"euclidean"``
        (distances in the projection's units). Locations may change over time.
    entity, time : array-like, length n
        Unit labels and periods. Periods are calendar times: integers whose differences
        count periods (years, or quarters numbered consecutively), or dates (counted in
        years, quarters, months, weeks or days, the coarsest unit at which all dates sit
        at the same place in their period). Unbalanced panels, gaps and spaced waves are
        allowed. Each (entity, time) pair may occur only once.
    cutoff : float
        Distance beyond which scores are treated as uncorrelated (km or CRS units).
        ``0`` keeps only observations at identical locations.
    metric : {"haversine", "euclidean"}
        How distances are computed.
    kernel : {"bartlett", "uniform"}, default "bartlett"
        Spatial weight ``K(d) = 1 - d/cutoff`` or ``1`` for ``d <= cutoff``.
    lags : int, default 0
        Serial correlation within a unit up to ``lags`` calendar periods apart.

    Returns
    -------
    ndarray, shape (k, k)
        The symmetric meat ``M``; the covariance is ``bread @ M @ bread``.

    Raises
    ------
    SpecificationError
        If shapes disagree, an option is invalid or ``time`` holds neither whole numbers
        nor dates.
    PanelError
        If an (entity, time) pair occurs twice (rows named).
    GeographyError
        If coordinates are missing or out of range for the metric.

    Notes
    -----
    ``M = sum_t sum_{i,j in t, d_ij <= cutoff} K(d_ij) s_it s_jt'
    + sum_i sum_{t != s, |t-s| <= L} (1 - |t-s|/(L+1)) s_it s_is'``.

    The first (spatial) term pairs observations of the **same period** only, the pair
    ``i = j`` with weight 1 (observations at identical locations get ``K(0) = 1``). The
    second (serial) term pairs a unit with its own other periods: ``|t - s|`` is their
    **calendar** distance in the time unit (not the count of periods observed between
    them), weighted as in Newey-West. With biennial waves (2000, 2002) and ``lags=1`` the
    two waves get weight 0; ``lags=2`` gives them 1/3. A year missing from the panel
    still counts. Cross-unit, cross-period products are not included. This is the
    estimator of Hsiang's (2010) ``ols_spatial_HAC`` (version 3, with the corrected
    serial weights ``(|t - s| <= lag_cutoff) * (1 - |t - s| / (lag_cutoff + 1))`` on the
    time variable itself), of Fetzer's ``reg2hdfespatial`` (which demeans by the fixed
    effects and then calls ``ols_spatial_HAC`` with the Bartlett option), of Christensen
    and Fetzer's R ``ConleySEs`` (``TimeDist``), of ``conleyreg`` (``time_dist``, on the
    numeric time variable) and of ``acreg``'s ``lagcutoff`` (Colella, Lalive, Sakalli and
    Thoenig 2019), all with the same weights on the calendar distance. One difference
    from Hsiang's and Fetzer's programs: distances here are exact great circles
    (Earth radius 6371.0088 km, 111.19 km per degree) where Hsiang uses a flat
    approximation around each point (111 km per degree of latitude, ``111 cos(lat_i)``
    per degree of longitude); the two differ by about 0.2% at short range, more over long
    distances, which changes the weights slightly and moves pairs near the cutoff. Like
    those programs, the meat carries no small-sample factor
    (their ``V = (X'X)^-1 M (X'X)^-1``).

    fixest's ``vcov_conley`` (R) is spatial only, with a uniform kernel: it first sums
    the scores of all observations sharing a location across **all** periods, so in a
    panel with fixed locations it includes every cross-period product between units
    within the cutoff (and within a unit). For a single cross-section its meat (with
    ``distance="spherical"``, ``pixel=0``) is the same sum as our ``kernel="uniform"``
    meat, up to its Earth radius (6371 km); fixest then multiplies by its ``ssc()``
    factor (by default ``(n - 1) / (n - K)``).

    The meat is symmetric but not guaranteed positive semi-definite: neither the Bartlett
    cone nor the uniform disc is a positive-definite kernel in two dimensions. This is
    shared by every implementation above (fixest can clip negative eigenvalues with
    ``vcov_fix``); check ``numpy.linalg.eigvalsh`` if a standard error comes out NaN.

    Callers choose the small-sample factor: none to match ``ols_spatial_HAC`` /
    ``reg2hdfespatial``; ``(n - 1)/(n - K)`` to match fixest on a cross-section.
    With ``cutoff=0``, distinct locations and ``lags=0`` the meat is White's HC0 meat
    ``sum s_it s_it'``; with ``lags`` at least the span from first to last period and
    ``cutoff=0`` it is the Bartlett-weighted (not the uniform, clustered) within-unit sum.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> s = rng.normal(size=(6, 2))
    >>> xy = np.array([[0, 0], [1, 0], [5, 5]] * 2, dtype=float)
    >>> m = conley_meat(s, xy, entity=[0, 1, 2, 0, 1, 2], time=[0, 0, 0, 1, 1, 1],
    ...                 cutoff=0.0, metric="euclidean")
    >>> bool(np.allclose(m, s.T @ s))
    True
    """
    s, xy, ent, per, kernel = _check_inputs(scores, coords, entity, time, cutoff, metric, kernel)
    lags = _check_lags(lags)
    _check_unique_keys(ent, per)
    meat = _spatial_meat(s, xy, per, cutoff, metric, kernel)
    if lags > 0:
        meat += _serial_meat(s, ent, per, lags)
    return (meat + meat.T) / 2


def conley_vcov(
    x: FloatArray,
    resid: FloatArray,
    coords: FloatArray,
    *,
    entity: Any,
    time: Any,
    cutoff: float,
    metric: Metric,
    kernel: Kernel = "bartlett",
    lags: int = 0,
) -> FloatArray:
    """Conley spatial HAC covariance of OLS coefficients, ``(X'X)^-1 M (X'X)^-1``.

    Parameters
    ----------
    x : ndarray, shape (n, k)
        Regressors of the fitted OLS model (demeaned if fixed effects were swept out).
    resid : ndarray, shape (n,)
        OLS residuals.
    coords, entity, time, cutoff, metric, kernel, lags
        As in :func:`conley_meat`.

    Returns
    -------
    ndarray, shape (k, k)
        Covariance without any small-sample factor (as Hsiang's ``ols_spatial_HAC`` and
        ``reg2hdfespatial``); use normal critical values.

    Raises
    ------
    SpecificationError
        If ``x`` is rank deficient or shapes disagree.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> n = 200
    >>> xy = rng.uniform(0, 100, size=(n, 2))
    >>> x = np.column_stack([np.ones(n), rng.normal(size=n)])
    >>> y = x @ [1.0, 2.0] + rng.normal(size=n)
    >>> b = np.linalg.lstsq(x, y, rcond=None)[0]
    >>> v = conley_vcov(x, y - x @ b, xy, entity=np.arange(n), time=np.zeros(n, int),
    ...                 cutoff=10.0, metric="euclidean")
    >>> v.shape
    (2, 2)
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise SpecificationError(f"x must be an (n, k) array, got shape {x.shape}.")
    u = np.asarray(resid, dtype=float).reshape(-1)
    if len(u) != len(x):
        raise SpecificationError(f"x has {len(x)} rows but resid has {len(u)} values.")
    xtx = x.T @ x
    if np.linalg.matrix_rank(xtx) < x.shape[1]:
        raise SpecificationError(
            f"x has rank {np.linalg.matrix_rank(xtx)} < {x.shape[1]} columns: drop collinear "
            "regressors before computing Conley standard errors."
        )
    bread = np.linalg.inv(xtx)
    meat = conley_meat(
        x * u[:, None],
        coords,
        entity=entity,
        time=time,
        cutoff=cutoff,
        metric=metric,
        kernel=kernel,
        lags=lags,
    )
    return kernels.sandwich(bread, meat)


# ---------------------------------------------------------------------- spatial part
def _spatial_meat(
    s: FloatArray, xy: FloatArray, per: IntArray, cutoff: float, metric: Metric, kernel: str
) -> FloatArray:
    """Sum over periods of S_t' (I + K) S_t, S_t the scores summed by location in t."""
    loc_xy, loc = _unique_rows(xy)
    period = _codes(per)
    n_loc, n_per = len(loc_xy), int(period.max()) + 1 if len(period) else 0
    if n_per == 0:
        return np.zeros((s.shape[1], s.shape[1]))
    cells = np.sort(period.astype(np.int64) * n_loc + loc)
    distinct = cells[np.r_[True, cells[1:] != cells[:-1]]]
    per_period = np.bincount(distinct // n_loc, minlength=n_per)
    # neighbours among all locations once (fixed locations), unless locations move so much
    # that the pooled point set is denser than the periods' sets (pairs ~ points squared)
    if n_loc**2 <= float(np.sum(per_period.astype(float) ** 2)):
        k_mat = _cached_kernel_matrix(loc_xy, cutoff, metric, kernel)
        return _accumulate(k_mat, loc, period, s, n_loc, n_per)
    meat = np.zeros((s.shape[1], s.shape[1]))
    for t in range(n_per):
        rows = np.flatnonzero(period == t)
        sub_xy, sub_loc = _unique_rows(xy[rows])
        k_mat = _kernel_matrix(sub_xy, cutoff, metric, kernel)
        meat += _accumulate(k_mat, sub_loc, np.zeros(len(rows), np.intp), s[rows], len(sub_xy), 1)
    return meat


def clear_kernel_cache() -> None:
    """Drop the cached Conley kernel matrices (they are rebuilt on the next fit).

    Fits with the same locations, cutoff, metric and kernel share one sparse kernel
    matrix among the distinct locations. At most four matrices, and at most 1 GiB of
    them, are kept; this frees that memory at once.
    """
    with _cache_lock:
        _cache.clear()


def _cached_kernel_matrix(
    xy: FloatArray, cutoff: float, metric: Metric, kernel: str
) -> sp.csr_array:
    """:func:`_kernel_matrix`, reused when the same locations and options recur.

    The key is a BLAKE2b digest of the coordinate bytes with their shape and dtype, plus
    the cutoff, metric and kernel, so a different location set or option never hits; the
    coordinate arrays themselves are not held. Cached matrices are read-only.
    """
    xy = np.ascontiguousarray(xy, dtype=float)
    digest = hashlib.blake2b(xy.tobytes(), digest_size=20).hexdigest()
    key = (digest, xy.shape, xy.dtype.str, float(cutoff), metric, kernel)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    k_mat = _kernel_matrix(xy, cutoff, metric, kernel)
    size = k_mat.data.nbytes + k_mat.indices.nbytes + k_mat.indptr.nbytes
    if size > _CACHE_BYTES:
        return k_mat
    for arr in (k_mat.data, k_mat.indices, k_mat.indptr):
        arr.flags.writeable = False
    with _cache_lock:
        _cache[key] = k_mat
        _cache.move_to_end(key)
        total = sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in _cache.values())
        while len(_cache) > _CACHE_ENTRIES or total > _CACHE_BYTES:
            _, old = _cache.popitem(last=False)
            total -= old.data.nbytes + old.indices.nbytes + old.indptr.nbytes
    return k_mat


def _kernel_matrix(xy: FloatArray, cutoff: float, metric: Metric, kernel: str) -> sp.csr_array:
    """Kernel weights K(d_ij) between distinct locations i != j within ``cutoff`` (CSR)."""
    n = len(xy)
    if cutoff == 0 or n < 2:
        return sp.csr_array((n, n))
    i, j, d = pairs_within(xy, cutoff, metric=metric)
    w = 1.0 - d / cutoff if kernel == "bartlett" else np.ones_like(d)
    indptr = np.searchsorted(i, np.arange(n + 1))  # pairs come sorted by i
    return sp.csr_array((w, j, indptr), shape=(n, n))


def _accumulate(
    k_mat: sp.csr_array, loc: IntArray, period: IntArray, s: FloatArray, n_loc: int, n_per: int
) -> FloatArray:
    """sum_t S_t' (S_t + K S_t), with S_t (n_loc x k) built for chunks of periods."""
    k = s.shape[1]
    chunk = max(1, min(n_per, _CHUNK_BYTES // max(1, 8 * n_loc * k)))
    meat = np.zeros((k, k))
    for start in range(0, n_per, chunk):
        stop = min(n_per, start + chunk)
        rows = np.flatnonzero((period >= start) & (period < stop))
        width = stop - start
        cell = loc[rows] * width + (period[rows] - start)
        block = np.empty((n_loc * width, k))
        for c in range(k):
            block[:, c] = np.bincount(cell, weights=s[rows, c], minlength=n_loc * width)
        by_loc = block.reshape(n_loc, width * k)  # row l: period-major score sums at l
        smoothed = by_loc + k_mat @ by_loc
        meat += block.T @ smoothed.reshape(n_loc * width, k)
    return meat


# ---------------------------------------------------------------------- serial part
def _serial_meat(s: FloatArray, ent: IntArray, per: IntArray, lags: int) -> FloatArray:
    """sum_i sum_{l<=L} (1 - l/(L+1)) (s_it s_i,t-l' + s_i,t-l s_it'), l a time difference."""
    order = np.lexsort((per, ent))
    e, t, so = ent[order], per[order], s[order]
    acc = np.zeros((s.shape[1], s.shape[1]))
    # times within a unit are distinct integers, so a pair l periods apart is at most l
    # rows apart in this order: offsets 1..lags find every pair exactly once
    for m in range(1, min(lags, len(e) - 1) + 1):
        gap = t[m:] - t[:-m]
        hit = np.flatnonzero((e[m:] == e[:-m]) & (gap <= lags))
        if len(hit):
            w = 1.0 - gap[hit] / (lags + 1.0)
            acc += (so[hit + m] * w[:, None]).T @ so[hit]
    return acc + acc.T
