"""Sectors, technology-class shares and the two spillover pools of the firm simulator.

Pure array kernels. The geographic pool applies the pool kernel of
:func:`spillover.measures.spillover_pool` to a sparse distance-decay matrix built from the
KD-tree pairs within the cutoff; the technological pool uses the low-rank form of Jaffe's
proximity, so neither ever forms an N x N dense matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from spillover._typing import BoolArray, FloatArray, IntArray
from spillover.measures._pools import pool_kernel
from spillover.weights._distance import pairs_within


def draw_sectors(
    rng: np.random.Generator, cluster: IntArray, n_clusters: int, n_sectors: int
) -> IntArray:
    """Sector of each firm: cities specialise around national sector shares.

    National shares b ~ Dirichlet(2, ..., 2); each city's mix ~ Dirichlet(n_sectors * b)
    (alphas summing to n_sectors: visible but partial specialisation); rural firms
    (cluster -1) draw from b.
    """
    base = rng.dirichlet(np.full(n_sectors, 2.0))
    mixes = rng.dirichlet(n_sectors * base, size=n_clusters) if n_clusters else base[None]
    probs = np.where((cluster >= 0)[:, None], mixes[np.maximum(cluster, 0)], base)
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(cluster)) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), n_sectors - 1).astype(np.intp)


def draw_tech_shares(
    rng: np.random.Generator,
    sector: IntArray,
    n_sectors: int,
    n_classes: int,
    *,
    concentration: float,
) -> FloatArray:
    """Technology-class shares per firm (rows sum to one), concentrated and sector-specific.

    Each sector has a profile p_s ~ Dirichlet(0.3, ..., 0.3) over classes (a few
    dominant classes); firm i's shares are Dirichlet(concentration * p_s(i) + 0.05),
    drawn as normalised Gamma variates.
    """
    profiles = rng.dirichlet(np.full(n_classes, 0.3), size=n_sectors)
    alpha = concentration * profiles[sector] + 0.05
    g = rng.standard_gamma(alpha)
    total = g.sum(axis=1, keepdims=True)
    g[total[:, 0] == 0] = 1.0  # underflow guard: such a firm gets uniform shares
    return g / g.sum(axis=1, keepdims=True)


def decay_matrix(xy: FloatArray, *, bandwidth_m: float, cutoff_m: float) -> sp.csr_array:
    """w_ij = exp(-d_ij / bandwidth) for 0 < d_ij <= cutoff, j != i; zero elsewhere.

    Distances are Euclidean in the projected CRS's metres. Coincident firms (d = 0) are
    neighbours with weight 1.
    """
    n = len(xy)
    i, j, d = pairs_within(xy, cutoff_m, metric="euclidean")  # sorted by (i, j)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(i, minlength=n))])
    return sp.csr_array((np.exp(-d / bandwidth_m), j, indptr), shape=(n, n))


def geo_pool(w: sp.csr_array, stock: FloatArray, active: BoolArray) -> FloatArray:
    """S^geo_it = sum_{j != i} w_ij K_jt over the firms active in year t (n x T; 0 if inactive).

    Each year is one call of :func:`spillover.measures._pools.pool_kernel`, the kernel of
    :func:`spillover.measures.spillover_pool` (absent firms count as zero, the unit's own
    weight left out), so the simulated pool is by construction the pool users compute.
    """
    out = np.zeros_like(stock)
    diag = w.diagonal()
    for t in range(stock.shape[1]):
        pos = np.flatnonzero(active[:, t])
        out[pos, t] = pool_kernel(w, pos, stock[pos, t], diag, False)
    return out


def tech_pool(shares: FloatArray, stock: FloatArray) -> FloatArray:
    """S^tech_it = sum_{j != i} P_ij K_jt with Jaffe proximity P = F~ F~', low rank.

    F~ are the share vectors scaled to unit length, so P_ij is the uncentred correlation
    (cosine) of i's and j's shares and P_ii = 1; the own term is removed exactly:
    S^tech = F~ (F~' K) - diag(F~ F~') K.
    """
    unit = shares / np.linalg.norm(shares, axis=1, keepdims=True)
    own = np.einsum("ij,ij->i", unit, unit)
    return unit @ (unit.T @ stock) - own[:, None] * stock
