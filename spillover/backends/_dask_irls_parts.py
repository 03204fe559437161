"""Pure functions of one pandas partition for Poisson IRLS on Dask, run by the workers
for :class:`spillover.backends.DaskIrlsStaged`.

A partition holds the staged columns of :mod:`spillover.backends._dask_parts` (``__v0``...
the swept values, ``__e0``... the level codes, ``__w`` the weight of the sweeps) and the
working columns of IRLS: ``__y`` the outcome, ``__rw`` the regression weight (1 without),
``__mu`` the fitted mean, ``__z`` the working response, ``__en`` the proposed linear
predictor and ``__off`` the offset. Each formula is that of the SQL of
:class:`spillover.backends.IrlsStaged`. Transforms return ``(frame, 0)``; reductions return
arrays added with ``+`` unless a combiner is named beside them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import gammaln

from spillover.backends._dask_parts import codes, values

#: The working columns, after the staged ones.
WORKING = ("__mu", "__z", "__en", "__off")


def _col(p: pd.DataFrame, name: str) -> np.ndarray:
    return p[name].to_numpy(dtype=float)


def _set(p: pd.DataFrame, **columns: np.ndarray) -> tuple[pd.DataFrame, int]:
    out = p.copy()
    for name, value in columns.items():
        out[f"__{name}"] = value
    return out, 0


# ---------------------------------------------------------------------- staging
def add_working(p: pd.DataFrame) -> pd.DataFrame:
    """The working columns: ``__w`` (1 if the rows have no weights), ``__y`` = ``__v0``,
    ``__rw`` = ``__w``, the rest 0."""
    out = p.copy()
    if "__w" not in out.columns:
        out["__w"] = 1.0
    out["__y"], out["__rw"] = out["__v0"], out["__w"]
    for name in WORKING:
        out[name] = 0.0
    return out


def set_offset(p: pd.DataFrame, offset: int | None, exposure: int | None):
    """``__off`` = value column ``offset`` plus the log of value column ``exposure``."""
    off = np.zeros(len(p))
    if exposure is not None:
        off += np.log(_col(p, f"__v{exposure}"))
    if offset is not None:
        off += _col(p, f"__v{offset}")
    return _set(p, off=off)


def rows_where(
    p: pd.DataFrame, column: str, test: str, keys: Sequence[str], limit: int = 5
) -> tuple[int, list]:
    """Rows whose ``column`` is ``"negative"`` or ``"not positive"``: their count and the
    ``keys`` and value of the first ``limit``."""
    v = _col(p, column)
    bad = v < 0 if test == "negative" else ~(v > 0)
    first = p.loc[bad, list(keys)].head(limit).itertuples(index=False)
    shown = [(*r, x) for r, x in zip(first, v[bad][:limit].tolist(), strict=True)]
    return int(bad.sum()), shown


def add_found(a: tuple[int, list], b: tuple[int, list], limit: int = 5) -> tuple[int, list]:
    return a[0] + b[0], (a[1] + b[1])[:limit]


def outcome_signs(p: pd.DataFrame) -> np.ndarray:
    """Rows with a negative and with a positive outcome."""
    y = _col(p, "__y")
    return np.array([int((y < 0).sum()), int((y > 0).sum())])


def level_outcome(p: pd.DataFrame, column: str, size: int) -> np.ndarray:
    """(size x 2): per level of ``column`` its rows and its sum of the outcome."""
    c = p[column].to_numpy(dtype=np.intp)
    rows = np.bincount(c, minlength=size).astype(float)
    return np.column_stack([rows, np.bincount(c, weights=_col(p, "__y"), minlength=size)])


def rows_in_levels(
    p: pd.DataFrame, flags: Sequence[np.ndarray], keys: Sequence[str], limit: int = 5
) -> tuple[int, list]:
    """Rows in a flagged level of any effect set (``flags[i]``: one bool per code of set
    i): their count and the ``keys`` of the first ``limit``."""
    hit = np.zeros(len(p), bool)
    for i, f in enumerate(flags):
        hit |= f[codes(p, i)]
    rows = [tuple(r) for r in p.loc[hit, list(keys)].head(limit).itertuples(index=False)]
    return int(hit.sum()), rows


# ---------------------------------------------------------------------- iterating
def weighted_outcome(p: pd.DataFrame) -> np.ndarray:
    """``sum rw y`` and ``sum rw``."""
    rw = _col(p, "__rw")
    return np.array([rw @ _col(p, "__y"), rw.sum()])


def start(p: pd.DataFrame, mean: float):
    """``mu = (y + mean) / 2``."""
    return _set(p, mu=(_col(p, "__y") + mean) / 2)


def working(p: pd.DataFrame, first: bool):
    """``z = ln mu - off + (y - mu) / mu``; ``__v0`` = z (first) or ``__v0`` plus the change
    of z; weights ``rw mu``."""
    mu = _col(p, "__mu")
    z = np.log(mu) - _col(p, "__off") + (_col(p, "__y") - mu) / mu
    v0 = z if first else _col(p, "__v0") + (z - _col(p, "__z"))
    return _set(p, v0=v0, z=z, w=_col(p, "__rw") * mu)


def propose(p: pd.DataFrame, k: int, beta: np.ndarray):
    """``eta_new = z - (z~ - x~ beta) + off``."""
    v = values(p, k)
    return _set(p, en=_col(p, "__z") - (v[:, 0] - v[:, 1:] @ beta) + _col(p, "__off"))


def _eta(p: pd.DataFrame, alpha: float | None, eta_max: float) -> np.ndarray:
    """``ln mu + alpha (eta_new - ln mu)``, at most ``eta_max`` (``ln mu`` if alpha is None)."""
    eta = np.log(_col(p, "__mu"))
    if alpha is None:
        return eta
    return np.minimum(eta + alpha * (_col(p, "__en") - eta), eta_max)


def deviance(p: pd.DataFrame, alpha: float | None, eta_max: float) -> float:
    """``2 sum rw (y (ln y - eta) [y > 0] - (y - exp eta))``."""
    y, eta = _col(p, "__y"), _eta(p, alpha, eta_max)
    pos = y > 0
    term = np.where(pos, y * (np.log(np.where(pos, y, 1.0)) - eta), 0.0) - (y - np.exp(eta))
    return float(2 * (_col(p, "__rw") @ term))


def accept(p: pd.DataFrame, alpha: float, eta_max: float):
    return _set(p, mu=np.exp(_eta(p, alpha, eta_max)))


def reweight(p: pd.DataFrame, working: bool):
    rw = _col(p, "__rw")
    return _set(p, w=rw * _col(p, "__mu") if working else rw)


def likelihood_sums(p: pd.DataFrame) -> np.ndarray:
    """``sum rw y``, ``sum rw``, ``sum rw (y ln mu - mu - lgamma(y + 1))`` and
    ``sum rw lgamma(y + 1)``."""
    y, mu, rw = _col(p, "__y"), _col(p, "__mu"), _col(p, "__rw")
    lg = gammaln(y + 1)
    return np.array([rw @ y, rw.sum(), rw @ (y * np.log(mu) - mu - lg), rw @ lg])
