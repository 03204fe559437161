"""Regression and spatial-effects tables from fitted results.

Every number is read from the results objects' public fields (``params``, ``std_errors``,
``pvalues``, ``conf_int``, ``nobs``, ``fit_stats``, ``fixed_effects``, ``vcov_name``,
``info``) and formatted here; nothing is typed by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from spillover.errors import SpecificationError
from spillover.models._results import Results
from spillover.report._format import format_count, number, star_note, stars
from spillover.report._table import Cell, Row, Section, Table

Stat = Literal["std_error", "tstat", "pvalue", "conf_int", "none"]

SPATIAL_PARAMS = ("rho", "lambda")

FIT_LABELS: dict[str, str] = {
    "nobs": "Observations",
    "n_entities": "Entities",
    "n_periods": "Periods",
    "r2": "R-squared",
    "r2_within": "Within R-squared",
    "r2_between": "Between R-squared",
    "r2_overall": "Overall R-squared",
    "r2_pseudo": "Pseudo R-squared",
    "loglik": "Log-likelihood",
    "aic": "AIC",
    "bic": "BIC",
    "sigma2": "Sigma squared",
    "sigma2_mu": "Sigma squared (effects)",
    "sigma2_e": "Sigma squared (idiosyncratic)",
    "theta": "Theta (quasi-demeaning)",
    "phi": "Phi (quasi-demeaning)",
    "f_stat": "F statistic",
    "cragg_donald_f": "Cragg-Donald F",
    "kleibergen_paap_f": "Kleibergen-Paap F",
}

_STAT_NOTES = {
    "std_error": "Standard errors in parentheses.",
    "tstat": "t statistics in parentheses.",
    "pvalue": "p-values in parentheses.",
    "conf_int": "{level:.0%} confidence intervals in brackets.",
    "none": "",
}


def _as_named(
    results: Sequence[Results] | Mapping[str, Results],
) -> tuple[list[str], list[Results]]:
    if isinstance(results, Mapping):
        names, objs = list(results.keys()), list(results.values())
    else:
        objs = list(results)
        names = [r.model for r in objs]
    if not objs:
        raise SpecificationError("regression_table needs at least one results object.")
    for r in objs:
        if not isinstance(r, Results):
            raise SpecificationError(f"not a spillover Results object: {type(r).__name__}.")
    return names, objs


def _term_order(objs: list[Results], order, keep, drop) -> list[str]:
    terms: list[str] = []
    for r in objs:
        terms += [t for t in r.params.index if t not in terms]
    if keep is not None:
        terms = [t for t in terms if t in set(keep)]
    if drop is not None:
        terms = [t for t in terms if t not in set(drop)]
    if order is not None:
        first = [t for t in order if t in terms]
        terms = first + [t for t in terms if t not in first]
    else:
        terms = [t for t in terms if t not in SPATIAL_PARAMS] + [
            t for t in SPATIAL_PARAMS if t in terms
        ]
    return terms


def _coef_rows(term, label, objs, stat, thresholds, digits, level) -> list[Row]:
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
            below.append(Cell.of("(", number(r.tstats[term], 2), ")"))
        elif stat == "pvalue":
            below.append(Cell.of("(", number(p, digits), ")"))
        elif stat == "conf_int":
            lo, hi = r.conf_int(level).loc[term]
            below.append(Cell.of("[", number(lo, digits), ", ", number(hi, digits), "]"))
    rows = [Row(label, tuple(est))]
    if stat != "none":
        rows.append(Row("", tuple(below)))
    return rows


def _fit_value(r: Results, key: str, digits: int) -> Cell:
    if key in ("nobs", "n_entities", "n_periods"):
        value = getattr(r, key)
        return Cell(format_count(value) if value is not None else "")
    value = r.fit_stats.get(key)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return Cell()
    return Cell.of(number(value, digits))


def _fe_label(name: str) -> str:
    """``"year"`` -> "Year FE"; a random effect (``"state (random)"``) -> "State RE"."""
    text = str(name).replace(":", " x ").replace("_", " ")
    kind = "FE"
    if text.endswith(" (random)"):
        text, kind = text[: -len(" (random)")], "RE"
    return f"{text[:1].upper()}{text[1:]} {kind}"


def regression_table(
    results: Sequence[Results] | Mapping[str, Results],
    *,
    stat: Stat = "std_error",
    level: float = 0.95,
    stars_at: Sequence[float] = (0.1, 0.05, 0.01),
    digits: int = 3,
    rename: Mapping[str, str] | None = None,
    order: Sequence[str] | None = None,
    keep: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    dependent_names: Sequence[str] | Mapping[str, str] | None = None,
    column_groups: Sequence[tuple[str, int]] | None = None,
    show_model_names: bool = True,
    model_names: Sequence[str] | None = None,
    fit_stats: Sequence[str] = (
        "nobs",
        "n_entities",
        "n_periods",
        "r2",
        "r2_within",
        "loglik",
        "aic",
        "sigma2_mu",
        "sigma2_e",
        "theta",
        "phi",
    ),
    add_rows: Mapping[str, Sequence[Any]] | None = None,
    show_vcov: bool = True,
    caption: str | None = None,
    label: str | None = None,
    notes: Sequence[str] = (),
) -> Table:
    """One column per model: coefficients with a statistic beneath, effects, fit statistics.

    Parameters
    ----------
    results : sequence or mapping of Results
        Panel, IV or spatial results, in column order; a mapping's keys name the columns.
    stat : {"std_error", "tstat", "pvalue", "conf_int", "none"}
        What goes beneath each coefficient.
    stars_at : sequence of float
        p-value thresholds; one star per threshold the p-value is below. ``()`` for none.
        The p-values are each model's own (t or normal reference, see ``Results.pvalues``).
    rename : mapping
        Display labels for terms (and for fixed-effect or fit-statistic rows).
    order, keep, drop : sequences of term names
        Row order (unlisted terms follow), terms to keep, terms to drop. By default the
        spatial parameters ``rho``/``lambda`` go last, in a section of their own.
    groups : mapping of title -> terms
        Put terms into titled sections (e.g. ``{"Spillover pools": ["geo", "tech"]}``).
    dependent_names : sequence or mapping
        Header row of dependent variables (default: each results' ``dependent``).
    column_groups : sequence of (label, span)
        Extra header row spanning columns, e.g. ``[("OLS", 2), ("Spatial", 2)]``.
    model_names : sequence of str, optional
        Column titles, overriding the mapping keys or each results' ``model``; names may
        repeat (e.g. "Two-way FE" for three outcomes).
    fit_stats : sequence of str
        Rows from ``nobs``, ``n_entities``, ``n_periods`` and keys of ``fit_stats``;
        a row is omitted when no model has it. The default includes the variance
        components of random effects models (``sigma2_mu``, ``sigma2_e``, and the
        quasi-demeaning parameter ``theta`` or, for spatial random effects, ``phi``),
        printed as statistics, without stars.
    add_rows : mapping label -> values
        User rows appended at the bottom, one value per model.
    show_vcov : bool, default True
        Name each model's covariance estimator: in a row when the models differ, in the
        notes when they all use the same one. Spatial weights (``info["Weights"]``) and
        regression weights (``info["Regression weights"]``, "none" for unweighted models)
        are shown the same way.

    Returns
    -------
    Table
        Render with ``str()``, ``.to_latex()``, ``.to_markdown()``, ``.to_html()``, or
        ``.write(path)``.
    """
    names, objs = _as_named(results)
    if model_names is not None:
        if len(model_names) != len(objs):
            raise SpecificationError(f"{len(model_names)} model_names for {len(objs)} models.")
        names = list(model_names)
    rename = dict(rename or {})
    terms = _term_order(objs, order, keep, drop)
    k = len(objs)

    def rows_for(ts: Sequence[str]) -> tuple[Row, ...]:
        out: list[Row] = []
        for t in ts:
            out += _coef_rows(t, rename.get(t, t), objs, stat, stars_at, digits, level)
        return tuple(out)

    sections: list[Section] = []
    grouped = {t for ts in (groups or {}).values() for t in ts}
    plain = [t for t in terms if t not in grouped and t not in SPATIAL_PARAMS]
    if plain:
        sections.append(Section(rows_for(plain)))
    for title, ts in (groups or {}).items():
        present = [t for t in terms if t in set(ts)]
        if present:
            sections.append(Section(rows_for(present), title=title))
    spatial = [t for t in terms if t in SPATIAL_PARAMS and t not in grouped]
    if spatial:
        sections.append(Section(rows_for(spatial)))

    info_rows: list[Row] = []
    fe_names: list[str] = []
    for r in objs:
        fe_names += [f for f in r.fixed_effects if f not in fe_names]
    for fe in fe_names:
        cells = tuple(Cell("Yes" if fe in r.fixed_effects else "No") for r in objs)
        info_rows.append(Row(rename.get(fe, _fe_label(fe)), cells))
    shared_w = _info_row(objs, "Weights", "", info_rows)
    shared_rw = _info_row(objs, "Regression weights", "none", info_rows)
    vcov_names = {r.vcov_name for r in objs}
    if show_vcov and len(vcov_names) > 1:
        info_rows.append(Row("Covariance", tuple(Cell(r.vcov_name) for r in objs)))
    if info_rows:
        sections.append(Section(tuple(info_rows)))

    fit_rows = []
    for key in fit_stats:
        cells = tuple(_fit_value(r, key, digits) for r in objs)
        if any(c.text for c in cells):
            fit_rows.append(Row(rename.get(key, FIT_LABELS.get(key, key)), cells))
    for lab, values in (add_rows or {}).items():
        values = list(values)
        if len(values) != k:
            raise SpecificationError(f"add_rows[{lab!r}] has {len(values)} values for {k} models.")
        fit_rows.append(Row(lab, tuple(Cell(str(v)) for v in values)))
    if fit_rows:
        sections.append(Section(tuple(fit_rows)))

    header = _header(names, objs, dependent_names, column_groups, show_model_names)
    note_lines = [_STAT_NOTES[stat].format(level=level)] if stat != "none" else []
    if show_vcov and len(vcov_names) == 1:
        note_lines.append(f"Covariance: {vcov_names.pop()}.")
    if shared_w:
        note_lines.append(f"Spatial weights: {shared_w}.")
    if shared_rw and shared_rw != "none":
        note_lines.append(f"Regression weights: {shared_rw}.")
    if stars_at:
        note_lines.append(star_note(stars_at) + ".")
    text_notes = tuple(n for n in [" ".join(note_lines).strip(), *notes] if n)
    return Table(tuple(header), tuple(sections), text_notes, caption, label)


def _info_row(objs: Sequence[Any], key: str, default: str, rows: list[Row]) -> str | None:
    """``info[key]`` of each model: one value shared by all is returned (for the notes);
    differing values are appended to ``rows`` as a row (``default`` where a model has none).
    """
    values = [str(r.info.get(key, default)) for r in objs]
    if len(set(values)) == 1:
        return values[0] or None
    if any(v and v != default for v in values):
        rows.append(Row(key, tuple(Cell(v) for v in values)))
    return None


def _header(names, objs, dependent_names, column_groups, show_model_names):
    k = len(objs)
    header = []
    if column_groups:
        if sum(span for _, span in column_groups) != k:
            raise SpecificationError(f"column_groups spans must add up to {k} models.")
        header.append(tuple(column_groups))
    if isinstance(dependent_names, Mapping):
        deps = [dependent_names.get(r.dependent, r.dependent) for r in objs]
    elif dependent_names is not None:
        deps = list(dependent_names)
    else:
        deps = [r.dependent for r in objs]
    if any(deps):
        header.append(_spans(deps))
    if show_model_names and any(names):
        header.append(tuple((n, 1) for n in names))
    header.append(tuple((f"({i + 1})", 1) for i in range(k)))
    return header


def _spans(labels: Sequence[str]) -> tuple[tuple[str, int], ...]:
    """Merge runs of equal neighbouring labels into one spanning header cell."""
    out: list[list] = []
    for lab in labels:
        if out and out[-1][0] == lab:
            out[-1][1] += 1
        else:
            out.append([lab, 1])
    return tuple((lab, n) for lab, n in out)


EFFECT_NAMES = ("direct", "indirect", "total")


def _tidy_effects(frame: pd.DataFrame) -> pd.DataFrame:
    if {"variable", "effect"}.issubset(frame.columns):
        return frame.set_index(["variable", "effect"])
    if frame.index.nlevels == 2:
        return frame.rename_axis(["variable", "effect"])
    raise SpecificationError(
        "effects must be the DataFrame from results.impacts(): one row per (variable, effect)."
    )


def effects_table(
    effects: Mapping[str, pd.DataFrame],
    *,
    stat: Literal["std_error", "tstat", "none"] = "std_error",
    stars_at: Sequence[float] = (0.1, 0.05, 0.01),
    digits: int = 3,
    rename: Mapping[str, str] | None = None,
    caption: str | None = None,
    label: str | None = None,
    notes: Sequence[str] = (),
) -> Table:
    """Direct, indirect and total effects per variable, one column group per model.

    ``effects`` maps a model label to the tidy DataFrame returned by a spatial results'
    ``impacts()`` (rows (variable, effect); columns ``estimate``, ``std_error``,
    ``pvalue``). Stars use those p-values.
    """
    rename = dict(rename or {})
    tidy = {name: _tidy_effects(df) for name, df in effects.items()}
    variables: list[str] = []
    for df in tidy.values():
        variables += [v for v in df.index.get_level_values(0).unique() if v not in variables]
    rows: list[Row] = []
    for var in variables:
        est, below = [], []
        for df in tidy.values():
            for eff in EFFECT_NAMES:
                if (var, eff) not in df.index:
                    est.append(Cell())
                    below.append(Cell())
                    continue
                rec = df.loc[(var, eff)]
                est.append(
                    Cell.of(number(rec["estimate"], digits), sup=stars(rec["pvalue"], stars_at))
                )
                if stat == "std_error":
                    below.append(Cell.of("(", number(rec["std_error"], digits), ")"))
                elif stat == "tstat":
                    below.append(Cell.of("(", number(rec["estimate"] / rec["std_error"], 2), ")"))
        rows.append(Row(rename.get(var, var), tuple(est)))
        if stat != "none":
            rows.append(Row("", tuple(below)))
    header = (
        tuple((name, 3) for name in tidy),
        tuple((e.capitalize(), 1) for _ in tidy for e in EFFECT_NAMES),
    )
    note = [_STAT_NOTES[stat]] if stat != "none" else []
    if stars_at:
        note.append(star_note(stars_at) + ".")
    methods = {str(df.attrs.get("method", "")) for df in effects.values()} - {""}
    if methods:
        note.append("Effects' standard errors by " + ", ".join(sorted(methods)) + ".")
    text_notes = tuple(n for n in [" ".join(note).strip(), *notes] if n)
    return Table(header, (Section(tuple(rows)),), text_notes, caption, label)


def stack_panels(
    panels: Mapping[str, Table],
    *,
    caption: str | None = None,
    label: str | None = None,
    notes: Sequence[str] = (),
) -> Table:
    """Stack tables with the same columns as Panel A, Panel B, ... under one header.

    The first table's header is kept; each table's sections follow under its title.
    """
    tables = list(panels.values())
    if not tables:
        raise SpecificationError("stack_panels needs at least one table.")
    width = tables[0].n_columns
    sections: list[Section] = []
    for title, table in panels.items():
        if table.n_columns != width:
            raise SpecificationError(
                f"panel {title!r} has {table.n_columns} columns, the first has {width}."
            )
        first, *rest = table.sections
        sections.append(Section(first.rows, title=title))
        sections.extend(rest)
    merged_notes = tuple(dict.fromkeys(n for t in tables for n in t.notes)) + tuple(notes)
    return Table(tables[0].header, tuple(sections), merged_notes, caption, label)
