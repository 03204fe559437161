"""R&D knowledge stocks by the perpetual-inventory method, vectorised over firms."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from spillover._calendar import period_numbers
from spillover._typing import BoolArray, FloatArray, IntArray
from spillover._validate import preview
from spillover.errors import PanelError, SpecificationError
from spillover.measures._common import entity_codes, values
from spillover.panel import Panel

GapPolicy = Literal["raise", "restart"]


def rd_stock(
    panel: Panel,
    column: str,
    *,
    depreciation: float = 0.15,
    growth: Literal["presample"] | float = "presample",
    presample_years: int = 5,
    fallback_growth: float | None = None,
    gaps: GapPolicy = "raise",
) -> pd.Series:
    """Perpetual-inventory R&D stock, K_it = (1 - delta) K_i,t-1 + R_it.

    Parameters
    ----------
    panel : Panel
        Firm-year panel.
    column : str
        R&D spending R_it in constant prices; must be complete and >= 0.
    depreciation : float, default 0.15
        Annual depreciation rate delta, in [0, 1].
    growth : "presample" or float, default "presample"
        Growth rate g_i used for the initial stock. ``"presample"``: each firm's own
        geometric-average annual growth of R over its first ``presample_years`` years,
        g_i = (R_i,w / R_i,0) ** (1 / w) - 1 with w = min(presample_years, n_i - 1).
        A float: the same g for every firm (e.g. 0.05).
    presample_years : int, default 5
        Length of the window for ``growth="presample"``.
    fallback_growth : float, optional
        Growth used for firms whose own g_i is undefined (one year only, or zero R&D
        at either end of the window) or has g_i + delta <= 0. If None (default) such
        firms raise an error that names them.
    gaps : {"raise", "restart"}, default "raise"
        A firm with missing years inside its span: ``"raise"`` stops with an error naming
        the firm and the years; ``"restart"`` starts a new stock after the gap, with its
        own initial condition, as if it were a new firm. Gaps are never bridged.

    Returns
    -------
    pandas.Series
        The stock, indexed like ``panel``, named ``"<column>_stock"``.

    Raises
    ------
    PanelError
        On gaps with ``gaps="raise"``, or missing or negative R&D.
    SpecificationError
        If g_i + delta <= 0 or g_i is undefined and no ``fallback_growth`` is given.

    Notes
    -----
    The initial stock in a firm's first year (first year after a gap with ``"restart"``)
    is K_i0 = R_i0 / (g_i + delta) (Griliches 1980; Hall and Mairesse 1995), the steady
    state of R&D growing at g_i forever under the convention that a year's spending
    enters the stock with a lag. The stock recursion itself includes the current year,
    K_it = (1 - delta) K_i,t-1 + R_it, as in Bloom, Schankerman and Van Reenen (2013).
    Consecutive years: periods one calendar period apart, as for every lag in spillover
    (integer time one unit apart; dates one year, quarter, month, week or day apart at
    the coarsest of these units that fits all dates), so a year missing from the whole
    panel is a gap too. The recursion runs over years, vectorised across firms (no loop
    over firms).

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover import Panel
    >>> from spillover.measures import rd_stock
    >>> df = pd.DataFrame({"firm": [1, 1, 1], "year": [2000, 2001, 2002],
    ...                    "rd": [10.0, 20.0, 30.0]})
    >>> rd_stock(Panel(df, entity="firm", time="year"), "rd", growth=0.05).round(3).tolist()
    [50.0, 62.5, 83.125]
    """
    delta = _check_options(depreciation, growth, presample_years, fallback_growth, gaps)
    r = values(panel, column, nonnegative=True)
    start = _spell_starts(panel, gaps)
    spell = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    pos = np.arange(len(r)) - first[spell]
    g = _growth(panel, r, first, pos, growth, presample_years, fallback_growth, delta)
    k = np.empty_like(r)
    k[first] = r[first] / (g + delta)
    order = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[order], np.arange(pos.max() + 2 if len(pos) else 1))
    for p in range(1, len(bounds) - 1):
        rows = order[bounds[p] : bounds[p + 1]]
        k[rows] = (1.0 - delta) * k[rows - 1] + r[rows]
    return pd.Series(k, index=panel.data.index, name=f"{column}_stock")


def _check_options(
    depreciation: float,
    growth: object,
    presample_years: int,
    fallback_growth: float | None,
    gaps: str,
) -> float:
    if not 0.0 <= depreciation <= 1.0:
        raise SpecificationError(f"depreciation must be in [0, 1], got {depreciation}.")
    if gaps not in ("raise", "restart"):
        raise SpecificationError(f"gaps must be 'raise' or 'restart', got {gaps!r}.")
    if isinstance(growth, str):
        if growth != "presample":
            raise SpecificationError(f"growth must be 'presample' or a number, got {growth!r}.")
        if int(presample_years) < 1:
            raise SpecificationError(f"presample_years must be >= 1, got {presample_years}.")
    for name, g in (("growth", growth), ("fallback_growth", fallback_growth)):
        if isinstance(g, int | float) and g + depreciation <= 0:
            raise SpecificationError(
                f"{name} + depreciation = {g + depreciation} <= 0: the initial stock "
                "R_0 / (g + delta) would be infinite or negative. Use a larger growth rate."
            )
    return float(depreciation)


def _spell_starts(panel: Panel, gaps: GapPolicy) -> BoolArray:
    """True where a row starts a run of consecutive years of one firm."""
    idx = panel.data.index
    ent = entity_codes(panel)
    step = period_numbers(idx.get_level_values(1), name=f"time column {panel.time_name!r}")
    new_firm = np.ones(len(ent), dtype=bool)
    new_firm[1:] = ent[1:] != ent[:-1]
    jump = np.zeros(len(ent), dtype=bool)
    jump[1:] = np.diff(step) != 1
    gap = jump & ~new_firm
    if gap.any() and gaps == "raise":
        rows = np.flatnonzero(gap)
        ents, years = idx.get_level_values(0).tolist(), idx.get_level_values(1).tolist()
        where = [f"{ents[r]!r} between {years[r - 1]!r} and {years[r]!r}" for r in rows[:5]]
        firms = idx.get_level_values(0)[rows].unique()
        raise PanelError(
            f"{len(firms)} firm(s) have missing years inside their span, e.g. firm "
            f"{'; '.join(where)}. Fill the years (e.g. with 0 R&D if none was spent), or "
            "pass gaps='restart' to start a new stock after each gap."
        )
    return new_firm | gap


def _growth(
    panel: Panel,
    r: FloatArray,
    first: IntArray,
    pos: IntArray,
    growth: Literal["presample"] | float,
    years: int,
    fallback: float | None,
    delta: float,
) -> FloatArray:
    """Growth rate g for each spell (one entry per spell start)."""
    if not isinstance(growth, str):
        return np.full(len(first), float(growth))
    length = np.diff(np.append(first, len(r)))
    w = np.minimum(int(years), length - 1)
    r0, rw = r[first], r[first + w]
    ok = (w >= 1) & (r0 > 0) & (rw > 0)
    g = np.full(len(first), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        g[ok] = (rw[ok] / r0[ok]) ** (1.0 / w[ok]) - 1.0
    bad = ~ok | (g + delta <= 0)
    if bad.any():
        if fallback is None:
            firms = panel.data.index.get_level_values(0)[first[bad]].unique()
            raise SpecificationError(
                f"{len(firms)} firm(s) have no usable pre-sample growth (a single year, zero "
                f"R&D at the start or end of the {years}-year window, or g + delta <= 0), "
                f"e.g. {preview(firms)}. Pass fallback_growth=0.05 (say) for them, or a "
                "common growth rate with growth=0.05."
            )
        g[bad] = fallback
    return g
