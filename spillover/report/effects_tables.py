"""Direct, indirect and total effects of spatial models, and tables stacked as panels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd

from spillover.errors import SpecificationError
from spillover.report._format import number, star_note, stars
from spillover.report._rows import (
    fact_row,
    fe_rows,
    fit_label,
    fit_value,
    indicated,
    indicator_rows,
    term_label,
)
from spillover.report._table import Cell, Row, Section, Table

EFFECT_NAMES = ("direct", "indirect", "total")

_STAT_NOTES = {
    "std_error": "Standard errors in parentheses.",
    "tstat": "z statistics in parentheses.",
    "none": "",
}


def _tidy_effects(frame: pd.DataFrame) -> pd.DataFrame:
    if {"variable", "effect"}.issubset(frame.columns):
        return frame.set_index(["variable", "effect"])
    if frame.index.nlevels == 2:
        return frame.rename_axis(["variable", "effect"])
    raise SpecificationError(
        "effects must be the DataFrame from results.impacts(): one row per (variable, effect)."
    )


def _effect_cells(df, var, stat, stars_at, digits) -> tuple[list[Cell], list[Cell]]:
    est, below = [], []
    for eff in EFFECT_NAMES:
        if (var, eff) not in df.index:
            est.append(Cell())
            below.append(Cell())
            continue
        rec = df.loc[(var, eff)]
        est.append(Cell.of(number(rec["estimate"], digits), sup=stars(rec["pvalue"], stars_at)))
        if stat == "std_error":
            below.append(Cell.of("(", number(rec["std_error"], digits), ")"))
        elif stat == "tstat":
            below.append(Cell.of("(", number(rec["estimate"] / rec["std_error"], digits), ")"))
    return est, below


def effects_table(
    effects: Mapping[str, pd.DataFrame],
    *,
    results: Mapping[str, Any] | None = None,
    stat: Literal["std_error", "tstat", "none"] = "std_error",
    stars_at: Sequence[float] = (0.1, 0.05, 0.01),
    digits: int = 3,
    rename: Mapping[str, str] | None = None,
    indicate: Mapping[str, str | Sequence[str]] | None = None,
    caption: str | None = None,
    label: str | None = None,
    notes: Sequence[str] = (),
) -> Table:
    """Direct, indirect and total effects per variable, one column group per model.

    ``effects`` maps a model label to the tidy DataFrame returned by a spatial results'
    ``impacts()`` (rows (variable, effect); columns ``estimate``, ``std_error``,
    ``pvalue``). Stars use those p-values.

    Parameters
    ----------
    results : mapping of label -> results, optional
        The fitted models, under the same labels: adds rows of observations, fixed
        effects and (when they differ) spatial weights, a weights note when they agree.
    rename : mapping
        Display labels of variables (and of fixed effects); ``W_x`` follows ``x``.
    indicate : mapping of label -> regular expression(s)
        Collapse the variables matching each into one Yes/No row (e.g. year dummies).
    """
    rename = dict(rename or {})
    tidy = {name: _tidy_effects(df) for name, df in effects.items()}
    variables: list[str] = []
    for df in tidy.values():
        variables += [v for v in df.index.get_level_values(0).unique() if v not in variables]
    collapsed = indicated(variables, indicate)
    hidden = {v for vs in collapsed.values() for v in vs}
    rows: list[Row] = []
    for var in (v for v in variables if v not in hidden):
        est, below = [], []
        for df in tidy.values():
            e, b = _effect_cells(df, var, stat, stars_at, digits)
            est += e
            below += b
        rows.append(Row(term_label(var, rename), tuple(est)))
        if stat != "none":
            rows.append(Row("", tuple(below)))
    sections = [Section(tuple(rows))]
    # facts are per model; each spans its three effect columns, written in the first
    has = [set(df.index.get_level_values(0)) for df in tidy.values()]
    extra = [_spread(r) for r in indicator_rows(collapsed, has)]
    note = [_STAT_NOTES[stat]] if stat != "none" else []
    if results is not None:
        extra += _model_rows(results, list(tidy), rename)
        weights = [str(results[n].info.get("Weights", "")) for n in tidy]
        row, wnote = fact_row("Spatial weights", weights, "")
        extra += [_spread(row)] if row is not None else []
        note += [wnote] if wnote else []
    if extra:
        sections.append(Section(tuple(extra)))
    header = (
        tuple((name, 3) for name in tidy),
        tuple((e.capitalize(), 1) for _ in tidy for e in EFFECT_NAMES),
    )
    if stars_at:
        note.append(star_note(stars_at) + ".")
    methods = {str(df.attrs.get("method", "")) for df in effects.values()} - {""}
    if methods:
        note.append("Effects' standard errors by " + ", ".join(sorted(methods)) + ".")
    text_notes = tuple(n for n in [" ".join(note).strip(), *notes] if n)
    return Table(header, tuple(sections), text_notes, caption, label)


def _model_rows(results: Mapping[str, Any], names: list[str], rename) -> list[Row]:
    missing = [n for n in names if n not in results]
    if missing:
        raise SpecificationError(
            f"results has no model for {missing}; give one per key of effects ({names})."
        )
    objs = [results[n] for n in names]
    rows = [Row(fit_label("nobs", rename), tuple(fit_value(r, "nobs", 0) for r in objs))]
    rows += fe_rows(objs, rename)
    return [_spread(r) for r in rows]


def _spread(row: Row) -> Row:
    """A per-model row in the effects layout: the value under Direct, the others blank."""
    cells: list[Cell] = []
    for c in row.cells:
        cells += [c, Cell(), Cell()]
    return Row(row.label, tuple(cells))


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
