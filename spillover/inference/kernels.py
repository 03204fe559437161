"""Pure covariance kernels: arrays in, arrays out.

Every function takes score contributions ``scores`` (n x k, row i is x_i * u_i of the
transformed regressors) and integer codes, and returns a "meat" matrix without any
small-sample factor. Bread, scaling and labels are applied by :mod:`spillover.inference.vcov`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._typing import FloatArray, IntArray


def codes(values: np.ndarray) -> tuple[IntArray, int]:
    """Integer codes 0..G-1 (in order of appearance) for a 1-d array of labels, and G."""
    inv, uniq = pd.factorize(np.asarray(values))
    return inv.astype(np.intp), len(uniq)


def group_sums(values: FloatArray, groups: IntArray, n_groups: int | None = None) -> FloatArray:
    """Column sums of ``values`` (n x k) within each group code: a (G x k) array."""
    g = int(groups.max()) + 1 if n_groups is None else n_groups
    n = len(groups)
    members = sp.csr_array((np.ones(n), (groups, np.arange(n))), shape=(g, n))
    return np.asarray(members @ values)


def hc_meat(scores: FloatArray) -> FloatArray:
    """Sum over observations of s_i s_i' (White / HC0 meat)."""
    return scores.T @ scores


def homoskedastic_meat(x: FloatArray, resid: FloatArray) -> FloatArray:
    """(u'u / n) X'X: the meat that makes the sandwich the classical covariance."""
    return (resid @ resid) / len(resid) * (x.T @ x)


def cluster_meat(scores: FloatArray, groups: IntArray) -> FloatArray:
    """Sum over clusters g of s_g s_g', s_g the within-cluster score sum."""
    sums = group_sums(scores, groups)
    return sums.T @ sums


def pair_codes(a: IntArray, b: IntArray) -> IntArray:
    """Codes of the intersection clusters (a, b) for two-way clustering."""
    return codes(a.astype(np.int64) * (int(b.max()) + 1) + b)[0]


def bartlett_weights(lags: int) -> FloatArray:
    """Bartlett (Newey-West) weights 1 - j / (lags + 1), j = 0..lags."""
    return 1.0 - np.arange(lags + 1) / (lags + 1)


def driscoll_kraay_meat(scores: FloatArray, time: IntArray, lags: int) -> FloatArray:
    """Newey-West meat of the cross-sectional score sums h_t = sum_i s_it, t in calendar time.

    ``sum_t h_t h_t' + sum_{j=1..lags} w_j sum_t (h_t h_{t-j}' + h_{t-j} h_t')`` with
    Bartlett weights ``w_j = 1 - j/(lags+1)``, where ``time`` holds calendar period numbers
    (:func:`spillover._calendar.period_numbers`) and ``t - j`` is ``j`` periods earlier in
    calendar time: a period with no observations has ``h_t = 0``, so a pair of periods
    across a gap gets the weight of its calendar distance, not of its rank among the
    periods present (the "amplitude-modulated" Newey-West of Parzen (1963) and Datta and
    Du (2012)). With consecutive periods this is the usual Driscoll-Kraay meat.
    """
    periods, code = np.unique(time, return_inverse=True)
    h = group_sums(scores, code.reshape(-1).astype(np.intp), len(periods))
    w = bartlett_weights(lags)
    meat = h.T @ h
    for j in range(1, min(lags, int(periods[-1] - periods[0])) + 1):
        earlier = np.searchsorted(periods, periods - j)  # where period t - j would sit
        hit = np.flatnonzero(periods[np.minimum(earlier, len(periods) - 1)] == periods - j)
        if len(hit):
            g = h[hit].T @ h[earlier[hit]]
            meat += w[j] * (g + g.T)
    return meat


def sandwich(bread: FloatArray, meat: FloatArray, scale: float = 1.0) -> FloatArray:
    """``scale * bread @ meat @ bread``, symmetrised."""
    out = scale * (bread @ meat @ bread)
    return (out + out.T) / 2
