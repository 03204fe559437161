"""Which rows a Poisson model can fit: the separation checks of Correia, Guimarães and Zylkin
(2019), arrays in, arrays out.

:func:`fe_separation_mask` finds the rows separated by the effects: every row of an effect
level whose outcome is zero throughout has a fitted mean of zero at the (infinite) maximum,
so it is dropped, and so are the singletons that dropping leaves, until neither remains.
:func:`separation_sample` adds the rows that regressors and effects separate together (the
ReLU check of :mod:`spillover.models._relu`). The rest validates the options and words the
warnings of :class:`~spillover.models.poisson.PoissonHDFE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spillover._typing import FloatArray, IntArray
from spillover.errors import SpecificationError
from spillover.models._demean import singleton_mask
from spillover.models._formula import dependent_columns
from spillover.models._relu import relu_separation


def fe_separation_mask(
    y: FloatArray, codes: Sequence[IntArray], keep: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows kept after dropping effect-separated rows and singletons, iterated.

    Starts from the rows in ``keep`` (all if None). Returns the mask of rows kept, the
    mask of rows dropped as separated and the number of singleton rows dropped.
    """
    keep = np.ones(len(y), dtype=bool) if keep is None else keep.copy()
    separated = np.zeros(len(y), dtype=bool)
    singletons = 0
    while True:
        changed = False
        for c in codes:
            top = int(c.max()) + 1
            total = np.bincount(c[keep], weights=y[keep], minlength=top)
            count = np.bincount(c[keep], minlength=top)
            zero = keep & (total[c] <= 0)
            alone = keep & ~zero & (count[c] == 1)
            separated |= zero
            singletons += int(alone.sum())
            changed |= bool(zero.any() or alone.any())
            keep &= ~(zero | alone)
        if not changed:
            return keep, separated, singletons


@dataclass(frozen=True)
class SeparationSample:
    """Rows kept, rows dropped by each separation method, singletons dropped."""

    keep: np.ndarray
    separated: dict[str, np.ndarray]
    n_singletons: int


def separation_sample(
    y: FloatArray,
    x: FloatArray,
    codes: Sequence[IntArray],
    *,
    methods: Sequence[str],
    tol: float,
) -> SeparationSample:
    """The estimation sample: ``"fe"`` drops rows in an all-zero effect level (and the
    singletons, iterated), ``"relu"`` then rows separated by regressors and effects together
    (:func:`~spillover.models._relu.relu_separation`), and the singletons that leaves."""
    n = len(y)
    keep, by, singles = np.ones(n, dtype=bool), {}, 0
    if codes and "fe" in methods:
        keep, by["fe"], singles = fe_separation_mask(y, codes)
    elif codes:
        keep = singleton_mask(codes)
        singles = int(n - keep.sum())
    if "relu" in methods:
        rows = np.flatnonzero(keep)
        found = relu_separation(y[rows], x[rows], [c[rows] for c in codes], tol=tol)
        by["relu"] = np.zeros(n, dtype=bool)
        by["relu"][rows[found.separated]] = True
        if found.separated.any():
            keep &= ~by["relu"]
            if codes:  # dropping zero rows leaves no all-zero level, only singletons
                keep, more, extra = fe_separation_mask(y, codes, keep)
                by["relu"] |= more
                singles += extra
    return SeparationSample(keep, by, singles)


COLLINEAR = "collinear with the other regressors or the effects once the separated rows are dropped"
REASONS = {
    "fe": "separated by the absorbed effects (their outcome is all zero)",
    "relu": "separated by the regressors and effects (ReLU check: a combination of them is "
    "zero where y > 0 and positive only on these rows, where y = 0)",
}


def check_methods(check: Sequence[str], tol: float) -> tuple[str, ...]:
    """Validated ``separation_check`` (a tuple, duplicates removed) and ``separation_tol``."""
    if isinstance(check, str) or not set(check) <= set(REASONS):
        raise SpecificationError(
            f"separation_check must be a sequence of 'fe' and 'relu', e.g. ('fe', 'relu') or "
            f"('fe',), got {check!r}."
        )
    if not (0 < tol < 1):
        raise SpecificationError(f"separation_tol must lie in (0, 1), got {tol!r}.")
    return tuple(m for m in REASONS if m in check)


def describe(counts: dict[str, int]) -> str:
    """Counts by check for messages, e.g. "3 by the 'relu' check"."""
    return ", ".join(f"{n} by the {m!r} check" for m, n in counts.items() if n)


def collinear_columns(x: np.ndarray, xt: np.ndarray) -> np.ndarray:
    """Columns absorbed by the effects (the norm of the demeaned column ``xt`` below 1e-9 of
    that of ``x``) or collinear with earlier ones after demeaning."""
    absorbed = np.linalg.norm(xt, axis=0) <= 1e-9 * np.linalg.norm(x, axis=0)
    return absorbed | dependent_columns(np.where(absorbed, 0.0, xt))
