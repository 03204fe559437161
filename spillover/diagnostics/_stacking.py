"""Balanced panels as the array-level diagnostics take them: time-major rows, W by id.

The LM and Moran tests receive plain arrays stacked time-major (all entities of the first
period, then the second, ...), or any order described by ``time`` and ``entity`` codes, or
a pandas ``y`` indexed by (entity, time). They keep the rows time-major, so their sums are
those of the published formulas in that order, and apply W within each period through the
package's one (entity-major) convention, :func:`spillover.linalg.stacking.lag`, reordering
at the edge. ``I_T (x) W`` is never built.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from spillover._validate import preview
from spillover.errors import AlignmentError, SpecificationError
from spillover.weights import Weights, as_weights


def _order(n_obs: int, ids: pd.Index, n_periods: int | None, time: Any, entity: Any):
    """(permutation to time-major order or None, T), checking the panel is balanced.

    Entity codes are matched to W's ``ids`` (0..N-1 for a bare matrix, so they are
    positions there).
    """
    n = len(ids)
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
    ent = np.asarray(entity)
    e_codes = ids.get_indexer(ent)
    bad = e_codes < 0
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


def _weights(w: Any, labelled: bool) -> Weights:
    """W through the boundary: by id when rows are labelled by an (entity, time) index, else
    by position (plain arrays, or ``entity=`` codes that are positions of a bare matrix)."""
    if labelled:
        return as_weights(w, what="entities of the data's (entity, time) index")
    return as_weights(w, bare="positional")


def _prepare(y, x, w, n_periods, time, entity):
    """Arrays in time-major order and T; (entity, time) MultiIndex rows are read as codes."""
    index = getattr(y, "index", None)
    labelled = time is None and entity is None and isinstance(index, pd.MultiIndex)
    weights = _weights(w, labelled)
    if labelled:
        if index.nlevels != 2:
            raise SpecificationError("a MultiIndex must have two levels, (entity, time).")
        entity, time = index.get_level_values(0), index.get_level_values(1)
    y = np.asarray(y, dtype=float).ravel()
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    if len(x) != len(y):
        raise AlignmentError(f"y has {len(y)} rows but X has {len(x)}.")
    perm, t = _order(len(y), weights.ids, n_periods, time, entity)
    if perm is not None:
        y, x = y[perm], x[perm]
    return weights.matrix, y, x, t
