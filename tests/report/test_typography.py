"""Typography: raw LaTeX on request, true minus signs, journal p-values, one precision rule,
siunitx columns, and the Markdown, HTML and Word writers read back cell by cell."""

from __future__ import annotations

import re

import pytest

from spillover.report import Latex, regression_table
from tests.report._parse import markdown_rows, row, value
from tests.report.conftest import make_results

MINUS = "\u2212"


@pytest.fixture
def signed():
    # z: -4/0.1 -> p ~ 1e-350 (prints as a bound); 0.05/0.1 -> p = 0.617
    return make_results(
        {"x": -4.0, "rho": 0.05, "big": -12345.678},
        [0.1, 0.1, 1000.0],
        model="SAR",
        dependent="y",
        fit={"loglik": -50.25},
    )


def test_raw_latex_only_on_request(signed):
    t = regression_table(
        [signed],
        rename={"rho": Latex(r"$\rho$"), "x": "R&D_pool $"},
        caption=Latex(r"Effects of $\ln K$"),
        notes=[Latex(r"$^{a}$ Raw note."), "50% of $ sales"],
    )
    tex = t.to_latex()
    assert r"$\rho$ &" in tex and r"\caption{Effects of $\ln K$}" in tex
    assert r"\item $^{a}$ Raw note." in tex
    assert r"R\&D\_pool \$ &" in tex and r"50\% of \$ sales" in tex  # escaped by default
    assert "| $\\rho$ |" in t.to_markdown()


def test_true_minus_signs_in_every_format(signed):
    t = regression_table([signed])
    tex, md, html, text = t.to_latex(), t.to_markdown(), t.to_html(), str(t)
    assert re.search(r"^x & \$-\$4\.000\\sym\{\*\*\*\}", tex, re.M)
    assert r"$-$12,345.678" in tex and r"$-$50.250" in tex
    for rendered in (md, html, text):
        assert f"{MINUS}4.000" in rendered and f"{MINUS}50.250" in rendered
        assert not re.search(r"(?<![\w.])-\d", rendered)  # no hyphen before a digit
    assert value(row(md, "x")[0]) == -4.0


def test_p_values_as_journals_print_them(signed):
    md = regression_table([signed], stat="pvalue").to_markdown()
    rows = markdown_rows(md)
    under = {rows[i][0]: rows[i + 1][1] for i in range(len(rows) - 1) if rows[i + 1][0] == ""}
    assert under["x"] == "(< 0.001)"
    assert under["rho"] == "(0.617)"  # 2 * (1 - Phi(0.5)) = 0.6171
    assert not re.search(r"0\.000\)|e-\d|e\u2212\d", md)


def test_one_precision_rule(signed):
    md = regression_table([signed], stat="tstat", digits=2).to_markdown()
    decimals = set()
    for r in markdown_rows(md):
        for cell in r[1:]:
            m = re.search(r"\.(\d+)", cell)
            if m:
                decimals.add(len(m.group(1)))
    assert decimals == {2}  # estimates, t statistics, log-likelihood alike


def test_siunitx_columns(signed):
    tex = regression_table([signed]).to_latex(siunitx=True)
    assert "S[table-format" in tex
    line = next(s for s in tex.splitlines() if s.startswith("x &"))
    assert line.startswith(r"x & -4.000\sym{***}")  # bare number: siunitx sets the minus


def test_html_cells(signed):
    html = regression_table([signed]).to_html()
    assert f"<td>{MINUS}4.000<sup>***</sup></td>" in html


def test_docx_reads_back_like_the_markdown(tmp_path, signed):
    docx = pytest.importorskip("docx")
    t = regression_table([signed, signed], caption="Table 1")
    path = t.write(tmp_path / "t.docx")
    doc = docx.Document(str(path))
    assert doc.paragraphs[0].text == "Table 1"
    grid = doc.tables[0]
    cells = [[c.text for c in r.cells] for r in grid.rows]
    md_rows = [r for r in markdown_rows(t.to_markdown())]
    body = cells[len(t.header) :]
    assert [r[0] for r in body] == [r[0] for r in md_rows]
    for got, want in zip(body, md_rows, strict=True):
        assert got[1:] == want[1:]
    x = next(r for r in body if r[0] == "x")
    assert value(x[1]) == -4.0
    assert any("Standard errors" in p.text for p in doc.paragraphs)
