"""Experience stocks for learning curves: own cumulative output, and that of the other firms
in the firm's cluster and outside it (Irwin and Klenow 1994)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spillover._validate import preview, require_columns, require_numeric
from spillover.errors import PanelError, SpecificationError
from spillover.measures._common import values
from spillover.measures._decompose import region_pools
from spillover.measures._stock import _spell_starts
from spillover.panel import Panel


def experience_stock(
    panel: Panel,
    column: str,
    *,
    initial: str | float = 0.0,
    include_current: bool = False,
) -> pd.Series:
    """A firm's experience: its cumulative output, E_it = E_i0 + sum_{s < t} q_is.

    Parameters
    ----------
    panel : Panel
        Firm-year panel without gaps inside a firm's span of years.
    column : str
        Output q_it (units produced); complete and >= 0.
    initial : str or float, default 0.0
        Experience E_i0 before the firm's first year in the panel: one number for every
        firm, or the name of a column whose value in the firm's first year is used (e.g.
        cumulative output before the sample, if known); only first-year values are read,
        and they must be present and >= 0.
    include_current : bool, default False
        False: experience at the start of year t, cumulative output through t - 1 (as
        Irwin and Klenow 1994, so that this year's cost shock does not enter it). True:
        through t.

    Returns
    -------
    pandas.Series
        E_it indexed like ``panel``, named ``"<column>_experience"``.

    Raises
    ------
    PanelError
        If a firm has a gap in its years (cumulative output across a gap is unknown), or
        output (or the initial column) is missing or negative.

    Notes
    -----
    Consecutive years as for :func:`rd_stock` (one calendar period apart). A firm's
    first-year experience is E_i0 (plus q_i1 with ``include_current``).

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover import Panel
    >>> from spillover.measures import experience_stock
    >>> df = pd.DataFrame({"firm": [1, 1, 1], "year": [2000, 2001, 2002],
    ...                    "q": [10.0, 20.0, 30.0]})
    >>> experience_stock(Panel(df, entity="firm", time="year"), "q", initial=5.0).tolist()
    [5.0, 15.0, 35.0]
    """
    q = values(panel, column, nonnegative=True)
    start = _spell_starts(panel, "raise")
    spell = np.cumsum(start) - 1
    if isinstance(initial, str):
        e0 = _first_year_values(panel, initial, np.flatnonzero(start))[spell]
    else:
        if not np.isfinite(initial) or initial < 0:
            raise SpecificationError(f"initial experience must be >= 0, got {initial!r}.")
        e0 = np.full(len(q), float(initial))
    through = pd.Series(q).groupby(spell).cumsum().to_numpy()
    e = e0 + (through if include_current else through - q)
    return pd.Series(e, index=panel.data.index, name=f"{column}_experience")


def experience_stocks(
    panel: Panel,
    column: str,
    cluster: str,
    *,
    initial: str | float = 0.0,
    include_current: bool = False,
) -> pd.DataFrame:
    """Own experience and the experience of the other firms inside and outside the cluster.

    Parameters
    ----------
    panel : Panel
        Firm-year panel without gaps inside a firm's span of years.
    column : str
        Output q_it.
    cluster : str
        Column with each firm-year's cluster (region, industrial district, country).
    initial, include_current
        As in :func:`experience_stock`.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``panel``, columns ``own`` (E_it), ``cluster`` (sum of E_jt over the
        other firms j of i's cluster in year t) and ``outside`` (sum over the firms of
        the other clusters); own + cluster + outside is the year's total experience.

    Notes
    -----
    The three regressors of Irwin and Klenow's (1994) learning curve, ``log c_it = a_i -
    b_own log E_it - b_cluster log S^C_it - b_outside log S^O_it``, with domestic/foreign
    replaced by inside/outside the cluster. Firms absent in a year contribute nothing
    that year (their experience is not carried forward). The pools are those of
    :func:`region_pools` applied to the own experience, O(N) per year.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover import Panel
    >>> from spillover.measures import experience_stocks
    >>> df = pd.DataFrame({"firm": [1, 1, 2, 2, 3, 3], "year": [2000, 2001] * 3,
    ...                    "q": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "c": ["A"] * 4 + ["B"] * 2})
    >>> out = experience_stocks(Panel(df, entity="firm", time="year"), "q", "c")
    >>> out.loc[(2, 2001)].tolist()  # own 3, firm 1's 1 in cluster A, firm 3's 5 outside
    [3.0, 1.0, 5.0]
    """
    own = experience_stock(panel, column, initial=initial, include_current=include_current)
    name = "__experience"
    pools = region_pools(panel.assign(**{name: own}), name, cluster)
    return pd.DataFrame(
        {
            "own": own.to_numpy(),
            "cluster": pools[f"{name}_within"].to_numpy(),
            "outside": pools[f"{name}_outside"].to_numpy(),
        },
        index=panel.data.index,
    )


def _first_year_values(panel: Panel, column: str, first: np.ndarray) -> np.ndarray:
    """``column`` in each firm's first row; missing or negative values name the firms."""
    require_columns(panel.data, [column], "panel")
    require_numeric(panel.data, [column])
    x = panel.data[column].to_numpy(dtype=float, na_value=np.nan)[first]
    bad = ~(np.isfinite(x) & (x >= 0))
    if bad.any():
        firms = panel.data.index.get_level_values(0)[first[bad]]
        raise PanelError(
            f"{int(bad.sum())} firm(s) have a missing, infinite or negative initial experience "
            f"{column!r} in their first year, e.g. {preview(firms)}. Give every firm a value "
            ">= 0 there (0 for no experience before the panel)."
        )
    return x
