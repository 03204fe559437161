"""A dynamic spatial Durbin panel with known parameters (for tests and Monte Carlo).

``y_t = (I - rho W)^-1 (tau y_{t-1} + eta W y_{t-1} + X_t beta + W X_t theta + mu + alpha_t
+ e_t)``, started at ``y_0 = 0`` and run for ``burn_in`` periods before the T kept, so
that the kept periods are close to the stationary distribution given mu.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from spillover._typing import Effects
from spillover._validate import as_rng
from spillover.errors import SpecificationError
from spillover.linalg.factor import SpatialFilter
from spillover.panel import Panel
from spillover.weights import as_weights


def dynamic_spatial_panel(
    w: Any,
    n_periods: int,
    *,
    tau: float,
    rho: float,
    eta: float = 0.0,
    beta: Sequence[float] = (1.0,),
    theta: Sequence[float] | None = None,
    sigma: float = 1.0,
    effects: Effects = "entity",
    burn_in: int = 50,
    seed: int | np.random.Generator | None = None,
) -> Panel:
    """Simulate a balanced dynamic spatial (Durbin) panel, columns ``y, x1..xk``.

    Parameters
    ----------
    w : Weights or matrix
        N x N weights (a bare matrix gets ids 0..N-1); usually row-standardised.
    n_periods : int
        Periods T kept (time ids 1..T).
    tau, rho, eta : float
        Coefficients of y_{t-1}, W y_t and W y_{t-1}; ``|tau| + |rho| + |eta| < 1`` times
        the largest absolute row sum of W is required (a sufficient stability condition).
    beta, theta : sequence of float
        Coefficients of x1..xk (iid standard normal) and of W x1..W xk (theta None: no WX).
    sigma : float
        Standard deviation of the normal innovations.
    effects : {"none", "entity", "time", "twoway"}
        Which of mu ~ N(0, 1) and alpha_t ~ N(0, 1) exist.
    burn_in : int, default 50
        Periods simulated and dropped before the T kept.
    seed : int or Generator, optional

    Returns
    -------
    Panel
        Keyed (entity, time), entity ids those of W.

    Examples
    --------
    >>> from spillover.simulate import dynamic_spatial_panel, grid_weights
    >>> p = dynamic_spatial_panel(grid_weights(4).row_standardize(), 5, tau=0.4, rho=0.2,
    ...                           seed=1)
    >>> p.nobs, list(p.columns)
    (80, ['y', 'x1'])
    """
    wt = as_weights(w, bare="positional")
    m = wt.matrix
    norm = float(abs(m).sum(axis=1).max())
    if (abs(tau) + (abs(rho) + abs(eta)) * norm) >= 1:
        raise SpecificationError(
            "|tau| + (|rho| + |eta|) x (largest absolute row sum of W) must be below 1 for "
            "this simulator; lower the parameters or row-standardise W."
        )
    rng = as_rng(seed)
    n, k, total = wt.n, len(beta), int(burn_in) + int(n_periods)
    th = np.zeros(k) if theta is None else np.asarray(theta, dtype=float)
    mu = rng.standard_normal(n) if effects in ("entity", "twoway") else np.zeros(n)
    alpha = rng.standard_normal(total) if effects in ("time", "twoway") else np.zeros(total)
    x = rng.standard_normal((total, n, k))
    e = rng.normal(0.0, sigma, (total, n))
    solver = SpatialFilter(m, rho)
    y = np.zeros((total, n))
    prev = np.zeros(n)
    for t in range(total):
        rhs = tau * prev + eta * (m @ prev) + x[t] @ np.asarray(beta, dtype=float)
        rhs = rhs + (m @ x[t]) @ th + mu + alpha[t] + e[t]
        prev = y[t] = solver.solve(rhs)
    keep = slice(int(burn_in), total)
    times = pd.RangeIndex(1, int(n_periods) + 1, name="time")
    keys = pd.MultiIndex.from_product([wt.ids, times], names=["entity", "time"])
    cols = {"y": y[keep].T.ravel()}
    cols |= {f"x{c + 1}": x[keep, :, c].T.ravel() for c in range(k)}
    return Panel(pd.DataFrame(cols, index=keys), entity="entity", time="time")
