"""Event-study figure: coefficients by relative period, several estimators side by side."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from spillover.errors import SpecificationError
from spillover.models.event_study import EventStudyResults
from spillover.report.figures import PALETTE, print_style


def event_study_plot(
    results: Mapping[str, EventStudyResults],
    *,
    truth: pd.Series | None = None,
    window: tuple[int, int] | None = None,
    level: float = 0.95,
    title: str | None = None,
    ylabel: str = "effect",
) -> Figure:
    """Event-study coefficients with ``level`` intervals against the relative period.

    Parameters
    ----------
    results : mapping of name -> EventStudyResults
        One series of points per estimator, offset slightly so the intervals do not hide
        each other; each shows its reference period at zero (hollow marker).
    truth : pandas.Series, optional
        Known effect by relative period (index ints), drawn as a black line (simulations).
    window : (int, int), optional
        First and last relative period shown (default: all).
    level : float, default 0.95
    title, ylabel : str, optional

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from spillover.models import EventStudy
    >>> from spillover.report import event_study_plot
    >>> rows = [(i, t) for i in range(6) for t in range(6)]
    >>> df = pd.DataFrame(rows, columns=["unit", "year"]).set_index(["unit", "year"])
    >>> g = np.array([2, 2, 4, 4, np.nan, np.nan])[df.index.get_level_values(0)]
    >>> t = df.index.get_level_values(1).to_numpy()
    >>> df = df.assign(start=g, y=np.where(t >= g, 1.0, 0.0) + 0.1 * t + 0.01 * (t % 2))
    >>> fig = event_study_plot({"SA": EventStudy("y", df, cohort="start").fit()})
    >>> len(fig.axes)
    1
    """
    if not results:
        raise SpecificationError("event_study_plot needs at least one EventStudyResults.")
    lo, hi = window if window is not None else (-(10**9), 10**9)
    offsets = np.linspace(-0.15, 0.15, len(results)) if len(results) > 1 else [0.0]
    with print_style():
        fig, ax = plt.subplots(figsize=(6.0, 3.4))
        for (name, res), off, colour in zip(results.items(), offsets, PALETTE, strict=False):
            times = [e for e in res.event_times if lo <= e <= hi]
            labels = [f"{e:+d}" for e in times]
            ci = res.conf_int(level).loc[labels]
            pos = np.asarray(times, float) + off
            est = res.params[labels].to_numpy()
            ax.errorbar(
                pos, est, yerr=[est - ci["lower"], ci["upper"] - est], fmt="o", ms=3,
                color=colour, capsize=0, lw=0.8, label=name,
            )  # fmt: skip
            ax.plot([res.reference + off], [0.0], "o", ms=3, mfc="white", color=colour)
        if truth is not None:
            shown = truth[(truth.index >= lo) & (truth.index <= hi)].sort_index()
            ax.plot(shown.index, shown.to_numpy(), color="black", lw=1.0, label="true effect")
        ax.axhline(0, color="grey", lw=0.6, ls="--")
        ax.axvline(-0.5, color="grey", lw=0.6, ls=":")
        ax.set_xlabel("years since the start of treatment")
        ax.set_ylabel(f"{ylabel} ({level:.0%} interval)")
        # below the axes, so it covers no estimate or interval
        ax.legend(
            frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16),
            ncol=len(results) + (truth is not None),
        )  # fmt: skip
        if title:
            ax.set_title(title)
    return fig
