from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from spillover import Panel
from spillover.report import describe


def small_panel():
    rng = np.random.default_rng(5)
    df = pd.DataFrame(
        {"i": np.repeat(np.arange(6), 4), "t": np.tile(np.arange(4), 6), "x": rng.normal(size=24)}
    )
    df["y"] = df.x + rng.normal(size=24)
    df = df.drop(index=[3, 7])  # unbalanced
    return Panel(df, entity="i", time="t")


def test_panel_summary_matches_xtsum_definitions():
    p = small_panel()
    s = describe.panel_summary(p, ["x"])
    x = p.data["x"]
    means = x.groupby(level=0).mean()
    within = x - x.groupby(level=0).transform("mean") + x.mean()
    assert s.loc[("x", "overall"), "std"] == pytest.approx(x.std(ddof=1), rel=1e-12)
    assert s.loc[("x", "between"), "std"] == pytest.approx(means.std(ddof=1), rel=1e-12)
    assert s.loc[("x", "within"), "std"] == pytest.approx(within.std(ddof=1), rel=1e-12)
    assert s.loc[("x", "within"), "min"] == pytest.approx(within.min(), rel=1e-12)
    assert s.loc[("x", "overall"), "n"] == 22
    assert s.loc[("x", "between"), "n"] == 6
    assert s.loc[("x", "within"), "n"] == pytest.approx(22 / 6)


def test_summary_and_correlation_tables_render():
    p = small_panel()
    text = str(describe.summary_table(p, ["x", "y"], labels={"x": "Spillover"}))
    assert "Spillover" in text and "between" in text and "xtsum" in text
    c = describe.correlation_table(p, ["x", "y"])
    r = np.corrcoef(p.data.x, p.data.y)[0, 1]
    assert f"{r:.2f}" in str(c)


def test_diagnostics_table():
    tests = {
        "Hausman": SimpleNamespace(statistic=12.3456, df=4, pvalue=0.015),
        "F (FE)": SimpleNamespace(statistic=3.5, df=(47, 764), pvalue=1e-9),
    }
    text = str(describe.diagnostics_table(tests))
    assert "12.346" in text and "47, 764" in text and "0.015" in text
    with pytest.raises(ValueError, match="pvalue"):
        describe.diagnostics_table({"bad": SimpleNamespace(statistic=1.0)})
