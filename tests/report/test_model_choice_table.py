"""model_choice_table: every cell read back equals the comparison's number, and the LaTeX
compiles inside a 6.5 in text block (pdflatex; skipped without it)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from spillover import weights
from spillover.diagnostics import compare_models
from spillover.errors import SpecificationError
from spillover.report import model_choice_table
from spillover.simulate import spatial_panel
from tests.report._parse import below, markdown_rows, row, value
from tests.report.test_latex_layout import _bad_boxes, needs_pdflatex

FAMILIES = ("slx", "sar", "sem", "sdm", "sdem", "sac")


@pytest.fixture(scope="module")
def comparison():
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 6, (36, 2))
    common = {"metric": "euclidean", "ids": np.arange(36)}
    ws = {
        "knn5": weights.knn(xy, 5, **common).row_standardize(),
        "knn10": weights.knn(xy, 10, **common).row_standardize(),
        "distance": weights.inverse_distance(
            xy, power=1.0, cutoff=2.5, unit="crs", **common
        ).row_standardize(),
    }
    sim = spatial_panel(
        ws["knn5"], 4, model="sdm", rho=0.4, beta=[1.0, -0.5], theta=[0.5, 0.3], seed=9
    )
    return compare_models("y ~ x1 + x2", sim.panel, weights=ws, families=FAMILIES)


def test_cells_are_the_comparisons_numbers(comparison):
    md = model_choice_table(comparison).to_markdown()
    t = comparison.table
    rows = markdown_rows(md)
    titles = [r[0] for r in rows if r[0].startswith("**W:")]
    assert titles == ["**W: knn5**", "**W: knn10**", "**W: distance**"]
    for i, w in enumerate(["knn5", "knn10", "distance"]):
        for fam in FAMILIES:
            cells = row(md, fam.upper(), nth=i)
            rec = t.loc[(w, fam)]
            prob = cells[0]
            if prob.startswith("<"):
                assert rec["probability"] < 0.001
            else:
                assert value(prob) == pytest.approx(rec["probability"], abs=5e-4)
            got = [value(c) for c in cells[1:]]
            want = rec[["log_marginal", "loglik", "n_params", "aic", "bic"]].to_numpy(float)
            np.testing.assert_allclose(got, want, atol=5e-3)  # printed to 2 decimals
    lr = comparison.lr_tests
    assert len(lr) == 3 * 7
    assert row(md, "")[:3] == ["knn5", "knn10", "distance"]  # the W of the LR columns
    for (model, restricted), part in lr.groupby(["model", "restricted"]):
        label = next(
            r[0] for r in rows if r[0].startswith(f"{model.upper()} vs. {restricted.upper()}")
        )
        assert label.endswith(f"df = {part['df'].iloc[0]}")
        stats_cells, p_cells = row(md, label), below(md, label)
        for j, rec in enumerate(
            part.set_index("weights").loc[["knn5", "knn10", "distance"]].itertuples()
        ):
            assert value(stats_cells[j]) == pytest.approx(rec.statistic, abs=5e-3)
            if "<" in p_cells[j]:
                assert rec.pvalue < 0.001
            else:
                assert value(p_cells[j]) == pytest.approx(rec.pvalue, abs=5e-4)
    assert "SDM vs. SEM (CF), df = 2" in md


def test_many_weights_put_one_test_per_row(comparison):
    # seven W: more than the six columns, so the LR panel lists (W, pair) rows
    many = comparison.__class__(
        **{
            **comparison.__dict__,
            "lr_tests": pd.concat(
                [comparison.lr_tests.assign(weights=f"w{i}") for i in range(7)], ignore_index=True
            ),
        }
    )
    md = model_choice_table(many).to_markdown()
    cells = row(md, "w6: SDM vs. SEM (CF)")
    assert cells[1] == "2" and len(markdown_rows(md)) > 7 * 7


def test_notes_name_the_best_candidate_and_conventions(comparison):
    table = model_choice_table(comparison, rename={"knn5": "5 nearest"})
    w, fam = comparison.best
    shown = {"knn5": "5 nearest"}.get(w, w)
    assert any(f"{fam.upper()} with W = {shown}" in n for n in table.notes)
    assert any("fixed effects not counted" in n for n in table.notes)
    assert any("common-factor" in n for n in table.notes)
    assert table.sections[0].title == "W: 5 nearest"
    bare = model_choice_table(comparison, lr_tests=False)
    assert len(bare.sections) == 3 and not any("LR =" in n for n in bare.notes)


@needs_pdflatex
def test_latex_compiles_and_fits_the_text_block(comparison, tmp_path):
    tex = model_choice_table(comparison, caption="Which W, which model", label="tab:w")
    assert _bad_boxes(tmp_path, tex.to_latex()) == []


def test_other_formats_write(comparison, tmp_path):
    table = model_choice_table(comparison)
    for suffix in (".html", ".md", ".txt"):
        assert table.write(tmp_path / f"t{suffix}").stat().st_size > 1000
    if importlib.util.find_spec("docx") is not None:
        assert table.write(tmp_path / "t.docx").stat().st_size > 1000


def test_not_a_comparison_is_refused(comparison):
    with pytest.raises(SpecificationError, match="ModelComparison"):
        model_choice_table(comparison.table)
