"""Data-generating process of the dynamic spatial Durbin panel with one W per period.

``y_t = tau y_{t-1} + rho W_t y_t + eta W_{t-1} y_{t-1} + X_t beta + W_t X_t theta + mu +
alpha_t + e_t``, solved period by period with a sparse LU of ``I - rho W_t`` (written here,
independently of the package's solvers). ``burn_in`` periods with the first W precede the
kept ones (so before the sample the weights are W_0, the convention of the bias correction).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import splu


def simulate_by_period(
    ws, *, tau, rho, eta, beta, theta, effects, seed, burn_in=50
) -> pd.DataFrame:
    """Panel (entity, time = 1..T) with columns y, x1..xk; ``ws``: T Weights, same ids."""
    rng = np.random.default_rng(seed)
    n, k = ws[0].n, len(beta)
    beta, theta = np.asarray(beta, float), np.asarray(theta, float)
    mats = [w.matrix.tocsc() for w in ws]
    lus = {id(m): splu((sp.identity(n, format="csc") - rho * m).tocsc()) for m in mats}
    mu = rng.normal(size=n) if effects in ("entity", "twoway") else np.zeros(n)
    y = np.zeros(n)
    prev = mats[0]
    frames = []
    for step, m in enumerate([mats[0]] * burn_in + mats):
        x = rng.normal(size=(n, k))
        alpha = rng.normal() if effects == "twoway" else 0.0
        rhs = tau * y + eta * (prev @ y) + x @ beta + (m @ x) @ theta + mu + alpha
        y = lus[id(m)].solve(rhs + rng.normal(size=n))
        prev = m
        if step >= burn_in:
            t = step - burn_in + 1
            keys = pd.MultiIndex.from_arrays([ws[0].ids, np.full(n, t)], names=["entity", "time"])
            cols = {"y": y} | {f"x{j + 1}": x[:, j] for j in range(k)}
            frames.append(pd.DataFrame(cols, index=keys))
    return pd.concat(frames).sort_index()
