"""The errors every backend raises for bad staged data (one wording for all)."""

from __future__ import annotations

from collections.abc import Sequence

from spillover.errors import PanelError, SpecificationError


def refuse_missing(columns: Sequence[str], counts: Sequence[int], how: str) -> None:
    """PanelError naming the used columns with missing values (``how``: a way to drop them)."""
    bad = {c: int(n) for c, n in zip(columns, counts, strict=True) if n}
    if bad:
        raise PanelError(
            f"missing values in used columns: {bad} (rows per column). Drop or fill "
            f"them in the source first ({how})."
        )


def refuse_non_finite(columns: Sequence[str], counts: Sequence[int]) -> None:
    """PanelError naming the columns with NaN or infinite values."""
    bad = {c: int(n) for c, n in zip(columns, counts, strict=True) if n}
    if bad:
        raise PanelError(
            f"non-finite values (NaN or infinite) in {bad} (rows per column). Drop or "
            "fix them in the source first."
        )


def refuse_non_numeric(bad: Sequence[str], types: Sequence[str]) -> None:
    """SpecificationError naming source columns that are not numeric."""
    if bad:
        raise SpecificationError(
            f"columns {list(bad)} are not numeric ({list(types)}); cast them in the source."
        )


#: The checks of regression weights every backend runs, in this order: (problem, fix).
#: ``"{column}"`` in a fix is the weight column.
WEIGHT_CHECKS = (
    ("missing or infinite", "fill or drop those rows"),
    ("negative", "weights must be non-negative"),
    (
        "zero",
        "rows with zero weight carry no information; drop them in the source first "
        "(e.g. WHERE {column} > 0)",
    ),
    (
        "not whole numbers (frequency weights count identical observations)",
        "use weight_type='analytic' for precision weights",
    ),
)


def refuse_weights(column: str, check: int, n: int, keys: Sequence[str], rows: Sequence) -> None:
    """SpecificationError for ``n`` rows failing weight check ``check`` (a position in
    :data:`WEIGHT_CHECKS`), naming the first ``rows`` by ``keys`` and the weight."""
    what, fix = WEIGHT_CHECKS[check]
    names = ", ".join(dict.fromkeys([*keys, column]))
    raise SpecificationError(
        f"regression weights {column!r} are {what} in {n} rows, e.g. ({names}) = "
        f"{', '.join(map(str, rows))}; {fix.format(column=column)}."
    )
