import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spillover.report import tables
from spillover.report._format import escape_latex, format_number, stars

GOLDEN = Path(__file__).parent / "golden"


def test_stars_thresholds():
    assert stars(0.0455, (0.1, 0.05, 0.01)) == "**"
    assert stars(0.134, (0.1, 0.05, 0.01)) == ""
    assert stars(0.009, (0.1, 0.05, 0.01)) == "***"
    assert stars(0.04, (0.05,)) == "*"
    assert stars(np.nan, (0.1,)) == ""


def test_escape_latex_specials():
    assert escape_latex("R&D_stock 50% $ #1 {a} ~^\\") == (
        r"R\&D\_stock 50\% \$ \#1 \{a\} \textasciitilde{}\textasciicircum{}\textbackslash{}"
    )


def test_numbers_come_from_results(two_models):
    a, b = two_models
    t = tables.regression_table([a, b])
    text = str(t)
    # every coefficient, SE and star is the results' own, formatted to 3 decimals
    for res in (a, b):
        for term in res.params.index:
            coef = format_number(res.params[term], 3) + stars(res.pvalues[term], (0.1, 0.05, 0.01))
            assert coef in text
            assert f"({format_number(res.std_errors[term], 3)})" in text
    assert "0.200**" in text and "0.150 " in text + " " and "0.180*" in text and "0.500***" in text
    assert "1,234" in text and "\u2212123.457" in text and "queen, row" in text


def test_spatial_params_last_and_fe_rows(two_models):
    t = tables.regression_table(list(two_models))
    labels = [r.label for s in t.sections for r in s.rows if r.label]
    assert labels.index("rho") > labels.index("z")
    fe = {r.label: [c.text for c in r.cells] for s in t.sections for r in s.rows}
    assert fe["Firm FE"] == ["No", "Yes"] and fe["Year FE"] == ["No", "Yes"]


def test_rename_drop_order_groups(two_models):
    t = tables.regression_table(
        list(two_models), rename={"x_1": "Spillover"}, drop=["z"], groups={"Pools": ["x_1"]}
    )
    text = str(t)
    assert "Spillover" in text and "\nz " not in text and "Pools" in text


def test_stat_variants(two_models):
    a, _ = two_models
    ci = a.conf_int(0.9).loc["x_1"]
    t = tables.regression_table([a], stat="conf_int", level=0.9)
    assert f"[{format_number(ci.lower, 3)}, {format_number(ci.upper, 3)}]" in str(t)
    assert "90% confidence intervals" in str(t)
    t = tables.regression_table([a], stat="tstat")
    assert "(2.000)" in str(t)  # one precision rule: t statistics get digits decimals too


def test_add_rows_length_checked(two_models):
    with pytest.raises(ValueError, match="2 models"):
        tables.regression_table(list(two_models), add_rows={"Sample": ["all"]})


def test_golden_latex_and_markdown(two_models):
    t = tables.regression_table(
        {"OLS": two_models[0], "SAR": two_models[1]}, caption="Spillovers & jobs", label="tab:r"
    )
    for name, text in (("regression.tex", t.to_latex()), ("regression.md", t.to_markdown())):
        path = GOLDEN / name
        if not path.exists():  # first run writes the file for review; committed thereafter
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
        assert text == path.read_text(), f"{name} changed; inspect and update the golden file"


def test_output_is_deterministic(tmp_path, two_models):
    t = tables.regression_table(list(two_models))
    t.write(tmp_path / "a.tex")
    tables.regression_table(list(two_models)).write(tmp_path / "b.tex")
    assert (tmp_path / "a.tex").read_bytes() == (tmp_path / "b.tex").read_bytes()
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_write_failure_leaves_no_partial_file(tmp_path, two_models):
    t = tables.regression_table(list(two_models))
    with pytest.raises(ValueError, match="unknown table format"):
        t.write(tmp_path / "x.xlsx")
    assert not list(tmp_path.iterdir())


def _effects_frame(scale):
    rows = []
    for var in ("x_1", "x2"):
        for k, eff in enumerate(("direct", "indirect", "total")):
            rows.append(
                {
                    "variable": var,
                    "effect": eff,
                    "estimate": scale * (k + 1),
                    "std_error": 0.1,
                    "pvalue": 0.2 / (k + 1),
                }
            )
    return pd.DataFrame(rows)


def test_effects_table_values():
    t = tables.effects_table({"SDM": _effects_frame(0.1), "SAR": _effects_frame(0.2)})
    assert t.n_columns == 6
    cells = [c.plain() for c in t.sections[0].rows[0].cells]
    # SDM: 0.1 (p .2), 0.2 (p .1: not < .1), 0.3 (p .0667, *); SAR: 0.2, 0.4, 0.6*
    assert cells == ["0.100", "0.200", "0.300*", "0.200", "0.400", "0.600*"]


def test_stack_panels(two_models):
    a, b = two_models
    pa = tables.regression_table([a, b])
    pb = tables.regression_table([b, a])
    t = tables.stack_panels({"Panel A: firms": pa, "Panel B: regions": pb})
    titles = [s.title for s in t.sections if s.title]
    assert titles == ["Panel A: firms", "Panel B: regions"]


def _compile(tmp_path, body):
    doc = (
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage{threeparttable}\n"
        "\\usepackage{siunitx}\n\\begin{document}\n" + body + "\\end{document}\n"
    )
    (tmp_path / "doc.tex").write_text(doc)
    return subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_every_table_type_compiles(tmp_path, two_models):
    from spillover.report import describe
    from tests.report.test_describe import small_panel

    p = small_panel()
    parts = [
        tables.regression_table(list(two_models), caption="R&D_pool 100%").to_latex(),
        tables.regression_table(list(two_models)).to_latex(siunitx=True),
        tables.regression_table(list(two_models)).to_latex(threeparttable=False),
        tables.effects_table({"SDM": _effects_frame(0.1)}).to_latex(),
        describe.summary_table(p, ["x", "y"]).to_latex(),
        describe.correlation_table(p, ["x", "y"]).to_latex(),
    ]
    out = _compile(tmp_path, "\n".join(parts))
    assert out.returncode == 0, out.stdout[-3000:]
    assert re.search(r"Output written on doc\.pdf", out.stdout)


def test_model_names_may_repeat(two_models):
    a, b = two_models
    t = tables.regression_table([a, b], model_names=["Two-way FE", "Two-way FE"])
    assert str(t).count("Two-way FE") == 2
    with pytest.raises(ValueError, match="1 model_names for 2 models"):
        tables.regression_table([a, b], model_names=["x"])


def test_covariance_row_only_when_models_differ(two_models):
    import dataclasses

    a, b = two_models
    same = str(tables.regression_table([a, b]))
    assert "Covariance: robust (HC1)." in same and "\nCovariance " not in same
    mixed = str(tables.regression_table([a, dataclasses.replace(b, vcov_name="ML")]))
    row = next(line for line in mixed.splitlines() if line.startswith("Covariance"))
    assert "robust (HC1)" in row and "ML" in row


def test_equal_dependents_share_a_spanning_header(two_models):
    latex = tables.regression_table(list(two_models)).to_latex()
    assert r"\multicolumn{2}{c}{log\_emp}" in latex and r"\cmidrule(lr){2-3}" in latex


def test_shared_weights_go_to_the_notes(two_models):
    import dataclasses

    _, b = two_models
    text = str(tables.regression_table([b, dataclasses.replace(b, model="SEM")]))
    assert "Spatial weights: queen, row." in text
    assert not any(line.startswith("Weights") for line in text.splitlines())
