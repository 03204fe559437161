"""Core-periphery structure (Borgatti and Everett 1999): discrete and continuous models.

Both fit an ideal pattern to the tie matrix by the Pearson correlation over ordered pairs
i != j (the diagonal is ignored), computed from sums, never from an N x N dense matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import minimize

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
    """

    core: pd.Series
    correlation: float
    starts: int


@dataclass(frozen=True)
class Coreness:
    """Continuous coreness.

    Attributes
    ----------
    values : pandas.Series
        Coreness c_i >= 0 scaled to Euclidean norm 1, indexed by firm id.
    correlation : float
        Pearson correlation between a_ij and c_i c_j over i != j.
    """

    values: pd.Series
    correlation: float


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
        self.both = sp.csr_array(a + a.T)  # mutual strengths: a_ij + a_ji
        self.total, self.squares = float(a.sum()), float((a.data**2).sum())
        self.var = self.squares / self.pairs - (self.total / self.pairs) ** 2
        self.sym = sp.csr_array(self.both / 2.0)


def core_periphery(
    net: KnowledgeNetwork, *, weighted: bool = False, n_starts: int = 20, seed: int | None = 0
) -> CorePeriphery:
    """Borgatti-Everett discrete core-periphery model: the partition of firms into a core
    and a periphery whose ideal pattern best correlates with the ties.

    Parameters
    ----------
    net : KnowledgeNetwork
    weighted : bool, default False
        Correlate with tie strengths instead of 0/1 ties.
    n_starts : int, default 20
        Random starting partitions (seeded), besides the deterministic starts.
    seed : int, default 0
        Seed of the random starts.

    Notes
    -----
    The ideal pattern is delta_ij = 1 if i or j is in the core, 0 if both are in the
    periphery (Borgatti and Everett 1999, the discrete model with core-periphery ties
    present); the fit is the Pearson correlation between a_ij and delta_ij over ordered
    pairs i != j (directed ties as given, the pattern being symmetric). It depends on the
    partition only through the periphery size p and the ties W_PP inside the periphery:
    r = (S_a - W_PP - S_a S_d / M) / sqrt(M var(a) S_d (1 - S_d / M)) with
    M = N(N - 1), S_d = M - p(p - 1). The search moves one firm at a time between core
    and periphery, always taking the move that raises r most, until none does
    (all N moves are scored at once from the vector of each firm's ties into the
    periphery). It starts from the top-k firms by degree for k = 1..N/2 (a grid of 20
    sizes at most) and from ``n_starts`` random partitions; the best local optimum is
    returned. At least one core firm and two periphery firms are kept (else r is undefined).

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.networks import KnowledgeNetwork, core_periphery
    >>> core, periphery = ["a", "b", "c"], ["d", "e", "f", "g"]
    >>> pairs = [(u, v) for u in core for v in core + periphery if u < v]
    >>> net = KnowledgeNetwork.from_edges(pd.DataFrame(pairs, columns=["source", "target"]))
    >>> fit = core_periphery(net)
    >>> fit.core[fit.core].index.tolist(), round(fit.correlation, 12)
    (['a', 'b', 'c'], 1.0)
    """
    ties = _Ties(net, weighted)
    starts = _starts(ties, n_starts, seed)
    best, best_r = starts[0], -np.inf
    for start in starts:
        periphery, r = _climb(ties, start.copy())
        if r > best_r + 1e-12:
            best, best_r = periphery, r
    return CorePeriphery(pd.Series(~best, index=net.ids, name="core"), float(best_r), len(starts))


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


def _fit(ties: _Ties, p: FloatArray, w_pp: FloatArray) -> FloatArray:
    """Correlation for periphery sizes ``p`` with periphery-internal ties ``w_pp``."""
    m = ties.pairs
    s_d = m - p * (p - 1.0)
    cov = (ties.total - w_pp) / m - (ties.total / m) * (s_d / m)
    var_d = (s_d / m) * (1.0 - s_d / m)
    ok = (p >= 2) & (p <= ties.n - 1) & (var_d > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov / np.sqrt(ties.var * var_d)
    return np.where(ok, r, -np.inf)


def _climb(ties: _Ties, periphery: BoolArray) -> tuple[BoolArray, float]:
    """Best single moves until no move raises the correlation."""
    into = ties.both @ periphery.astype(float)  # each firm's ties into the periphery
    p = float(periphery.sum())
    w_pp = float(into[periphery].sum()) / 2.0  # ties inside the periphery, ordered pairs
    current = float(_fit(ties, np.array([p]), np.array([w_pp]))[0])
    for _ in range(4 * ties.n * ties.n):
        sign = np.where(periphery, -1.0, 1.0)  # a periphery firm leaves, a core firm joins
        scores = _fit(ties, p + sign, w_pp + sign * into)
        v = int(np.argmax(scores))
        if not scores[v] > current + 1e-13:
            return periphery, current
        periphery[v] = not periphery[v]
        p, w_pp, current = p + sign[v], w_pp + sign[v] * into[v], float(scores[v])
        column = ties.both[[v], :].toarray().ravel()
        into += sign[v] * column
    raise ConvergenceError("the core-periphery search did not settle; please report this.")


def coreness(net: KnowledgeNetwork, *, weighted: bool = False) -> Coreness:
    """Borgatti-Everett continuous core-periphery model: coreness c with a_ij ~ c_i c_j.

    Notes
    -----
    Borgatti and Everett (1999) fit the pattern c_i c_j to the ties; as in their
    implementation (UCINET) c is the minimum-residual (least-squares) fit over i != j,
    minimising sum_{i != j} (a_ij - c_i c_j)^2 = const - 2 c'Ac + (c'c)^2 - sum c^4,
    by L-BFGS with its analytic gradient from the sparse A (started at the degree vector,
    run to a gradient of 1e-12), and the reported fit is the Pearson correlation between
    a_ij and c_i c_j over i != j. (Maximising that correlation itself has no interior
    optimum: it drifts towards c = k + e with k -> infinity, an additive degree model.)
    A directed network is fitted through (A + A') / 2, the same least-squares problem up
    to a constant. c is returned with norm 1 and a positive sum. On a tie matrix of
    exact rank one off the diagonal (a_ij = v_i v_j) it recovers c = v / |v| with
    correlation 1.

    Examples
    --------
    >>> import networkx as nx
    >>> from spillover.networks import KnowledgeNetwork, coreness
    >>> net = KnowledgeNetwork.from_edges(nx.to_pandas_edgelist(nx.karate_club_graph()))
    >>> fit = coreness(net)
    >>> fit.values.nlargest(2).index.tolist()
    [33, 0]
    """
    ties = _Ties(net, weighted)
    c0 = np.asarray(ties.sym.sum(axis=1)).ravel() + 1e-3
    c0 *= np.sqrt(ties.total / ties.pairs) / c0.mean()
    options = {"maxiter": 50_000, "ftol": 0.0, "gtol": 1e-12}
    res = minimize(_residual, c0, args=(ties,), jac=True, method="L-BFGS-B", options=options)
    if not np.all(np.isfinite(res.x)) or np.linalg.norm(res.x) == 0:
        raise ConvergenceError(f"the coreness fit failed: {res.message}")
    c = res.x / np.linalg.norm(res.x)
    c = c if c.sum() >= 0 else -c
    return Coreness(pd.Series(c, index=net.ids, name="coreness"), _correlation(c, ties))


def _residual(c: FloatArray, ties: _Ties) -> tuple[float, FloatArray]:
    """sum_{i != j} (a_ij - c_i c_j)^2 and its gradient, from sums."""
    ac = ties.sym @ c
    s2 = float(c @ c)
    value = ties.squares - 2.0 * float(c @ ac) + s2 * s2 - float((c**4).sum())
    grad = -4.0 * ac + 4.0 * s2 * c - 4.0 * c**3
    return value, grad


def _correlation(c: FloatArray, ties: _Ties) -> float:
    """corr(a_ij, c_i c_j) over ordered pairs i != j."""
    m = ties.pairs
    s1, s2 = c.sum(), c @ c
    s_y, s_yy = s1 * s1 - s2, s2 * s2 - float((c**4).sum())
    cov = float(c @ (ties.sym @ c)) / m - (ties.total / m) * (s_y / m)
    var_y = s_yy / m - (s_y / m) ** 2
    return float(cov / np.sqrt(ties.var * var_y)) if var_y > 0 else np.nan
