"""Which W, which model: posterior probabilities beside log-likelihood, AIC, BIC and LR tests.

:func:`model_choice_table` lays out a :class:`~spillover.diagnostics.ModelComparison` as a
publication table; every number is read from it (``table`` and ``lr_tests``), none is
computed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spillover.diagnostics import ModelComparison
from spillover.errors import SpecificationError
from spillover.report._format import format_count, number, pvalue, star_note, stars
from spillover.report._table import Cell, Row, Section, Table

_FAMILY_LABELS = {
    "slx": "SLX",
    "sar": "SAR",
    "sem": "SEM",
    "sdm": "SDM",
    "sdem": "SDEM",
    "sac": "SAC",
}
_FAMILY_ORDER = ("slx", "sar", "sem", "sdm", "sdem", "sac")
_CF = "CF"  # the common-factor restriction's short label
_HEADER = ("Post. prob.", "Log marg. lik.", "Log-lik.", "Param.", "AIC", "BIC")


def model_choice_table(
    comparison: ModelComparison,
    *,
    rename: Mapping[str, str] | None = None,
    lr_tests: bool = True,
    digits: int = 3,
    fit_digits: int = 2,
    stars_at: Sequence[float] = (0.1, 0.05, 0.01),
    caption: str | None = None,
    label: str | None = None,
    notes: Sequence[str] = (),
) -> Table:
    """Posterior model probabilities per W x family beside log-likelihood, AIC, BIC, LR tests.

    One panel per candidate W (in the order given to ``compare_models``), one row per
    family: posterior probability over all candidates, log marginal likelihood, maximised
    log-likelihood, number of parameters, AIC and BIC. A last panel lists the
    likelihood-ratio tests of the nested pairs: one row per pair (with its df), one column
    per W, the statistic with stars and its p-value beneath (with more W than the six
    columns: one row per W and pair, with LR, df and p-value). Notes state the best
    candidate, the priors, the parameter count and the LR convention. At the default
    settings the table (three W, six families) fits a 6.5 in text block for W names up to
    about 12 characters (use ``rename`` for longer ones).

    Parameters
    ----------
    comparison : ModelComparison
        From :func:`spillover.diagnostics.compare_models`.
    rename : mapping, optional
        Display names of the weights matrices, e.g. ``{"knn10": "10 nearest"}``.
    lr_tests : bool, default True
        Add the panel of likelihood-ratio tests.
    digits : int, default 3
        Decimals of probabilities and p-values (below ``10**-digits``: ``< 0.001``).
    fit_digits : int, default 2
        Decimals of log marginal likelihoods, log-likelihoods, AIC, BIC and LR statistics.
    stars_at : sequence of float
        p-value thresholds of the LR statistics' stars; ``()`` for none.

    Returns
    -------
    Table
        Render with ``str()``, ``.to_latex()``, ``.to_markdown()``, ``.to_html()``,
        ``.to_docx()`` or ``.write(path)``.

    Examples
    --------
    >>> from spillover.diagnostics import compare_models
    >>> from spillover.report import model_choice_table
    >>> from spillover.simulate import grid_weights, spatial_panel
    >>> queen = grid_weights(6, contiguity="queen").row_standardize()
    >>> rook = grid_weights(6, contiguity="rook").row_standardize()
    >>> sim = spatial_panel(queen, 4, model="sar", rho=0.4, beta=[1.0], seed=1)
    >>> res = compare_models("y ~ x1", sim.panel, weights={"queen": queen, "rook": rook})
    >>> table = model_choice_table(res, caption="Model choice")
    >>> table.n_columns, [s.title for s in table.sections]
    (6, ['W: queen', 'W: rook', 'Likelihood-ratio tests (p-values in parentheses)'])
    """
    if not isinstance(comparison, ModelComparison):
        raise SpecificationError(
            "model_choice_table needs the ModelComparison returned by "
            f"spillover.diagnostics.compare_models; got {type(comparison).__name__}."
        )
    names = dict(rename or {})
    table = comparison.table
    sections = [
        Section(
            tuple(_candidate_rows(table.xs(w, level="weights"), digits, fit_digits)),
            title=f"W: {names.get(w, w)}",
        )
        for w in table.index.get_level_values("weights").unique()
    ]
    lr = comparison.lr_tests
    if lr_tests and len(lr):
        sections.append(_lr_section(lr, names, digits, fit_digits, stars_at))
    header = (tuple((h, 1) for h in _HEADER),)
    all_notes = (*_notes(comparison, names, lr_tests and len(lr) > 0, stars_at), *notes)
    return Table(header, tuple(sections), all_notes, caption, label, stub="Model")


def _candidate_rows(rows: Any, digits: int, fit_digits: int) -> list[Row]:
    order = [f for f in _FAMILY_ORDER if f in rows.index]
    out = []
    for fam in order:
        r = rows.loc[fam]
        cells = (
            Cell.of(*pvalue(r["probability"], digits)),
            Cell.of(number(r["log_marginal"], fit_digits)),
            Cell.of(number(r["loglik"], fit_digits)),
            Cell(format_count(r["n_params"])),
            Cell.of(number(r["aic"], fit_digits)),
            Cell.of(number(r["bic"], fit_digits)),
        )
        out.append(Row(_FAMILY_LABELS[fam], cells))
    return out


def _lr_section(lr, names, digits, fit_digits, stars_at) -> Section:
    """One row per nested pair, one column per W (LR with stars, p-value beneath), or, with
    more W than columns, one row per (W, pair) with LR, df and p-value."""
    ws = list(dict.fromkeys(lr["weights"]))
    width = len(_HEADER)
    if len(ws) > width:
        return _lr_long(lr, names, digits, fit_digits, stars_at)
    pad = (Cell(),) * (width - len(ws))
    rows = [Row("", tuple(Cell(str(names.get(w, w))) for w in ws) + pad)]
    by_pair = lr.set_index(["model", "restricted", "weights"])
    for (model, restricted), part in lr.groupby(["model", "restricted"], sort=False):
        est, below = [], []
        for w in ws:
            if (model, restricted, w) not in by_pair.index:
                est.append(Cell())
                below.append(Cell())
                continue
            rec = by_pair.loc[(model, restricted, w)]
            est.append(
                Cell.of(number(rec["statistic"], fit_digits), sup=stars(rec["pvalue"], stars_at))
            )
            below.append(Cell.of("(", *pvalue(rec["pvalue"], digits), ")"))
        text = f"{_pair(model, restricted, part['restriction'].iloc[0])}, df = {part['df'].iloc[0]}"
        rows += [Row(text, tuple(est) + pad), Row("", tuple(below) + pad)]
    return Section(tuple(rows), title="Likelihood-ratio tests (p-values in parentheses)")


def _lr_long(lr, names, digits, fit_digits, stars_at) -> Section:
    rows = [Row("", (Cell("LR"), Cell("df"), Cell("p-value"), Cell(), Cell(), Cell()))]
    for rec in lr.itertuples(index=False):
        pair = _pair(rec.model, rec.restricted, rec.restriction)
        cells = (
            Cell.of(number(rec.statistic, fit_digits), sup=stars(rec.pvalue, stars_at)),
            Cell(format_count(rec.df)),
            Cell.of(*pvalue(rec.pvalue, digits)),
            Cell(),
            Cell(),
            Cell(),
        )
        rows.append(Row(f"{names.get(rec.weights, rec.weights)}: {pair}", cells))
    return Section(tuple(rows), title="Likelihood-ratio tests")


def _pair(model: str, restricted: str, restriction: str) -> str:
    text = f"{_FAMILY_LABELS[model]} vs. {_FAMILY_LABELS[restricted]}"
    return text + (f" ({_CF})" if restriction == "theta = -rho beta" else "")


def _notes(comparison: ModelComparison, names, with_lr: bool, stars_at) -> list[str]:
    w, fam = comparison.best
    prob = float(comparison.table.loc[(w, fam), "probability"])
    nobs = comparison.nobs
    nobs_text = format_count(int(nobs)) if float(nobs).is_integer() else f"{nobs:g}"
    out = [
        f"Highest posterior probability: {_FAMILY_LABELS[fam]} with W = {names.get(w, w)} "
        f"({number(prob, 3).plain()}).",
        "Posterior probabilities over all candidates, equal prior probabilities; flat "
        "priors on beta and log sigma, uniform priors on rho and lambda over the feasible "
        f"interval (LeSage 2014). Fixed effects: {comparison.effects}, removed by the "
        f"Lee-Yu transformation; n = {nobs_text} effective observations.",
        "Param.: coefficients, spatial parameters and the error variance (fixed effects not "
        "counted); AIC = -2 logL + 2 Param., BIC = -2 logL + Param. log n.",
    ]
    if with_lr:
        lr = comparison.lr_tests
        text = (
            "LR = 2 (logL of the model - logL of the restricted model), chi-squared with df "
            "= number of restrictions"
        )
        if (lr["restriction"] == "theta = -rho beta").any():
            text += f"; {_CF}: common-factor restriction theta = -rho beta"
        out.append(text + ".")
        if stars_at and np.isfinite(lr["pvalue"]).any():
            out.append(star_note(stars_at) + ".")
    return out
