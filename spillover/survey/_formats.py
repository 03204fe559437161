"""Reading response files: CSV, Excel, SPSS ``.sav`` and Stata ``.dta`` with their labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from spillover.errors import SurveyError

LABELLED = (".sav", ".zsav", ".dta")
SPREADSHEET = (".xlsx", ".xlsm", ".xls")


@dataclass(frozen=True)
class FileMeta:
    """Labels and declared missing-value codes read from a labelled file."""

    variable_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[float, str]] = field(default_factory=dict)
    missing_ranges: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def is_missing_code(self, name: str, value: float) -> bool:
        """True if ``value`` is a user-missing code of variable ``name`` (SPSS)."""
        return any(lo <= value <= hi for lo, hi in self.missing_ranges.get(name, []))


def _pyreadstat() -> ModuleType:
    try:
        import pyreadstat
    except ImportError:  # pragma: no cover - pyreadstat ships with the io extra
        raise SurveyError(
            "reading SPSS or Stata files needs pyreadstat: pip install 'spillover[io]'."
        ) from None
    return pyreadstat


def read_labelled(path: str | Path, *, metadata_only: bool = False) -> tuple[Any, FileMeta]:
    """Read a ``.sav``/``.zsav``/``.dta`` file, SPSS user-missing codes kept as values.

    Returns the frame (None if ``metadata_only``) and its labels and missing codes;
    numeric codes stay numbers (value labels are not applied).
    """
    path = Path(path)
    if path.suffix.lower() not in LABELLED:
        raise SurveyError(f"{path.name!r} is not an SPSS (.sav) or Stata (.dta) file.")
    if not path.exists():
        raise SurveyError(f"no such file: {str(path)!r}.")
    reader = _pyreadstat()
    if path.suffix.lower() == ".dta":  # Stata's missing values (., .a to .z) are read as NaN
        frame, meta = reader.read_dta(str(path), metadataonly=metadata_only)
    else:  # SPSS user-missing codes are kept, to be counted, then set missing by the caller
        frame, meta = reader.read_sav(str(path), metadataonly=metadata_only, user_missing=True)
    ranges = {
        name: [(float(r["lo"]), float(r["hi"])) for r in spans if _numeric(r)]
        for name, spans in (getattr(meta, "missing_ranges", None) or {}).items()
    }
    labels = {
        name: {float(k): str(v) for k, v in codes.items() if isinstance(k, int | float)}
        for name, codes in (meta.variable_value_labels or {}).items()
    }
    names = dict(zip(meta.column_names, meta.column_labels or [], strict=False))
    return (None if metadata_only else frame), FileMeta(
        {k: v or "" for k, v in names.items()}, labels, ranges
    )


def _numeric(span: dict[str, Any]) -> bool:
    return all(isinstance(span[k], int | float) for k in ("lo", "hi"))


def read_table(source: str | Path, *, sheet: str | int = 0) -> tuple[pd.DataFrame, FileMeta]:
    """Read responses from a file path by its extension; labels only from .sav/.dta."""
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in (".csv", *SPREADSHEET, *LABELLED):
        raise SurveyError(
            f"cannot read responses from {path.name!r}: unknown extension {suffix!r}; use "
            ".csv, .xlsx, .sav or .dta, or read the file with pandas and pass the DataFrame."
        )
    if suffix in LABELLED:
        return read_labelled(path)
    if not path.exists():
        raise SurveyError(f"no such file: {str(path)!r}.")
    if suffix == ".csv":
        return pd.read_csv(path), FileMeta()
    return pd.read_excel(path, sheet_name=sheet), FileMeta()
