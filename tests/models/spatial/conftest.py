"""Small simulated spatial panels on a rook lattice, shared by the spatial model tests."""

from __future__ import annotations

import libpysal
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from spillover import Panel


def simulate(side: int, periods: int, *, rho: float = 0.4, lam: float = 0.0, seed: int = 1):
    """SAR/SAC panel with entity effects: y = rho W y + 1 + x1 - 0.5 x2 + mu + u."""
    w = libpysal.weights.lat2W(side, side)
    w.transform = "r"
    matrix = sp.csc_matrix(w.sparse)
    n = matrix.shape[0]
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(n, periods)), rng.normal(size=(n, periods))
    mu = rng.normal(size=(n, 1))
    eye = sp.identity(n, format="csc")
    u = spla.spsolve(eye - lam * matrix, rng.normal(size=(n, periods)))
    y = spla.spsolve(eye - rho * matrix, 1 + x1 - 0.5 * x2 + mu + u.reshape(n, periods))
    frame = pd.DataFrame(
        {
            "region": np.repeat(np.arange(n), periods),
            "year": np.tile(np.arange(2000, 2000 + periods), n),
            "y": np.asarray(y).reshape(n, periods).ravel(),
            "x1": x1.ravel(),
            "x2": x2.ravel(),
        }
    )
    return Panel(frame, entity="region", time="year"), w


@pytest.fixture(scope="session")
def cross_section():
    return simulate(12, 1, seed=3)


@pytest.fixture(scope="session")
def sar_panel():
    return simulate(10, 5, seed=1)


@pytest.fixture(scope="session")
def sac_panel():
    return simulate(10, 5, rho=0.3, lam=0.4, seed=2)


def wide(panel: Panel, *columns: str) -> np.ndarray:
    """spreg's panel layout: N x (T k), periods of a variable side by side."""
    return np.hstack([panel.data[c].unstack().to_numpy() for c in columns])
