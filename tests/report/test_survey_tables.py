"""Questionnaire tables: every cell is the formatted value of the results it was built from,
and the published lavaan fit of the Holzinger-Swineford CFA appears at its printed digits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from semopy.examples import holzinger39

from spillover.errors import SpecificationError
from spillover.report import (
    construct_correlation_table,
    loadings_table,
    mediation_table,
    sem_fit_table,
    validity_table,
)
from spillover.report._format import number
from spillover.survey import Mediation, cfa, efa, reliability
from spillover.survey.mediation import example_survey

HS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}


@pytest.fixture(scope="module")
def data():
    return holzinger39.get_data()


@pytest.fixture(scope="module")
def fit(data):
    return cfa(data, HS)


def _cells(table, row):
    found = [r for s in table.sections for r in s.rows if r.label == row]
    assert found, row
    return [c.plain() for c in found[0].cells]


def test_fit_table_prints_lavaans_published_fit(fit):
    table = sem_fit_table({"HS": fit})
    # lavaan's printed values (tests/references/published_holzinger_swineford.json)
    assert _cells(table, "Chi-square") == ["85.306"]
    assert _cells(table, "df") == ["24"]
    assert _cells(table, "CFI") == ["0.931"] and _cells(table, "TLI") == ["0.896"]
    assert _cells(table, "RMSEA") == ["0.092"]
    assert _cells(table, "RMSEA 90% interval") == ["[0.071, 0.114]"]
    assert _cells(table, "SRMR") == ["0.065"]
    assert _cells(table, "Observations") == ["301"]
    assert "\\toprule" in table.to_latex()


def test_validity_table_cells_are_the_results(fit, data):
    val, rel = fit.validity(), reliability(data, HS)
    table = validity_table(val, reliability=rel)
    frame, rframe = val.to_frame(), rel.to_frame()
    for construct in HS:
        cells = _cells(table, construct)
        expected = [
            "3",
            number(rframe.loc[construct, "alpha"]).plain(),
            number(rframe.loc[construct, "omega_total"]).plain(),
            *(number(frame.loc[construct, k]).plain() for k in ("cr", "ave", "sqrt_ave")),
            number(frame.loc[construct, "max_htmt"]).plain(),
        ]
        assert cells == expected
    with pytest.raises(SpecificationError, match="no row for constructs"):
        validity_table(val, reliability=rframe.drop(index="speed"))


def test_loadings_table_suppresses_small_loadings(data):
    res = efa(data[[f"x{i}" for i in range(1, 10)]], 3, rotation="varimax")
    table = loadings_table(res, suppress=0.3)
    blanks = sum(c.plain() == "" for s in table.sections for r in s.rows for c in r.cells)
    assert blanks == int((res.loadings.abs() < 0.3).to_numpy().sum())
    assert "0.3" in table.notes[0]


def test_correlation_table_stars_and_ave_diagonal(fit, data):
    scores = pd.DataFrame({c: data[items].mean(axis=1) for c, items in HS.items()})
    ave = fit.validity().to_frame()["ave"]
    table = construct_correlation_table(scores, ave=ave, stars_at=(0.05, 0.01))
    rows = [r for s in table.sections for r in s.rows]
    n = len(scores)
    for i, a in enumerate(HS):
        assert rows[i].cells[i].plain() == number(np.sqrt(ave[a]), 2).plain()
        for j, b in enumerate(list(HS)[:i]):
            r = np.corrcoef(scores[a], scores[b])[0, 1]
            t = r * np.sqrt((n - 2) / (1 - r**2))  # the t test of a correlation, by hand
            p = 2 * stats.t.sf(abs(t), n - 2)
            stars = "**" if p < 0.01 else "*" if p < 0.05 else ""
            assert rows[i].cells[j].plain() == number(r, 2).plain() + stars


def test_mediation_table_rows_are_the_effects():
    res = Mediation(
        example_survey(200, seed=1), x="environment", mediators=["transfer", "harvest"],
        y="spillover", kind="serial",
    ).fit(bootstrap=200, seed=1)  # fmt: skip
    table = mediation_table(res)
    for name, row in res.indirect.iterrows():
        lo, hi = number(row["lower"]).plain(), number(row["upper"]).plain()
        assert _cells(table, str(name)) == [
            number(row["estimate"]).plain(), number(row["std_error"]).plain(), f"[{lo}, {hi}]"
        ]  # fmt: skip
    assert [r.label for r in table.sections[1].rows] == ["direct", "total"]
    assert "percentile; level 95%" in table.notes[0]
