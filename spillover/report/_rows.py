"""Rows the regression and effects tables share: labels of the fit statistics, coefficient
cells, indicator rows for groups of dummies, fixed effects, and model facts (covariance,
weights) kept short in the table with the long text in a note.

Every row means one thing in every column: a statistic a model does not define is an
empty cell, never a different statistic under the same label.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spillover.errors import SpecificationError
from spillover.report._format import Latex, format_count, number, pvalue, stars
from spillover.report._table import Cell, Row

FIT_LABELS: dict[str, str] = {
    "nobs": "Observations",
    "n_entities": "Entities",
    "n_periods": "Periods",
    "n_clusters": "Clusters",
    "mean_y": "Mean of dep. var.",
    "r2": "R-squared",
    "r2_adj": "Adj. R-squared",
    "r2_within": "Within R-squared",
    "r2_between": "Between R-squared",
    "r2_overall": "Overall R-squared",
    "r2_quasi": "Quasi-demeaned R-squared",
    "r2_diff": "R-squared (differences)",
    "r2_pseudo": "Squared corr. (y, fitted)",
    "pseudo_r2": "Pseudo R-squared (McFadden)",
    "loglik": "Log-likelihood",
    "aic": "AIC",
    "bic": "BIC",
    "sigma2": "Residual variance",
    "sigma2_mu": "Var. random effect",
    "sigma2_e": "Var. idiosyncratic",
    "theta": "RE theta (mean)",
    "phi": "Spatial RE phi",
    "f_stat": "F statistic",
    "cragg_donald_f": "Cragg-Donald F",
    "kleibergen_paap_f": "Kleibergen-Paap F",
}
"""Row label of each fit statistic. What each is (``Results.fit_stats``):

``r2``: ``1 - SSR/TSS`` of the model as fitted, its fixed effects included (reghdfe's and
fixest's R2; linearmodels' ``rsquared_inclusive``); ``r2_adj``: ``1 - (1 - r2)(N - 1)/(N - K
- A)``, A the absorbed effect levels; ``r2_within``: R2 of the regression after the model's
own fixed effects are swept out (fixest's within R2; linearmodels' ``rsquared`` of PanelOLS);
``r2_between``/``r2_overall``: linearmodels' and Stata ``xtreg``'s, from the slope estimates;
``r2_quasi``: R2 of the quasi-demeaned random-effects regression (plm's R2);
``r2_diff``: R2 of the first-differenced regression; ``r2_pseudo``: squared correlation of y
and the fitted values (spatial ML models, as spreg's ``pr2``); ``pseudo_r2``: McFadden's
``1 - loglik/loglik_0`` (Poisson, against a constant mean).
"""

COUNTS = frozenset({"nobs", "n_entities", "n_periods", "n_clusters"})


def fit_label(key: str, rename: Mapping[str, str]) -> str:
    return rename.get(key, FIT_LABELS.get(key, key))


def fit_value(r: Any, key: str, digits: int) -> Cell:
    """The cell of fit statistic ``key`` (a count with separators, else ``number``)."""
    value = getattr(r, key, None) if key in ("nobs", "n_entities", "n_periods") else None
    if value is None:
        value = r.fit_stats.get(key)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return Cell()
    if key in COUNTS:
        return Cell(format_count(value))
    if key.endswith("_pvalue"):
        return Cell.of(*pvalue(value, digits))
    return Cell.of(number(value, digits))


def term_label(term: str, rename: Mapping[str, str]) -> str:
    """Display label of ``term``; a spatial lag ``W_x`` takes the label ``rename`` gives ``x``
    (``"W " + label``) unless ``rename`` names ``W_x`` itself."""
    if term in rename:
        return rename[term]
    if term.startswith("W_") and term[2:] in rename:
        base = rename[term[2:]]
        return Latex(r"$W\,$" + base) if isinstance(base, Latex) else f"W {base}"
    return term


def coef_rows(
    term: str, label: str, objs: Sequence[Any], stat: str, thresholds, digits: int, level: float
) -> list[Row]:
    """The estimate row (with stars) and the row of its statistic beneath."""
    est, below = [], []
    for r in objs:
        if term not in r.params.index:
            est.append(Cell())
            below.append(Cell())
            continue
        p = float(r.pvalues[term])
        est.append(Cell.of(number(r.params[term], digits), sup=stars(p, thresholds)))
        if stat == "std_error":
            below.append(Cell.of("(", number(r.std_errors[term], digits), ")"))
        elif stat == "tstat":
            below.append(Cell.of("(", number(r.tstats[term], digits), ")"))
        elif stat == "pvalue":
            below.append(Cell.of("(", *pvalue(p, digits), ")"))
        elif stat == "conf_int":
            lo, hi = r.conf_int(level).loc[term]
            below.append(Cell.of("[", number(lo, digits), ", ", number(hi, digits), "]"))
    rows = [Row(label, tuple(est))]
    if stat != "none":
        rows.append(Row("", tuple(below)))
    return rows


def indicated(
    terms: Sequence[str], indicate: Mapping[str, str | Sequence[str]] | None
) -> dict[str, list[str]]:
    """Terms each ``indicate`` entry collapses: label -> terms matching any of its regular
    expressions (``re.search``), e.g. ``{"Year dummies": r"^C\\(year\\)"}``."""
    out: dict[str, list[str]] = {}
    for lab, patterns in (indicate or {}).items():
        pats = [patterns] if isinstance(patterns, str) else list(patterns)
        try:
            compiled = [re.compile(p) for p in pats]
        except re.error as exc:
            raise SpecificationError(
                f"indicate[{lab!r}]: not a regular expression ({exc})."
            ) from exc
        out[lab] = [t for t in terms if any(c.search(t) for c in compiled)]
    return out


def indicator_rows(groups: Mapping[str, Sequence[str]], has: Sequence[set[str]]) -> list[Row]:
    """One Yes/No row per indicated group: Yes where the model has any of its terms."""
    return [
        Row(lab, tuple(Cell("Yes" if set(ts) & h else "No") for h in has))
        for lab, ts in groups.items()
    ]


def fe_label(name: str) -> str:
    """``"year"`` -> "Year FE"; a random effect (``"state (random)"``) -> "State RE"."""
    text = str(name).replace(":", " x ").replace("_", " ")
    kind = "FE"
    if text.endswith(" (random)"):
        text, kind = text[: -len(" (random)")], "RE"
    return f"{text[:1].upper()}{text[1:]} {kind}"


def fe_rows(objs: Sequence[Any], rename: Mapping[str, str]) -> list[Row]:
    names: list[str] = []
    for r in objs:
        names += [f for f in r.fixed_effects if f not in names]
    return [
        Row(
            rename.get(fe, fe_label(fe)),
            tuple(Cell("Yes" if fe in r.fixed_effects else "No") for r in objs),
        )
        for fe in names
    ]


COMPACT = 14
"""Longest fact (covariance, weights) written in a cell; longer ones become (a), (b) ..."""


def fact_row(label: str, values: Sequence[str], default: str) -> tuple[Row | None, str | None]:
    """A row of per-model facts (covariance estimator, weights) and the note it needs.

    One value shared by all models: no row, the note ``"label: value."``. Differing short
    values: a row of them. Differing values, one longer than :data:`COMPACT` characters:
    a row of letters and a note saying what each stands for, so long labels never widen
    the table.
    """
    if len(set(values)) == 1:
        return None, (f"{label}: {values[0]}." if values[0] else None)
    if not any(v and v != default for v in values):
        return None, None
    if max(len(v) for v in values) <= COMPACT:
        return Row(label, tuple(Cell(v) for v in values)), None
    keys: dict[str, str] = {}
    for v in values:
        if v not in keys:
            keys[v] = f"({string.ascii_lowercase[len(keys) % 26]})"
    row = Row(label, tuple(Cell(keys[v]) for v in values))
    note = f"{label}: " + "; ".join(f"{k} {v}" for v, k in keys.items()) + "."
    return row, note
