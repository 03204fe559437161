"""Borgatti-Everett (1999) continuous core-periphery model: coreness c with a_ij ~ c_i c_j."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from spillover._typing import FloatArray
from spillover.errors import ConvergenceError
from spillover.networks._core import _Ties
from spillover.networks._network import KnowledgeNetwork


@dataclass(frozen=True)
class Coreness:
    """Continuous coreness.

    Attributes
    ----------
    values : pandas.Series
        Coreness c_i scaled to Euclidean norm 1 with a positive sum, indexed by firm id.
    correlation : float
        Pearson correlation between a_ij and c_i c_j over i != j.
    """

    values: pd.Series
    correlation: float


def coreness(net: KnowledgeNetwork, *, weighted: bool = False) -> Coreness:
    """Borgatti-Everett continuous core-periphery model: coreness c with a_ij ~ c_i c_j.

    Parameters
    ----------
    net : KnowledgeNetwork
    weighted : bool, default False
        Fit tie strengths instead of 0/1 ties.

    Returns
    -------
    Coreness
        The coreness vector and its fit correlation.

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
