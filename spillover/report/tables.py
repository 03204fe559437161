"""Regression tables from fitted results: spillover's, linearmodels', statsmodels', pyfixest's.

Every number is read from the results objects' public fields (``params``, ``std_errors``,
``pvalues``, ``conf_int``, ``nobs``, ``fit_stats``, ``fixed_effects``, ``vcov_name``,
``info``) and formatted here; nothing is typed by hand. Other packages' results pass
through :func:`spillover.report.as_results` first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from spillover.errors import SpecificationError
from spillover.models._results import Results
from spillover.report._adapt import PeerResults, as_results
from spillover.report._format import star_note
from spillover.report._rows import (
    FIT_LABELS,
    coef_rows,
    fact_row,
    fe_rows,
    fit_label,
    fit_value,
    indicated,
    indicator_rows,
    term_label,
)
from spillover.report._table import Cell, Row, Section, Table
from spillover.report.effects_tables import effects_table, stack_panels

Stat = Literal["std_error", "tstat", "pvalue", "conf_int", "none"]

SPATIAL_PARAMS = ("rho", "lambda")

DEFAULT_FIT = (
    "nobs",
    "n_entities",
    "n_periods",
    "n_clusters",
    "mean_y",
    "r2",
    "r2_adj",
    "r2_within",
    "r2_between",
    "r2_overall",
    "r2_quasi",
    "r2_diff",
    "r2_pseudo",
    "pseudo_r2",
    "loglik",
    "aic",
    "bic",
    "sigma2_mu",
    "sigma2_e",
    "theta",
    "phi",
)

STAT_NOTES = {
    "std_error": "Standard errors in parentheses.",
    "tstat": "t statistics in parentheses.",
    "pvalue": "p-values in parentheses.",
    "conf_int": "{level:.0%} confidence intervals in brackets.",
    "none": "",
}


def _as_named(results: Any) -> tuple[list[str], list[Results]]:
    if isinstance(results, Mapping):
        names, objs = list(results.keys()), [as_results(r) for r in results.values()]
    else:
        objs = [as_results(r) for r in results]
        names = [r.model for r in objs]
    if not objs:
        raise SpecificationError("regression_table needs at least one results object.")
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
        return first + [t for t in terms if t not in first]
    return [t for t in terms if t not in SPATIAL_PARAMS] + [t for t in SPATIAL_PARAMS if t in terms]


def _absorbs_intercept(r: Results) -> bool:
    """Whether fixed (not random) effects absorb the model's intercept."""
    return any(not f.endswith("(random)") for f in r.fixed_effects)


def _hide_intercepts(objs: list[Results], intercept: bool | None) -> list[Results]:
    """Drop "Intercept" from models whose fixed effects absorb it (``intercept=None``), from
    all (False) or none (True); a copy of each results, the originals untouched."""
    if intercept is True:
        return objs
    out = []
    for r in objs:
        if "Intercept" in r.params.index and (intercept is False or _absorbs_intercept(r)):
            keep = [t for t in r.params.index if t != "Intercept"]
            r = _subset(r, keep)
        out.append(r)
    return out


def _subset(r: Results, keep: list[str]) -> Results:
    extra = {"peer_pvalues": r.peer_pvalues[keep]} if isinstance(r, PeerResults) else {}
    return replace(r, params=r.params[keep], vcov=r.vcov.loc[keep, keep], **extra)


def regression_table(
    results: Sequence[Any] | Mapping[str, Any],
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
    indicate: Mapping[str, str | Sequence[str]] | None = None,
    intercept: bool | None = None,
    dependent_names: Sequence[str] | Mapping[str, str] | None = None,
    column_groups: Sequence[tuple[str, int]] | None = None,
    show_model_names: bool = True,
    model_names: Sequence[str] | None = None,
    fit_stats: Sequence[str] = DEFAULT_FIT,
    add_rows: Mapping[str, Sequence[Any]] | None = None,
    show_vcov: bool = True,
    caption: str | None = None,
    label: str | None = None,
    notes: Sequence[str] = (),
) -> Table:
    """One column per model: coefficients with a statistic beneath, effects, fit statistics.

    Parameters
    ----------
    results : sequence or mapping of results
        spillover results, or linearmodels, statsmodels or pyfixest results (converted by
        :func:`~spillover.report.as_results`), in column order; a mapping's keys name the
        columns.
    stat : {"std_error", "tstat", "pvalue", "conf_int", "none"}
        What goes beneath each coefficient. p-values print as ``< 0.001`` below
        ``10**-digits``.
    stars_at : sequence of float
        p-value thresholds; one star per threshold the p-value is below. ``()`` for none.
        The p-values are each model's own (t or normal reference, see ``Results.pvalues``).
    digits : int, default 3
        Decimals of every estimate, statistic and fit statistic (one rule for the table:
        :func:`~spillover.report._format.number`); counts print as integers.
    rename : mapping
        Display labels for terms (a spatial lag ``W_x`` follows the label of ``x``), fixed
        effects and fit statistics. Labels are escaped in LaTeX unless wrapped in
        :class:`~spillover.report.Latex`.
    order, keep, drop : sequences of term names
        Row order (unlisted terms follow), terms to keep, terms to drop. By default the
        spatial parameters ``rho``/``lambda`` go last, in a section of their own.
    groups : mapping of title -> terms
        Put terms into titled sections (e.g. ``{"Spillover pools": ["geo", "tech"]}``).
    indicate : mapping of label -> regular expression(s)
        Collapse the terms matching each (``re.search``) into one Yes/No row, e.g.
        ``{"Year dummies": r"^C\\(year\\)"}``.
    intercept : bool, optional
        None (default) hides the intercept of models whose fixed effects absorb it (the
        average effect linearmodels and ``xtreg, fe`` report); True shows, False hides all.
    dependent_names, column_groups, show_model_names, model_names
        Header rows: dependent variables (default each results' ``dependent``), groups of
        columns ``[("OLS", 2), ("Spatial", 2)]``, and column titles (default the mapping's
        keys or each results' ``model``; names may repeat).
    fit_stats : sequence of str
        Rows from ``nobs``, ``n_entities``, ``n_periods`` and keys of ``fit_stats``
        (labels and definitions in :data:`spillover.report._rows.FIT_LABELS`); a row is
        omitted when no model has it, and a model without it leaves its cell empty. The
        default shows the goodness of fit each model defines, the log-likelihood, AIC,
        BIC and the variance components of random effects models (without stars).
    add_rows : mapping label -> values
        User rows appended at the bottom, one value per model.
    show_vcov : bool, default True
        Name each model's covariance estimator: in the notes when all models share it, in
        a row when they differ (letters keyed in a note when a name is long). Spatial
        weights (``info["Weights"]``) and regression weights (``info["Regression
        weights"]``) are shown the same way.

    Returns
    -------
    Table
        Render with ``str()``, ``.to_latex()``, ``.to_markdown()``, ``.to_html()``,
        ``.to_docx()``, or ``.write(path)``.

    Examples
    --------
    >>> from spillover import datasets
    >>> from spillover.models import FixedEffects, Pooled
    >>> f = "log_gsp ~ log_pcap + log_emp"
    >>> fits = [Pooled(f, datasets.us_states()).fit(),
    ...         FixedEffects(f, datasets.us_states(), effects="twoway").fit()]
    >>> t = regression_table(fits, fit_stats=("nobs", "r2", "r2_within"))
    >>> for row in t.sections[-1].rows:
    ...     print(row.label, [c.text for c in row.cells])
    Observations ['816', '816']
    R-squared ['0.984', '0.999']
    Within R-squared ['', '0.739']
    """
    names, objs = _as_named(results)
    if model_names is not None:
        if len(model_names) != len(objs):
            raise SpecificationError(f"{len(model_names)} model_names for {len(objs)} models.")
        names = list(model_names)
    rename = dict(rename or {})
    shown = _hide_intercepts(objs, intercept)
    terms = _term_order(shown, order, keep, drop)
    collapsed = indicated(terms, indicate)
    hidden = {t for ts in collapsed.values() for t in ts}
    terms = [t for t in terms if t not in hidden]

    def rows_for(ts: Sequence[str]) -> tuple[Row, ...]:
        out: list[Row] = []
        for t in ts:
            out += coef_rows(t, term_label(t, rename), shown, stat, stars_at, digits, level)
        return tuple(out)

    sections = _coef_sections(terms, groups, rows_for)
    info_rows, fact_notes = _info_rows(objs, collapsed, rename, show_vcov)
    if info_rows:
        sections.append(Section(tuple(info_rows)))
    fit_rows = _fit_rows(objs, fit_stats, add_rows, rename, digits)
    if fit_rows:
        sections.append(Section(tuple(fit_rows)))

    header = _header(names, objs, dependent_names, column_groups, show_model_names)
    note_lines = [STAT_NOTES[stat].format(level=level)] if stat != "none" else []
    note_lines += fact_notes
    if stars_at:
        note_lines.append(star_note(stars_at) + ".")
    text_notes = tuple(n for n in [" ".join(note_lines).strip(), *notes] if n)
    return Table(tuple(header), tuple(sections), text_notes, caption, label)


def _coef_sections(terms, groups, rows_for) -> list[Section]:
    """Ungrouped terms, then each titled group, then the spatial parameters."""
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
    return sections


def _info_rows(objs, collapsed, rename, show_vcov) -> tuple[list[Row], list[str]]:
    """Indicator and fixed-effect rows, then covariance and weights as rows or notes."""
    rows = indicator_rows(collapsed, [set(r.params.index) for r in objs])
    rows += fe_rows(objs, rename)
    facts = [
        ("Spatial weights", [str(r.info.get("Weights", "")) for r in objs], ""),
        ("Regression weights", [str(r.info.get("Regression weights", "none")) for r in objs],
         "none"),
    ]  # fmt: skip
    if show_vcov:
        facts.insert(0, ("Covariance", [r.vcov_name for r in objs], ""))
    notes = []
    for fact, values, default in facts:
        row, note = fact_row(fact, values, default)
        if row is not None:
            rows.append(row)
        if note and not (fact == "Regression weights" and values[0] == "none"):
            notes.append(note)
    return rows, notes


def _fit_rows(objs, fit_stats, add_rows, rename, digits) -> list[Row]:
    """A row per fit statistic some model has, then the user's rows."""
    rows = []
    for key in fit_stats:
        cells = tuple(fit_value(r, key, digits) for r in objs)
        if any(c.text for c in cells):
            rows.append(Row(fit_label(key, rename), cells))
    for lab, values in (add_rows or {}).items():
        values = list(values)
        if len(values) != len(objs):
            raise SpecificationError(
                f"add_rows[{lab!r}] has {len(values)} values for {len(objs)} models."
            )
        rows.append(Row(lab, tuple(Cell(str(v)) for v in values)))
    return rows


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


__all__ = ["FIT_LABELS", "effects_table", "regression_table", "stack_panels"]
