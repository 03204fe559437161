"""Small algebra of the out-of-core estimators, whatever the backend: the formula of plain
column names, the per-piece normal matrix of exact absorbing, scaled solves and the bread
with an intercept, and the check that absorbing left each column some variation.

Everything here works on K x K moments, per-piece codes or formula strings, never on the
rows: the backends compute the sums (:mod:`._out_of_core`, :mod:`spillover.backends`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from spillover.errors import SpecificationError
from spillover.models import _demean

_TERM = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def parse_formula(formula: str, backend: str = "DuckDB") -> tuple[str, list[str], bool]:
    """``"y ~ x1 + x2"`` into (y, [x1, x2], intercept); plain column names only."""
    if "~" not in formula:
        raise SpecificationError(f"formula {formula!r} needs 'y ~ x1 + x2'.")
    lhs, rhs = (s.strip() for s in formula.split("~", 1))
    terms = [t.strip() for t in re.split(r"\s*([+-])\s*", "+ " + rhs) if t.strip()]
    intercept, xs, sign = True, [], "+"
    for t in terms:
        if t in "+-":
            sign = t
        elif t in ("0", "1"):
            intercept = intercept if (t == "1" and sign == "+") else False
        elif _TERM.match(t) and sign == "+":
            xs.append(t)
        else:
            raise SpecificationError(
                f"the {backend} backend takes plain column names in the formula; {t!r} is not "
                "one. Compute transformed columns (log, W(x) pools) in the source first."
            )
    if not _TERM.match(lhs):
        raise SpecificationError(f"dependent variable {lhs!r} must be a plain column name.")
    return lhs, xs, intercept


def normal_matrix_part(
    groups: np.ndarray,
    codes: list[np.ndarray],
    weights: np.ndarray | None = None,
    *,
    size: int,
) -> np.ndarray:
    """The part of ``C = S'WS - (F'WS)' diag(1/n_g) (F'WS)`` from rows holding whole F
    levels, ``groups`` their F codes sorted, ``codes`` their (offset) codes of the sets S,
    ``weights`` their regression weights (W = I and n_g the level's rows if None, else
    n_g the level's weight sum)."""
    c = np.zeros((size, size))
    if not len(groups):
        return c
    local = np.concatenate([[0], np.cumsum(np.diff(groups) != 0)])
    counts = np.bincount(local, weights=weights).astype(float)
    for a in codes:
        for b in codes:
            pairs = np.bincount(a * size + b, weights=weights, minlength=size * size)
            c += pairs.reshape(size, size)
    return c - _demean.within_group_pairs(local, counts, codes, size, weights)


def solve_scaled(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Slopes from the normal equations of the demeaned regressors, scaled to unit diagonal."""
    scale = np.sqrt(np.clip(np.diag(gram), 1e-300, None))
    return np.linalg.solve(gram / np.outer(scale, scale), rhs / scale) / scale


def bread_with_intercept(gram: np.ndarray, xbar: np.ndarray, n: int) -> np.ndarray:
    """``(X'X)^-1`` for X = [1, x~ + xbar] from ``x~'x~`` (x~ sums to zero: the effects
    absorb a constant), by the partitioned inverse; avoids inverting the ill-conditioned
    X'X of regressors with large means and little within variation."""
    inv = np.linalg.inv(gram)
    u = inv @ xbar
    out = np.empty((len(xbar) + 1, len(xbar) + 1))
    out[0, 0] = 1 / n + xbar @ u
    out[0, 1:] = out[1:, 0] = -u
    out[1:, 1:] = inv
    return out


def check_within(
    names: Sequence[str],
    gram: np.ndarray,
    raw: np.ndarray,
    absorb: Sequence[str],
    what: str = "regressors",
) -> None:
    """Name columns the absorbed effects leave without variation, or collinear: ``gram``
    their moment matrix after absorbing, ``raw`` their centred sums of squares before."""
    within = np.diag(gram)
    gone = [x for x, w, r in zip(names, within, raw, strict=True) if w <= 1e-20 * r]
    if not gone and len(names):
        scale = np.sqrt(within)
        eig, vec = np.linalg.eigh(gram / np.outer(scale, scale))
        if eig.min() <= 1e-9:
            gone = [x for x, v in zip(names, vec[:, 0], strict=True) if abs(v) > 1e-6]
    if gone:
        raise SpecificationError(
            f"{what} {gone} have no variation, or are collinear, once the absorbed "
            f"effects ({', '.join(absorb)}) are removed; drop one or absorb coarser effects."
        )
