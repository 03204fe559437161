"""Balanced panels stacked time-major: row order; W applied per period by the one
entity-major kernel (:func:`spillover.measures._moran.lag_periods`), never kron."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from spillover._validate import preview
from spillover.errors import AlignmentError, SpecificationError
from spillover.linalg.traces import as_sparse_weights


def _order(n_obs: int, n: int, n_periods: int | None, time: Any, entity: Any, w: Any):
    """(permutation to time-major order or None, T), checking the panel is balanced."""
    if (time is None) != (entity is None):
        raise SpecificationError("pass both time= and entity= codes, or neither.")
    if time is None:
        t = n_obs // n if n_periods is None else int(n_periods)
        if n_obs != n * t:
            raise AlignmentError(
                f"{n_obs} observations do not fill {t} period(s) of the {n} entities in W; "
                "the panel must be balanced (n_obs = N x T) and stacked time-major."
            )
        return None, t
    t_codes, t_levels = pd.factorize(np.asarray(time), sort=True)
    t = len(t_levels)
    ids = getattr(w, "ids", None)
    ent = np.asarray(entity)
    e_codes = ids.get_indexer(ent) if ids is not None else ent.astype(np.intp)
    bad = (e_codes < 0) | (e_codes >= n)
    if bad.any() or (n_periods is not None and t != n_periods):
        raise AlignmentError(
            f"time/entity codes do not match W and n_periods={n_periods}: {t} periods "
            f"found; entities not in W: {preview(ent[bad]) or 'none'}."
        )
    pos = t_codes * n + e_codes
    if n_obs != n * t or len(np.unique(pos)) != n_obs:
        raise AlignmentError(
            f"{n_obs} rows for {n} entities x {t} periods: the panel must be balanced with "
            "each (time, entity) pair exactly once."
        )
    return np.argsort(pos), t


def _prepare(y, x, w, n_periods, time, entity):
    """Arrays in time-major order and T; (entity, time) MultiIndex rows are read as codes."""
    csr = as_sparse_weights(w)
    index = getattr(y, "index", None)
    if time is None and entity is None and isinstance(index, pd.MultiIndex):
        if index.nlevels != 2:
            raise SpecificationError("a MultiIndex must have two levels, (entity, time).")
        entity, time = index.get_level_values(0), index.get_level_values(1)
    y = np.asarray(y, dtype=float).ravel()
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    if len(x) != len(y):
        raise AlignmentError(f"y has {len(y)} rows but X has {len(x)}.")
    perm, t = _order(len(y), csr.shape[0], n_periods, time, entity, w)
    if perm is not None:
        y, x = y[perm], x[perm]
    return csr, y, x, t
