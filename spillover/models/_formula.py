"""Formulas to design matrices, with spatially lagged regressors ``W(x)``.

Every estimator turns ``"y ~ x1 + log(x2) + W(x1)"`` plus a Panel into arrays here, once.
``W(x)`` is the spatial lag of ``x`` within each period (the SLX term); its column is
named ``W_x`` in the design and in ``params``, the convention of spreg.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import formulaic
import numpy as np
import pandas as pd

from spillover._typing import FloatArray
from spillover._validate import preview, require_columns, require_numeric
from spillover.errors import SpecificationError
from spillover.linalg.stacking import lag
from spillover.panel import Panel, lag_undefined_error, require_no_missing
from spillover.weights import Weights, as_weights

_W_TERM = re.compile(r"\bW\(\s*([^()]+?)\s*\)")
_CONTEXT = {"log": np.log, "exp": np.exp, "sqrt": np.sqrt, "log1p": np.log1p, "np": np}


@dataclass(frozen=True)
class Design:
    """Dependent variable and regressors, indexed like the panel rows used.

    Attributes
    ----------
    y : pandas.Series
        Dependent variable, indexed (entity, time).
    x : pandas.DataFrame
        Regressors (``Intercept`` first if the formula has one), same index.
    dependent : str
        Left-hand side as written.
    spatial_lags : tuple of str
        Names of the ``W_x`` columns built from ``W(x)`` terms.
    """

    y: pd.Series
    x: pd.DataFrame
    dependent: str
    spatial_lags: tuple[str, ...] = ()

    @property
    def has_intercept(self) -> bool:
        return "Intercept" in self.x.columns


def spatial_lag_panel(panel: Panel, column: str, w: Any) -> pd.Series:
    """W x within each period for a balanced panel, matched to W by entity id.

    ``w`` comes through :func:`spillover.weights.as_weights` (Weights, libpysal W/Graph;
    a bare matrix only if stated in panel order). The rows of a balanced Panel are
    entity-major, the one stacking convention, so one
    :func:`spillover.linalg.stacking.lag` lags every period.

    Raises
    ------
    PanelError
        If the panel is unbalanced (a neighbour's missing value has no defined lag).
    AlignmentError
        If W's ids differ from the panel's entities.
    """
    w = as_weights(w, panel.entities)
    panel.require_balanced()
    values = panel[column].to_numpy(dtype=float)
    if np.isnan(values).any():
        raise lag_undefined_error(column, panel.data.index[np.isnan(values)])
    return pd.Series(lag(w, values), index=panel.data.index, name=f"W_{column}")


def design(formula: str, panel: Panel, *, w: Weights | Any = None) -> Design:
    """Build the design for ``formula`` on ``panel``.

    Parameters
    ----------
    formula : str
        formulaic/patsy syntax, e.g. ``"log_emp ~ log_k + W(rd_pool)"``. ``log``, ``exp``,
        ``sqrt``, ``log1p`` and ``np.`` functions are available; ``W(a + b)`` is not:
        write ``W(a) + W(b)``.
    panel : Panel
    w : Weights or libpysal W/Graph, optional
        Needed if the formula has ``W(...)`` terms; matched to the panel by id
        (:func:`spillover.weights.as_weights`).

    Raises
    ------
    SpecificationError
        Unknown columns, non-numeric columns, ``W(...)`` without weights, or a design
        whose rank is below its number of columns (collinear regressors are named).
    PanelError
        Missing values in used columns (drop them explicitly with ``panel.dropna``).
    """
    if "~" not in formula or not formula.split("~")[0].strip():
        raise SpecificationError(
            f"formula {formula!r} needs a dependent variable, a '~' and the regressors, "
            "e.g. 'y ~ x1 + x2'."
        )
    frame, lags = _with_spatial_lags(formula, panel, w)
    rewritten = with_lag_names(formula)
    _check_inputs(frame, rewritten)
    try:
        # Missing inputs were refused above; what a transformation makes missing (log of a
        # negative number) is kept here and named, with its rows, by _check_finite.
        with np.errstate(divide="ignore", invalid="ignore"):
            mm = formulaic.model_matrix(rewritten, frame, na_action="ignore", context=_CONTEXT)
    except formulaic.errors.FormulaicError as exc:
        raise formula_error(formula, exc, frame.columns) from exc
    y = pd.Series(np.asarray(mm.lhs, dtype=float)[:, 0], index=frame.index, name=mm.lhs.columns[0])
    x = pd.DataFrame(np.asarray(mm.rhs, dtype=float), index=frame.index, columns=mm.rhs.columns)
    _check_finite(y, x, frame)
    require_observations(len(y), list(x.columns))
    check_rank(x)
    return Design(y=y, x=x, dependent=formula.split("~")[0].strip(), spatial_lags=tuple(lags))


def spatial_lag_terms(formula: str, w: Any) -> list[str]:
    """The columns x of the ``W(x)`` terms of ``formula``, each once, in order.

    Raises
    ------
    SpecificationError
        If there are ``W(...)`` terms but ``w`` is None, or one wraps more than a single
        column name.
    """
    found = list(dict.fromkeys(_W_TERM.findall(formula)))
    for var in found:
        if w is None:
            raise SpecificationError(
                f"formula uses W({var}) but no weights were given; pass w=... to the model."
            )
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
            raise SpecificationError(
                f"W({var}) must wrap a single column name; create the transformed column "
                "first with panel.assign(...)."
            )
    return found


def with_lag_names(formula: str) -> str:
    """``formula`` with each ``W(x)`` written as its design column ``W_x``."""
    return _W_TERM.sub(lambda m: f"W_{m.group(1)}", formula)


def _with_spatial_lags(
    formula: str, panel: Panel, w: Weights | None
) -> tuple[pd.DataFrame, list[str]]:
    """The panel's data with a column ``W_x`` for each ``W(x)`` term, and their names."""
    frame = panel.data
    lags: list[str] = []
    for var in spatial_lag_terms(formula, w):
        require_columns(frame, [var], "panel")
        frame = frame.assign(**{f"W_{var}": spatial_lag_panel(panel, var, w)})
        lags.append(f"W_{var}")
    return frame, lags


def _check_inputs(frame: pd.DataFrame, formula: str) -> None:
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", formula))
    used = [c for c in frame.columns if c in names]
    require_numeric(frame, [c for c in used if not re.search(rf"C\(\s*{re.escape(c)}", formula)])
    require_no_missing(frame, used)


def _check_finite(y: pd.Series, x: pd.DataFrame, frame: pd.DataFrame) -> None:
    """Name the terms whose transformation is not finite (log of zero...), their rows and
    the input values there."""
    terms = pd.concat([y, x], axis=1)
    finite = np.isfinite(terms.to_numpy())
    if finite.all():
        return
    rows = ~finite.all(axis=1)
    bad = (~finite).sum(axis=0)
    counts = {c: n for c, n in zip(terms.columns, bad, strict=True) if n}
    several = len(counts) > 1
    named = ", ".join(f"{c!r} ({n} rows)" if several else repr(c) for c, n in counts.items())
    raise SpecificationError(
        f"{_rows(int(rows.sum()))} missing or infinite values after transformation in "
        f"{named} (e.g. log of zero or of a negative number), e.g. at "
        f"{_offending(frame, list(counts), np.flatnonzero(rows)[:3])}. Use log1p or shift "
        "the variable, or drop those rows explicitly (panel.subset or panel.dropna)."
    )


def _offending(frame: pd.DataFrame, terms: list[str], rows: np.ndarray) -> str:
    """``(key) where col = value`` for the input columns of ``terms`` at ``rows``."""
    used = [c for c in frame.columns if any(re.search(rf"\b{re.escape(c)}\b", t) for t in terms)]
    values = {c: frame[c].iloc[rows].tolist() for c in used}
    shown = []
    for j, key in enumerate(frame.index[rows]):
        inputs = ", ".join(f"{c} = {v[j]!r}" for c, v in values.items())
        shown.append(f"{key!r}" + (f" ({inputs})" if inputs else ""))
    return "; ".join(shown)


def _rows(n: int) -> str:
    return "1 row has" if n == 1 else f"{n} rows have"


def require_observations(nobs: int, terms: list[str], *, what: str = "rows") -> None:
    """Raise unless there are more observations than parameters to estimate."""
    if nobs <= len(terms):
        raise SpecificationError(
            f"{nobs} {what} for {len(terms)} parameters ({preview(terms)}): a regression "
            "needs more observations than parameters. Use more data or fewer regressors."
        )


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_MISSING_NAME = re.compile(r"`([^`]+)` is not present in the dataset")
_UNDEFINED = re.compile(r"name '([^']+)' is not defined|has no attribute '([^']+)'")


def formula_error(formula: str, exc: Exception, columns: pd.Index) -> SpecificationError:
    """A formulaic error in the user's terms: the unknown column or function, or the
    place of a syntax error, with what is available instead."""
    cause = str(exc.__cause__ or "")
    missing = _MISSING_NAME.search(cause)
    if missing:
        name = missing.group(1)
        near = difflib.get_close_matches(name, [str(c) for c in columns], n=3)
        hint = f" Did you mean {preview(near)}?" if near else ""
        return SpecificationError(
            f"formula {formula!r} uses {name!r}, which is not a column of the panel.{hint} "
            f"Available: {preview(columns, 12)}. Add it first with panel.assign(...)."
        )
    undefined = _UNDEFINED.search(cause)
    if undefined:
        name = undefined.group(1) or f"np.{undefined.group(2)}"
        return SpecificationError(
            f"formula {formula!r} calls {name!r}, which is not a known function; use "
            f"{preview(sorted(k for k in _CONTEXT if k != 'np'))}, np.<function>, C(...) or "
            "I(...), or compute the column first with panel.assign(...)."
        )
    text = _ANSI.sub("", str(exc)).strip()
    first, _, shown = text.partition("\n")
    place = re.search(r"⧛(.*?)⧚", shown)
    at = f" (at {place.group(1)!r})" if place else ""
    return SpecificationError(
        f"cannot read formula {formula!r}: {first.rstrip('.')}{at}. Write it as "
        "'y ~ x1 + x2', with functions such as log(x), interactions x1:x2 and W(x)."
    )


def check_rank(x: pd.DataFrame, *, what: str = "regressors") -> None:
    """Raise SpecificationError naming the columns that make ``x`` rank deficient."""
    a = x.to_numpy(dtype=float)
    if a.shape[1] == 0:
        return
    scale = np.linalg.norm(a, axis=0)
    zero = scale == 0
    if zero.any():
        raise SpecificationError(
            f"{what} {preview(list(x.columns[zero]))} are identically zero (after any "
            "demeaning: a variable constant within entity cannot be estimated with entity "
            "effects). Remove them."
        )
    dependent = list(x.columns[dependent_columns(a)])
    if dependent:
        raise SpecificationError(
            f"{what} are collinear: {preview(dependent)} is (nearly) a linear combination of "
            "the other columns (after any demeaning). Remove it or the terms it duplicates."
        )


def dependent_columns(a: FloatArray) -> np.ndarray:
    """Mask of the columns of ``a`` that are zero or (nearly) a linear combination of the
    columns before them (unpivoted QR of the unit-norm columns, as fixest keeps the first)."""
    scale = np.linalg.norm(a, axis=0)
    zero = scale == 0
    if a.shape[1] == 0 or zero.all():
        return zero
    unit = a / np.where(zero, 1.0, scale)
    if not zero.any() and _clearly_full_rank(unit):
        return zero
    _, r = np.linalg.qr(unit)
    diag = np.zeros(a.shape[1])  # columns past the number of rows are dependent
    diag[: min(a.shape)] = np.abs(np.diag(r))
    tol = max(a.shape) * np.finfo(float).eps * diag.max() * 1e3
    return zero | (diag < tol)


def _clearly_full_rank(unit: FloatArray) -> bool:
    """Cheap screen on the k x k Gram matrix of unit-norm columns.

    The squared diagonal of R in A = QR are the Cholesky pivots of A'A; if the smallest
    exceeds 1e-8 (a column's distance from the span of the others is above 1e-4 of its
    norm) the design is full rank whatever the rounding of A'A. Otherwise the exact QR
    decides and names the columns.
    """
    gram = unit.T @ unit
    try:
        chol = np.linalg.cholesky(gram)
    except np.linalg.LinAlgError:
        return False
    return bool(np.min(np.diag(chol)) ** 2 > 1e-8)
