"""Core-periphery structure (Borgatti and Everett 1999): discrete and continuous models.

Both fit an ideal pattern to the tie matrix by the Pearson correlation over ordered pairs
i != j (the diagonal is ignored), computed from sums, never from an N x N dense matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._typing import BoolArray, FloatArray
from spillover._validate import as_rng
from spillover.errors import ConvergenceError, SpecificationError
from spillover.networks._network import KnowledgeNetwork


@dataclass(frozen=True)
class CorePeriphery:
    """Discrete core-periphery partition.

    Attributes
    ----------
    core : pandas.Series
        True for core firms, indexed by firm id.
    correlation : float
        Pearson correlation between the ties a_ij and the ideal pattern, over i != j.
    starts : int
        Starting partitions searched.
    between : float or None
        The ideal core-periphery block used (None: ignored).
    """

    core: pd.Series
    correlation: float
    starts: int
    between: float | None


class _Ties:
    """The sums the correlations need, from a sparse tie matrix with zero diagonal."""

    def __init__(self, net: KnowledgeNetwork, weighted: bool) -> None:
        a = sp.csr_array(net.adjacency, copy=True)
        if not weighted:
            a.data[:] = 1.0
        n = a.shape[0]
        if n < 3 or a.nnz == 0:
            raise SpecificationError(
                f"core-periphery models need at least 3 firms and one tie; got {n} firms, "
                f"{net.n_ties} ties."
            )
        self.n, self.pairs = n, float(n * (n - 1))
        squared = sp.csr_array(a.multiply(a))
        # a_ij + a_ji and a_ij^2 + a_ji^2: ties are > 0, so both have the same sorted pattern
        self.both, self.both_squared = _canonical(a + a.T), _canonical(squared + squared.T)
        self.total, self.squares = float(a.sum()), float(squared.sum())
        self.var = self.squares / self.pairs - (self.total / self.pairs) ** 2
        self.sym = sp.csr_array(self.both / 2.0)


def _canonical(m: Any) -> sp.csr_array:
    out = sp.csr_array(m)
    out.sum_duplicates()
    out.sort_indices()
    return out


def core_periphery(
    net: KnowledgeNetwork,
    *,
    between: float | None = None,
    weighted: bool = False,
    n_starts: int = 20,
    seed: int | None = 0,
) -> CorePeriphery:
    """Borgatti-Everett discrete core-periphery model: the partition of firms into a core
    and a periphery whose ideal pattern best correlates with the ties.

    Parameters
    ----------
    net : KnowledgeNetwork
    between : float in [0, 1], optional
        The ideal pattern in the core-periphery blocks. None (default): those pairs are
        ignored (UCINET's default, "missing"); 1: core firms tie to everyone (the pattern
        delta_ij = 1 if i or j is in the core); any other value: an intermediate density.
    weighted : bool, default False
        Correlate with tie strengths instead of 0/1 ties.
    n_starts : int, default 20
        Random starting partitions (seeded), besides the deterministic starts.
    seed : int, default 0
        Seed of the random starts.

    Returns
    -------
    CorePeriphery
        Core membership and the fit correlation.

    Raises
    ------
    SpecificationError
        Fewer than 3 firms, no tie, or ``between`` outside [0, 1].

    Notes
    -----
    Borgatti and Everett (1999): the ideal pattern is delta_ij = 1 for two core firms, 0
    for two periphery firms and ``between`` (or missing) otherwise; the fit is the
    Pearson correlation between a_ij and delta_ij over the ordered pairs i != j not
    missing (directed ties as given; the pattern is symmetric). It depends on the
    partition only through the core and periphery sizes and the tie sums (and sums of
    squares) inside each, so every move of one firm is scored at once from each firm's
    ties into the core and into the periphery. The search moves one firm at a time
    between core and periphery, always taking the move that raises the correlation most,
    until none does. It starts from the top-k firms by degree for k = 1..N/2 (a grid of 20
    sizes at most) and from ``n_starts`` random partitions; the best local optimum is
    returned (a heuristic, like UCINET's: the global optimum is not guaranteed).

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.networks import KnowledgeNetwork, core_periphery
    >>> core, periphery = ["a", "b", "c"], ["d", "e", "f", "g"]
    >>> pairs = [(u, v) for u in core for v in core + periphery if u < v]
    >>> net = KnowledgeNetwork.from_edges(pd.DataFrame(pairs, columns=["source", "target"]))
    >>> fit = core_periphery(net, between=1.0)
    >>> fit.core[fit.core].index.tolist(), round(fit.correlation, 12)
    (['a', 'b', 'c'], 1.0)
    """
    if between is not None and not (np.isfinite(between) and 0 <= between <= 1):
        raise SpecificationError(f"between must be None or in [0, 1], got {between!r}.")
    ties = _Ties(net, weighted)
    starts = _starts(ties, n_starts, seed)
    best, best_r = starts[0], -np.inf
    for start in starts:
        periphery, r = _climb(ties, start.copy(), between)
        if r > best_r + 1e-12:
            best, best_r = periphery, r
    core = pd.Series(~best, index=net.ids, name="core")
    return CorePeriphery(core, float(best_r), len(starts), between)


def _starts(ties: _Ties, n_starts: int, seed: int | None) -> list[BoolArray]:
    """Periphery masks: outside the top-k by degree, then random splits."""
    if int(n_starts) < 0:
        raise SpecificationError(f"n_starts must be >= 0, got {n_starts!r}.")
    n = ties.n
    order = np.argsort(-np.asarray(ties.both.sum(axis=1)).ravel(), kind="stable")
    sizes = np.unique(np.linspace(1, max(1, n // 2), num=min(20, max(1, n // 2))).astype(int))
    out = []
    for k in sizes:
        mask = np.ones(n, dtype=bool)
        mask[order[:k]] = False
        out.append(mask)
    rng = as_rng(seed)
    for _ in range(int(n_starts)):
        k = int(rng.integers(1, n - 1))
        mask = np.ones(n, dtype=bool)
        mask[rng.choice(n, size=k, replace=False)] = False
        out.append(mask)
    return out


def _fit(ties: _Ties, between: float | None, k: Any, p: Any, w: Any, q: Any) -> FloatArray:
    """Correlation for core and periphery sizes ``k``, ``p``, tie sums ``w = (W_CC, W_PP)``
    and sums of squares ``q = (Q_CC, Q_PP)`` (ordered pairs; arrays broadcast)."""
    n_cc, n_pp = k * (k - 1.0), p * (p - 1.0)
    if between is None:  # only pairs inside the core or inside the periphery
        m = n_cc + n_pp
        s_a, s_aa, s_d, s_dd, s_ad = w[0] + w[1], q[0] + q[1], n_cc, n_cc, w[0]
    else:
        m = ties.pairs
        n_cp = m - n_cc - n_pp
        s_a, s_aa = ties.total, ties.squares
        s_d, s_dd = n_cc + between * n_cp, n_cc + between**2 * n_cp
        s_ad = w[0] + between * (ties.total - w[0] - w[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_a, mean_d = s_a / m, s_d / m
        var_a, var_d = s_aa / m - mean_a**2, s_dd / m - mean_d**2
        r = (s_ad / m - mean_a * mean_d) / np.sqrt(var_a * var_d)
        ok = (k >= 1) & (p >= 1) & (var_a > 1e-12 * s_aa / m) & (var_d > 1e-12 * s_dd / m)
    return np.where(ok & np.isfinite(r), r, -np.inf)


def _climb(ties: _Ties, periphery: BoolArray, between: float | None) -> tuple[BoolArray, float]:
    """Best single moves until no move raises the correlation."""
    side = np.stack([~periphery, periphery]).astype(float)  # rows: core, periphery
    into = np.stack([ties.both @ side[0], ties.both @ side[1]])  # ties into core, periphery
    into_sq = np.stack([ties.both_squared @ side[0], ties.both_squared @ side[1]])
    k, p = float(side[0].sum()), float(side[1].sum())
    w = (side * into).sum(axis=1) / 2.0  # W_CC, W_PP over ordered pairs
    q = (side * into_sq).sum(axis=1) / 2.0
    current = float(_fit(ties, between, k, p, w, q))
    for _ in range(4 * ties.n * ties.n):
        s = np.where(periphery, 1.0, -1.0)  # +1: a periphery firm joins the core
        shift = np.array([1.0, -1.0])[:, None] * s  # W_CC gains, W_PP loses, or back
        scores = _fit(
            ties, between, k + s, p - s, w[:, None] + shift * into, q[:, None] + shift * into_sq
        )
        v = int(np.argmax(scores))
        if not scores[v] > current + 1e-13:
            return periphery, current
        periphery[v] = not periphery[v]
        k, p, current = k + s[v], p - s[v], float(scores[v])
        w, q = w + shift[:, v] * into[:, v], q + shift[:, v] * into_sq[:, v]
        row = slice(ties.both.indptr[v], ties.both.indptr[v + 1])
        cols = ties.both.indices[row]  # both matrices share one sparsity pattern
        into[:, cols] += shift[:, [v]] * ties.both.data[row]
        into_sq[:, cols] += shift[:, [v]] * ties.both_squared.data[row]
    raise ConvergenceError("the core-periphery search did not settle; please report this.")
