"""US states public capital and output (Munnell 1990): panel and spatial panel models.

The textbook example of Baltagi (Econometric Analysis of Panel Data) and of splm:
log gross state product on log public capital, log private capital, log employment and
the unemployment rate, 48 states x 1970-1986. Writes

* ``panel.tex``: pooled, entity FE, two-way FE and random effects, state-clustered SEs;
* ``diagnostics.tex``: Hausman, F test of the effects, Pesaran CD, Wooldridge serial
  correlation, and the LM tests for spatial lag/error dependence on two-way FE residuals;
* ``spatial.tex``: SAR, SEM, SDM and SDEM with two-way effects and queen contiguity;
* ``effects.tex``: direct, indirect and total effects of the SAR and SDM;
* figures: effects of the SDM, and a LISA cluster map of output per worker in 1986;
* ``tables.pdf``: every table compiled in one document, when pdflatex is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from analyses._common import ALBERS, per_worker, run_cli
from spillover import datasets, measures, weights
from spillover.diagnostics.spatial import lm_tests
from spillover.diagnostics.specification import (
    fixed_effects_f_test,
    hausman,
    pesaran_cd,
    wooldridge_serial,
)
from spillover.inference import Cluster
from spillover.models import FixedEffects, Pooled, RandomEffects
from spillover.models.spatial import SpatialDurbin, SpatialDurbinError, SpatialError, SpatialLag
from spillover.report import diagnostics_table, effects_table, regression_table, write_atomic
from spillover.report.figures import effects_plot, lisa_map, save_figure

FORMULA = "log_gsp ~ log_pcap + log_pc + log_emp + unemp"
REGRESSORS = ["log_pcap", "log_pc", "log_emp", "unemp"]
NAMES = {
    "log_pcap": "log public capital",
    "log_pc": "log private capital",
    "log_emp": "log employment",
    "unemp": "unemployment rate",
}
LABELS = {
    **NAMES,
    **{f"W_{x}": f"W x {name}" for x, name in NAMES.items()},
    "log_gsp": "log GSP",
    "Intercept": "constant",
    "rho": "rho (W log GSP)",
    "lambda": "lambda (W error)",
}
SEED = 20261125


FIGURE: str | None = "effects_sdm.png"
"""The figure the README shows (``make readme-images`` copies it to docs/images/)."""


def _panel_models(panel) -> dict:
    cl = Cluster("state")
    return {
        "Pooled": Pooled(FORMULA, panel).fit(vcov=cl),
        "Entity FE": FixedEffects(FORMULA, panel, effects="entity").fit(vcov=cl),
        "Two-way FE": FixedEffects(FORMULA, panel, effects="twoway").fit(vcov=cl),
        "Random effects": RandomEffects(FORMULA, panel).fit(vcov=cl),
    }


def _twoway_demeaned(panel, columns: list[str]) -> pd.DataFrame:
    data = panel.data[columns]
    ent = data.groupby(level=0).transform("mean")
    per = data.groupby(level=1).transform("mean")
    return data - ent - per + data.mean()


def _diagnostics(panel, w) -> dict:
    fe = FixedEffects(FORMULA, panel, effects="entity").fit(vcov="unadjusted")
    re = RandomEffects(FORMULA, panel).fit(vcov="unadjusted")
    pooled = Pooled(FORMULA, panel).fit(vcov="unadjusted")
    dm = _twoway_demeaned(panel, ["log_gsp", *REGRESSORS])
    lm = lm_tests(dm["log_gsp"], dm[REGRESSORS], w)
    tests = {
        "Hausman, FE vs RE": hausman(fe, re),
        "F test of entity effects": fixed_effects_f_test(fe, pooled),
        "Pesaran CD (entity FE residuals)": pesaran_cd(fe),
        "Wooldridge serial correlation": wooldridge_serial(
            panel["log_gsp"], panel.data[REGRESSORS]
        ),
    }
    for attr, name in (
        ("lag", "LM lag"),
        ("error", "LM error"),
        ("robust_lag", "Robust LM lag"),
        ("robust_error", "Robust LM error"),
    ):
        tests[f"{name} (two-way FE residuals)"] = getattr(lm, attr)
    return tests


def _spatial_models(panel, w) -> dict:
    kw = {"w": w, "effects": "twoway"}
    return {
        "SAR": SpatialLag(FORMULA, panel, **kw).fit(),
        "SEM": SpatialError(FORMULA, panel, **kw).fit(),
        "SDM": SpatialDurbin(FORMULA, panel, **kw).fit(),
        "SDEM": SpatialDurbinError(FORMULA, panel, **kw).fit(),
    }


def _compile(tables: list[Path], output: Path) -> list[Path]:
    """Compile every table in one article; nothing is written if pdflatex fails."""
    if shutil.which("pdflatex") is None:
        return []
    body = "\n".join(rf"\input{{{p.name}}}" for p in tables)
    doc = (
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage{threeparttable}\n"
        "\\usepackage[margin=2cm]{geometry}\n\\begin{document}\n" + body + "\n\\end{document}\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for p in tables:
            shutil.copy(p, tmp)
        (Path(tmp) / "tables.tex").write_text(doc)
        for _ in range(2):
            run = subprocess.run(
                ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "tables.tex"],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if run.returncode:
                raise RuntimeError(f"pdflatex failed on the tables:\n{run.stdout[-2000:]}")
        return [write_atomic(output / "tables.pdf", (Path(tmp) / "tables.pdf").read_bytes())]


def main(output: Path) -> list[Path]:
    panel = datasets.us_states()
    w = weights.queen(panel).row_standardize()
    panel_res = _panel_models(panel)
    spatial = _spatial_models(panel, w)
    effects = {name: spatial[name].impacts(seed=SEED, draws=2000) for name in ("SAR", "SDM")}
    tables = [
        regression_table(
            panel_res,
            rename=LABELS,
            dependent_names=LABELS,
            caption="Public capital and output: panel estimators",
            label="tab:us-panel",
            notes=["Munnell (1990) data, 48 states, 1970-1986."],
        ).write(output / "panel.tex"),
        diagnostics_table(
            _diagnostics(panel, w),
            caption="Specification tests",
            label="tab:us-diagnostics",
            notes=["Spatial LM tests use queen contiguity, row-standardised."],
        ).write(output / "diagnostics.tex"),
        regression_table(
            spatial,
            rename=LABELS,
            dependent_names=LABELS,
            fit_stats=("nobs", "r2_pseudo", "loglik", "aic"),
            caption="Public capital and output: spatial panel models",
            label="tab:us-spatial",
            notes=["Two-way fixed effects, Lee-Yu bias correction, ML standard errors."],
        ).write(output / "spatial.tex"),
        effects_table(
            effects,
            results={name: spatial[name] for name in effects},
            rename=LABELS,
            caption="Direct, indirect and total effects",
            label="tab:us-effects",
            notes=[f"Standard errors from 2,000 draws of the estimates (seed {SEED})."],
        ).write(output / "effects.tex"),
    ]
    written = list(tables)
    written += save_figure(
        effects_plot(effects["SDM"], labels=LABELS, title="SDM effects, two-way FE"),
        output / "effects_sdm",
    )
    clusters = measures.lisa(per_worker(panel, "gsp"), "gsp_per_worker", w, period=1986, seed=SEED)
    written += save_figure(
        lisa_map(
            panel,
            clusters["cluster"],
            title="Output per worker 1986: local Moran clusters",
            to_crs=ALBERS,
        ),
        output / "lisa_gsp_per_worker_1986",
    )
    written += _compile(tables, output)
    return written


if __name__ == "__main__":
    run_cli(main, __file__)
