"""Tables of questionnaire studies: model fit, reliability and validity, loadings, and the
construct correlation matrix with the square root of the AVE on its diagonal.

Every number comes from the results objects of :mod:`spillover.survey` (or the data) and is
formatted here; nothing is typed by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from spillover.errors import SpecificationError
from spillover.report._format import format_count, number, pvalue, star_note, stars
from spillover.report._table import Cell, Row, Section, Table
from spillover.survey import MediationResults, SEMResults, Validity

_FIT_ROWS = (
    ("Chi-square", "chisq"),
    ("df", "df"),
    ("p-value", "pvalue"),
    ("CFI", "cfi"),
    ("TLI", "tli"),
    ("RMSEA", "rmsea"),
    ("RMSEA 90% interval", None),
    ("SRMR", "srmr"),
    ("AIC", "aic"),
    ("BIC", "bic"),
)


def sem_fit_table(
    results: Mapping[str, SEMResults] | Sequence[SEMResults],
    *,
    digits: int = 3,
    caption: str | None = None,
    label: str | None = None,
) -> Table:
    """Fit indices of CFA/SEM models, one column each: chi-square (df, p), CFI, TLI, RMSEA
    with its 90% interval, SRMR, AIC, BIC and N, as :func:`spillover.survey.cfa` computes
    them (lavaan's definitions; see its Notes).

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> from spillover.survey import cfa
    >>> hs = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
    ...       "speed": ["x7", "x8", "x9"]}
    >>> table = sem_fit_table({"Three factors": cfa(holzinger39.get_data(), hs)})
    >>> "85.306" in str(table) and "[0.071, 0.114]" in str(table)
    True
    >>> [c.text for c in table.sections[0].rows[2].cells]  # chi-square p, about 1e-8
    ['< 0.001']
    """
    names, objs = _named(results)
    rows = []
    for text, key in _FIT_ROWS:
        cells = []
        for r in objs:
            fs = r.fit_stats
            if key is None:
                cells.append(
                    Cell.of("[", number(fs["rmsea_lower"], digits), ", ",
                            number(fs["rmsea_upper"], digits), "]")
                )  # fmt: skip
            elif key == "df":
                cells.append(Cell(format_count(int(fs["df"]))))
            elif key == "pvalue":
                cells.append(Cell.of(*pvalue(fs[key], digits)))  # "< 0.001", as journals
            else:
                cells.append(Cell.of(number(fs[key], digits)))
        rows.append(Row(text, tuple(cells)))
    rows.append(Row("Observations", tuple(Cell(format_count(r.nobs)) for r in objs)))
    header = (tuple((n, 1) for n in names),)
    note = (
        "Maximum likelihood; chi-square = N F_ML with the sample covariance divided by N, "
        "RMSEA with its 90% interval from the noncentral chi-square, SRMR as lavaan's "
        "srmr_bentler, AIC/BIC from the normal log-likelihood (lavaan's conventions)."
    )
    return Table(header, (Section(tuple(rows)),), (note,), caption, label, stub="Fit index")


def validity_table(
    validity: Validity,
    *,
    reliability: pd.DataFrame | Any | None = None,
    digits: int = 3,
    caption: str | None = None,
    label: str | None = None,
) -> Table:
    """Reliability and convergent/discriminant validity per construct.

    Columns: items, Cronbach's alpha and McDonald's omega total (when ``reliability`` is
    given: a :class:`~spillover.survey.Reliability`, or a DataFrame indexed by construct with
    ``alpha`` and ``omega`` columns), composite reliability (CR), average variance extracted
    (AVE), its square root and the largest HTMT ratio with another construct.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> from spillover.survey import cfa, reliability
    >>> hs = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
    ...       "speed": ["x7", "x8", "x9"]}
    >>> data = holzinger39.get_data()
    >>> table = validity_table(cfa(data, hs).validity(), reliability=reliability(data, hs))
    >>> [row.label for row in table.sections[0].rows]
    ['visual', 'textual', 'speed']
    """
    frame = validity.to_frame()
    rel = _reliability_frame(reliability, frame.index)
    heads = ["Items"] + [h for h in ("Alpha", "Omega") if h.lower() in rel] + [
        "CR", "AVE", "sqrt(AVE)", "max HTMT"
    ]  # fmt: skip
    rows = []
    for construct, row in frame.iterrows():
        cells = [Cell(format_count(int(row["items"])))]
        cells += [Cell.of(number(rel.loc[construct, k], digits)) for k in ("alpha", "omega")
                  if k in rel]  # fmt: skip
        cells += [Cell.of(number(row[k], digits)) for k in ("cr", "ave", "sqrt_ave", "max_htmt")]
        rows.append(Row(str(construct), tuple(cells)))
    notes = (
        "CR = (sum l)^2 / ((sum l)^2 + sum(1 - l^2)) and AVE = mean l^2 from standardized "
        "loadings l; HTMT as Henseler, Ringle and Sarstedt (2015). Convergent validity: "
        "AVE >= 0.5; discriminant validity: sqrt(AVE) above the construct's correlations "
        "(Fornell-Larcker) and HTMT < 0.85.",
    )
    header = (tuple((h, 1) for h in heads),)
    return Table(header, (Section(tuple(rows)),), notes, caption, label, stub="Construct")


def _reliability_frame(reliability: Any, constructs: pd.Index) -> pd.DataFrame:
    if reliability is None:
        return pd.DataFrame(index=constructs)
    frame = reliability.to_frame() if hasattr(reliability, "to_frame") else reliability
    frame = pd.DataFrame(frame).rename(columns={"omega_total": "omega"})
    missing = constructs.difference(frame.index)
    if len(missing):
        raise SpecificationError(
            f"reliability has no row for constructs {list(missing)}; pass the reliability "
            "of the same constructs as the validity results."
        )
    return frame.loc[constructs, [c for c in ("alpha", "omega") if c in frame.columns]]


def loadings_table(
    loadings: pd.DataFrame | Any,
    *,
    suppress: float | None = None,
    digits: int = 3,
    caption: str | None = None,
    label: str | None = None,
) -> Table:
    """Items by factors; loadings below ``suppress`` in absolute value are left blank.

    ``loadings`` is a DataFrame (items x factors) or an object with a ``loadings`` frame
    (EFA results) or ``standardized_loadings`` (CFA results).
    """
    frame = getattr(loadings, "loadings", None)
    if frame is None:
        frame = getattr(loadings, "standardized_loadings", loadings)
    frame = pd.DataFrame(frame)
    rows = []
    for item, values in frame.iterrows():
        cells = tuple(
            Cell() if suppress is not None and abs(v) < suppress else Cell.of(number(v, digits))
            for v in values.to_numpy(float)
        )
        rows.append(Row(str(item), cells))
    notes = (f"Loadings below {suppress:g} in absolute value are not shown.",) if suppress else ()
    header = (tuple((str(c), 1) for c in frame.columns),)
    return Table(header, (Section(tuple(rows)),), notes, caption, label, stub="Item")


def construct_correlation_table(
    scores: pd.DataFrame,
    *,
    ave: pd.Series | None = None,
    stars_at: Sequence[float] = (0.1, 0.05, 0.01),
    digits: int = 2,
    caption: str | None = None,
    label: str | None = None,
) -> Table:
    """Lower-triangular Pearson correlations of construct scores with significance stars,
    and the square root of each construct's AVE on the diagonal when ``ave`` is given
    (the Fornell-Larcker display).

    Correlations use the rows complete in both constructs (pairwise); the p-value of r on
    n rows is that of t = r sqrt((n - 2) / (1 - r^2)) with n - 2 degrees of freedom, as
    ``scipy.stats.pearsonr``. The missing-data rule of the scores
    (``scores.attrs["missing_rule"]``, set by :meth:`Questionnaire.scores`) is stated.
    """
    cols = list(scores.columns)
    if ave is not None and (missing := [c for c in cols if c not in ave.index]):
        raise SpecificationError(f"ave has no value for constructs {missing}.")
    rows = []
    for i, a in enumerate(cols):
        cells = []
        for j, b in enumerate(cols[: i + 1]):
            if i == j:
                diag = np.sqrt(ave[a]) if ave is not None else 1.0
                cells.append(Cell.of(number(diag, digits)))
                continue
            r, p, _ = _pairwise(scores[a], scores[b])
            cells.append(Cell.of(number(r, digits), sup=stars(p, stars_at)))
        cells += [Cell()] * (len(cols) - i - 1)
        rows.append(Row(f"({i + 1}) {a}", tuple(cells)))
    notes = ["Pearson correlations over the rows complete in each pair."]
    if ave is not None:
        notes.append("Diagonal: square root of the average variance extracted (AVE).")
    if rule := scores.attrs.get("missing_rule"):
        notes.append(f"Construct scores: missing answers handled {rule}.")
    if stars_at:
        notes.append(star_note(stars_at))
    header = (tuple((f"({i + 1})", 1) for i in range(len(cols))),)
    return Table(header, (Section(tuple(rows)),), tuple(notes), caption, label)


def _pairwise(a: pd.Series, b: pd.Series) -> tuple[float, float, int]:
    ok = a.notna() & b.notna()
    n = int(ok.sum())
    if n < 3:
        raise SpecificationError(f"{a.name!r} and {b.name!r} share {n} complete rows; need 3.")
    r, p = stats.pearsonr(a[ok].to_numpy(float), b[ok].to_numpy(float))
    return float(r), float(p), n


def _named(results: Any) -> tuple[list[str], list[Any]]:
    if isinstance(results, Mapping):
        names, objs = list(results), list(results.values())
    else:
        objs = list(results)
        names = [r.model or f"({i + 1})" for i, r in enumerate(objs)]
    if not objs:
        raise SpecificationError("no results to tabulate.")
    return [str(n) for n in names], objs


def mediation_table(
    results: MediationResults,
    *,
    digits: int = 3,
    caption: str | None = None,
    label: str | None = None,
) -> Table:
    """Indirect, direct and total effects of a mediation model with their intervals.

    One row per specific indirect effect and the total indirect effect (estimate,
    standard error, interval bounds, as in ``results.indirect``: bootstrap percentile or
    bias-corrected intervals, or delta-method for the SEM engine), then the direct (c') and
    total (c) effects (``results.effects``). The path coefficients themselves go into
    :func:`~spillover.report.regression_table`.

    Examples
    --------
    >>> from spillover.survey import Mediation
    >>> from spillover.survey.mediation import example_survey
    >>> res = Mediation(example_survey(200, seed=1), x="environment",
    ...                 mediators=["transfer"], y="spillover").fit(bootstrap=200, seed=1)
    >>> [row.label for row in mediation_table(res).sections[0].rows]
    ['environment -> transfer -> spillover', 'total indirect']
    """
    sections = []
    for title, frame in (("Indirect effects", results.indirect), ("Effects", results.effects)):
        rows = tuple(
            Row(
                str(name),
                (
                    Cell.of(number(r["estimate"], digits)),
                    Cell.of(number(r["std_error"], digits)),
                    Cell.of("[", number(r["lower"], digits), ", ", number(r["upper"], digits), "]"),
                ),
            )
            for name, r in frame.iterrows()
        )
        sections.append(Section(rows, title))
    methods = sorted({str(m) for m in results.indirect.get("method", pd.Series(dtype=str))})
    level = results.info.get("Interval level", "")
    notes = [
        f"Interval: {', '.join(methods) or 'Wald'}{f'; level {level}' if level else ''}. "
        f"Standard errors of indirect effects: bootstrap SD (OLS) or delta method (SEM).",
        f"{format_count(results.nobs)} observations; {results.vcov_name} covariance for the paths.",
    ]
    header = ((("Estimate", 1), ("Std. error", 1), ("Interval", 1)),)
    return Table(header, tuple(sections), tuple(notes), caption, label, stub="Effect")
