"""Spillover pools: other units' stocks summed through sparse weights, period by period."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm import tqdm

from spillover._typing import FloatArray, IntArray
from spillover.errors import SpecificationError
from spillover.measures._common import entity_codes, period_rows, values
from spillover.panel import Panel
from spillover.weights import Weights, WeightsByPeriod, as_weights, is_by_period

Absent = Literal["zero", "renormalize"]


def spillover_pool(
    panel: Panel,
    column: str,
    w: Weights | Any | Mapping[Any, Weights | Any],
    *,
    exclude_self: bool = True,
    absent: Absent = "zero",
    name: str | None = None,
    progress: bool = False,
) -> pd.Series:
    """Spillover pool S_it = sum_{j != i} w_ijt K_jt, one sparse product per period.

    Parameters
    ----------
    panel : Panel
        Entity-period panel.
    column : str
        The stock K (e.g. from :func:`rd_stock`); must be complete.
    w : Weights, libpysal W/Graph, or mapping period -> weights
        Static weights, or time-varying weights (one per period of the panel). Matched
        to the panel by entity id, never by position. Static weights must hold exactly
        the panel's entities; the weights for period t must hold every entity observed
        in t and no id outside the panel (:meth:`WeightsByPeriod.check`). A bare matrix
        is refused unless stated in panel order (``Weights.in_panel_order``).
    exclude_self : bool, default True
        Drop w_ii K_it (a non-zero diagonal of ``w`` never counts the unit itself).
    absent : {"zero", "renormalize"}, default "zero"
        Unbalanced panels: an entity j absent in period t. ``"zero"``: K_jt counts as 0,
        weights unchanged. ``"renormalize"``: row i's weights are rescaled over the
        present units so that they keep their full row sum, S_it = (sum_{j present}
        w_ij K_jt) * (sum_j w_ij) / (sum_{j present} w_ij) (sums over j != i if
        ``exclude_self``); with row-standardised W this is the weighted mean over the
        present neighbours. It is NaN when i has neighbours but none is present.
    name : str, optional
        Name of the result (default ``"<column>_pool"``).
    progress : bool, default False
        Show a progress bar over periods.

    Returns
    -------
    pandas.Series
        S_it indexed like ``panel``.

    Raises
    ------
    AlignmentError
        If weights and panel entities disagree (the ids are listed), or a period has
        no weights.

    Notes
    -----
    A weighted sum with the weights as given; pass ``w.row_standardize()`` for the
    weighted average of the neighbours' stocks. Entities without neighbours get 0.
    Each period costs one sparse matrix-vector product, O(nnz(W)) (two with
    ``absent="renormalize"``); W is never densified.

    Examples
    --------
    >>> import numpy as np, pandas as pd, scipy.sparse as sp
    >>> from spillover import Panel
    >>> from spillover.weights import Weights
    >>> from spillover.measures import spillover_pool
    >>> df = pd.DataFrame({"firm": ["a", "b", "c"], "year": 2000, "k": [1.0, 2.0, 4.0]})
    >>> w = Weights(sp.csr_array(np.ones((3, 3)) - np.eye(3)), ["a", "b", "c"])
    >>> spillover_pool(Panel(df, entity="firm", time="year"), "k", w).tolist()
    [6.0, 5.0, 3.0]
    """
    if absent not in ("zero", "renormalize"):
        raise SpecificationError(f"absent must be 'zero' or 'renormalize', got {absent!r}.")
    x = values(panel, column)
    out = np.empty(len(x))
    periods = list(period_rows(panel))
    last, diag = None, None
    for _, rows, wt, pos in tqdm(
        weights_by_period(panel, w, periods),
        total=len(periods),
        desc="spillover pool",
        disable=not progress,
    ):
        if exclude_self and wt is not last:  # static weights: W's diagonal read once
            last, diag = wt, wt.matrix.diagonal()
        out[rows] = pool_kernel(wt.matrix, pos, x[rows], diag, absent == "renormalize")
    return pd.Series(out, index=panel.data.index, name=name or f"{column}_pool")


def pool_kernel(
    matrix: sp.csr_array,
    pos: IntArray,
    x: FloatArray,
    diag: FloatArray | None,
    renormalize: bool,
) -> FloatArray:
    """(W x)_i at the present units ``pos``; absent units hold zero. Arrays in, arrays out.

    ``diag`` is W's diagonal to leave out (the unit itself), or None to keep it.
    """
    full = np.zeros(matrix.shape[0])
    full[pos] = x
    s = matrix @ full
    if diag is not None:
        s -= diag * full
    s = s[pos]
    if renormalize:
        present = np.zeros(matrix.shape[0])
        present[pos] = 1.0
        covered = matrix @ present
        total = np.asarray(matrix.sum(axis=1)).ravel()
        if diag is not None:
            covered -= diag * present
            total -= diag
        covered, total = covered[pos], total[pos]
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(covered == 0, np.where(total == 0, 0.0, np.nan), s * total / covered)
    return s


def weights_by_period(
    panel: Panel,
    w: Weights | Any | Mapping[Any, Weights | Any],
    periods: Iterable[tuple[Any, IntArray]] | None = None,
) -> Iterator[tuple[Any, IntArray, Weights, IntArray]]:
    """Yield ``(period, rows, weights, pos)``: each period's weights, matched by id.

    ``rows`` are the period's panel rows and ``pos`` the positions of their entities in
    ``weights``. Static weights come through :func:`spillover.weights.as_weights`, matched
    to ``panel.entities`` once, and are yielded (the same object) for every period; weights
    by period go through :meth:`WeightsByPeriod.check` (the one alignment policy: every
    period has its W_t, over panel entities only, covering those observed in it), each W_t
    in its own order. ``periods`` defaults to every period of the panel.
    """
    ent = entity_codes(panel)
    periods = list(period_rows(panel) if periods is None else periods)
    if not is_by_period(w):
        static = as_weights(w, panel.entities)
        for period, rows in periods:
            yield period, rows, static, ent[rows]
        return
    checked = WeightsByPeriod(w).check(panel, [period for period, _ in periods])
    for period, rows in periods:
        wt = checked[period]
        yield period, rows, wt, wt.ids.get_indexer(panel.entities[ent[rows]]).astype(np.intp)
