"""Descriptive statistics (computed here) and the tables that format them.

``panel_summary`` follows Stata's ``xtsum``: for each variable the overall, between
(entity means) and within (deviations from entity means plus the grand mean) standard
deviations, minima and maxima, with N, the number of entities n and the average T-bar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from spillover._validate import require_columns, require_numeric
from spillover.errors import SpecificationError
from spillover.panel import Panel
from spillover.report._format import format_count, format_number, number, pvalue, stars
from spillover.report._table import Cell, Row, Section, Table


def panel_summary(panel: Panel, columns: Sequence[str]) -> pd.DataFrame:
    """xtsum-style statistics, one row per (variable, part) with part in overall/between/within.

    Notes
    -----
    Missing values are skipped per variable (so N may differ by variable).
    ``between`` statistics are over entity means x̄_i of entities with at least one
    observation; ``within`` uses x_it - x̄_i + x̄ where x̄ is the grand mean of the
    observed values, as ``xtsum`` does. Standard deviations use the n - 1 denominator.
    Column ``n`` is N for overall, the number of entities for between, and the average
    number of periods per entity (T-bar) for within.
    """
    require_columns(panel.data, columns, "panel")
    require_numeric(panel.data, columns)
    records = []
    entity = panel.data.index.get_level_values(0)
    for col in columns:
        x = panel.data[col].astype(float)
        ok = x.notna().to_numpy()
        xv, ev = x.to_numpy()[ok], entity[ok]
        means = pd.Series(xv).groupby(ev).mean()
        within = xv - means.reindex(ev).to_numpy() + xv.mean()
        n_ent = len(means)
        for part, values, n in (
            ("overall", xv, len(xv)),
            ("between", means.to_numpy(), n_ent),
            ("within", within, len(xv) / n_ent if n_ent else np.nan),
        ):
            records.append(
                {
                    "variable": col,
                    "part": part,
                    "mean": xv.mean() if part != "between" else values.mean(),
                    "std": values.std(ddof=1) if len(values) > 1 else np.nan,
                    "min": values.min(),
                    "max": values.max(),
                    "n": n,
                }
            )
    return pd.DataFrame.from_records(records).set_index(["variable", "part"])


def summary_table(
    panel: Panel,
    columns: Sequence[str],
    *,
    decomposition: bool = True,
    labels: Mapping[str, str] | None = None,
    digits: int = 3,
    caption: str | None = None,
    label: str | None = None,
    notes: Sequence[str] = (),
) -> Table:
    """Summary statistics table: mean, sd, min, max, N (and between/within parts if asked)."""
    stats = panel_summary(panel, columns)
    labels = dict(labels or {})
    rows: list[Row] = []
    for col in columns:
        parts = ("overall", "between", "within") if decomposition else ("overall",)
        for part in parts:
            rec = stats.loc[(col, part)]
            name = labels.get(col, col) if part == "overall" else ""
            n_text = format_count(rec["n"]) if part != "within" else format_number(rec["n"], 1)
            mean = Cell.of(number(rec["mean"], digits)) if part == "overall" else Cell()
            cells = [mean] + [Cell.of(number(rec[k], digits)) for k in ("std", "min", "max")]
            cells.append(Cell(n_text))
            if decomposition:
                cells.insert(0, Cell(part))
            rows.append(Row(name, tuple(cells)))
    heads = (
        ["", "Mean", "SD", "Min", "Max", "N / n / T-bar"]
        if decomposition
        else ["Mean", "SD", "Min", "Max", "N"]
    )
    all_notes = list(notes)
    if decomposition:
        all_notes.insert(
            0,
            "Between: entity means; within: deviations from entity means plus the grand mean "
            "(as Stata's xtsum). N observations, n entities, T-bar average periods per entity.",
        )
    header = (tuple((h, 1) for h in heads),)
    return Table(header, (Section(tuple(rows)),), tuple(all_notes), caption, label, stub="Variable")


def correlation_table(
    panel: Panel,
    columns: Sequence[str],
    *,
    labels: Mapping[str, str] | None = None,
    digits: int = 2,
    caption: str | None = None,
    label: str | None = None,
) -> Table:
    """Lower-triangular Pearson correlation matrix over rows complete in ``columns``."""
    require_columns(panel.data, columns, "panel")
    require_numeric(panel.data, columns)
    frame = panel.data[list(columns)].dropna()
    corr = frame.corr().to_numpy()
    labels = dict(labels or {})
    names = [labels.get(c, c) for c in columns]
    rows = []
    for i, name in enumerate(names):
        cells = tuple(
            Cell.of(number(corr[i, j], digits)) if j <= i else Cell() for j in range(len(names))
        )
        rows.append(Row(f"({i + 1}) {name}", cells))
    header = (tuple((f"({i + 1})", 1) for i in range(len(names))),)
    note = (
        f"Pearson correlations over the {format_count(len(frame))} rows complete in all variables."
    )
    return Table(header, (Section(tuple(rows)),), (note,), caption, label)


def diagnostics_table(
    tests: Mapping[str, Any] | Sequence[Any],
    *,
    digits: int = 3,
    stars_at: Sequence[float] = (),
    caption: str | None = None,
    label: str | None = None,
    notes: Sequence[str] = (),
) -> Table:
    """Statistic, degrees of freedom and p-value of specification tests, one row each.

    Each test needs ``statistic`` and ``pvalue`` attributes, and optionally ``df`` and
    ``name`` (used as the row label when ``tests`` is a sequence). p-values print with
    ``digits`` decimals, below ``10**-digits`` as ``< 0.001``. A test's ``note`` (e.g. the
    Hausman covariance difference is not positive definite) goes into the table notes, and
    so does a negative statistic, whose p-value tests nothing.
    """
    items = (
        tests.items()
        if isinstance(tests, Mapping)
        else [(getattr(t, "name", str(t)), t) for t in tests]
    )
    rows, flags = [], []
    for name, test in items:
        missing = [a for a in ("statistic", "pvalue") if not hasattr(test, a)]
        if missing:
            raise SpecificationError(f"test {name!r} has no {', '.join(missing)} attribute.")
        df = getattr(test, "df", None)
        df_text = _df_text(df)
        p = float(test.pvalue)
        rows.append(
            Row(
                str(name),
                (
                    Cell.of(number(test.statistic, digits), sup=stars(p, stars_at)),
                    Cell(df_text),
                    Cell.of(*pvalue(p, digits)),
                ),
            )
        )
        flags += _flags(str(name), test)
    header = ((("Statistic", 1), ("df", 1), ("p-value", 1)),)
    all_notes = (*flags, *notes)
    return Table(header, (Section(tuple(rows)),), all_notes, caption, label, stub="Test")


def _flags(name: str, test: Any) -> list[str]:
    """Notes a test carries (``note``: e.g. a covariance difference that is not positive
    definite), and a warning for a negative statistic of a test that should be positive."""
    out = []
    note = getattr(test, "note", "")
    if isinstance(note, str) and note:
        out.append(f"{name}: {note}")
    elif float(test.statistic) < 0:
        out.append(
            f"{name}: the statistic is negative, so its p-value does not test the null "
            "(the estimated covariance difference is not positive definite)."
        )
    return out


def _df_text(df: Any) -> str:
    """Degrees of freedom: '' if none, '3' for integers, '3, 812' for F-type pairs."""
    if df is None:
        return ""
    values = np.ravel(np.asarray(df, dtype=float))
    return ", ".join(format_count(v) if v.is_integer() else format_number(v, 1) for v in values)
