"""event_study_plot draws each estimator's coefficients, the reference and the truth."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from spillover.errors import SpecificationError
from spillover.models import EventStudy
from spillover.report import event_study_plot

matplotlib.use("Agg")


def _results():
    rows = [(i, t) for i in range(8) for t in range(8)]
    df = pd.DataFrame(rows, columns=["unit", "year"]).set_index(["unit", "year"])
    g = np.array([2, 2, 4, 4, 5, np.nan, np.nan, np.nan])[df.index.get_level_values(0)]
    t = df.index.get_level_values(1).to_numpy()
    noise = np.random.default_rng(0).normal(0, 0.1, len(t))
    df = df.assign(start=g, y=np.where(t >= g, 1.0 + (t - g), 0.0) + noise)
    sa = EventStudy("y", df, cohort="start").fit()
    tw = EventStudy("y", df, cohort="start", method="twfe").fit()
    return {"SA": sa, "TWFE": tw}


def test_points_follow_the_window_and_the_estimates() -> None:
    res = _results()
    truth = pd.Series([0.0, 0.0, 1.0, 2.0], index=[-2, -1, 0, 1])
    fig = event_study_plot(res, truth=truth, window=(-2, 1))
    ax = fig.axes[0]
    # the truth line: exactly the given points inside the window
    line = next(ln for ln in ax.get_lines() if ln.get_label() == "true effect")
    assert line.get_xdata().tolist() == [-2, -1, 0, 1]
    # one errorbar container per estimator, its points the estimates at -2, 0, 1
    containers = ax.containers
    assert len(containers) == 2
    ys = containers[0].lines[0].get_ydata()
    assert np.allclose(ys, res["SA"].params[["-2", "+0", "+1"]].to_numpy())
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == "TWFE"
    # the legend lies outside the axes: it covers no estimate
    fig.canvas.draw()
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.y1 <= ax.get_window_extent().y0


def test_empty_input_is_refused() -> None:
    with pytest.raises(SpecificationError, match="at least one"):
        event_study_plot({})
