"""Codebook: which construct each questionnaire item measures, its range and its direction."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from spillover._validate import preview
from spillover.errors import SurveyError
from spillover.survey._formats import read_labelled

_TRUE = {"1", "true", "yes", "y", "r", "reverse", "reversed", "x"}
_FALSE = {"0", "false", "no", "n", "", "nan", "none"}


@dataclass(frozen=True)
class Item:
    """One questionnaire item.

    Attributes
    ----------
    name : str
        Column name of the item in the response data.
    construct : str
        The construct (scale) the item measures.
    label : str
        Question wording or variable label.
    reverse : bool
        True if agreeing means less of the construct; recoded as ``max + min - x``.
    min, max : float or None
        Allowed answers, inclusive (1 and 5 for a 5-point Likert item); None if unknown.
    value_labels : Mapping[float, str]
        Labels of answer codes, e.g. ``{1: "strongly disagree", 5: "strongly agree"}``.
    """

    name: str
    construct: str
    label: str = ""
    reverse: bool = False
    min: float | None = None
    max: float | None = None
    value_labels: Mapping[float, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for attr in ("name", "construct"):
            value = getattr(self, attr)
            if not isinstance(value, str) or not value.strip():
                raise SurveyError(f"item {self.name!r}: {attr} must be a non-empty string.")
        _check_range(self)
        if self.min is not None:
            object.__setattr__(self, "min", float(self.min))
            object.__setattr__(self, "max", float(self.max))
        object.__setattr__(self, "value_labels", MappingProxyType(dict(self.value_labels)))

    @property
    def has_range(self) -> bool:
        return self.min is not None


def _check_range(item: Item) -> None:
    low, high = item.min, item.max
    if (low is None) != (high is None):
        raise SurveyError(
            f"item {item.name!r} has min={low!r} and max={high!r}: give both bounds or neither."
        )
    if low is not None:
        if not all(
            isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v)
            for v in (low, high)
        ):
            raise SurveyError(f"item {item.name!r}: min and max must be finite numbers.")
        if not low < high:
            raise SurveyError(f"item {item.name!r}: min ({low}) must be below max ({high}).")
    elif item.reverse:
        raise SurveyError(
            f"item {item.name!r} is reverse-coded but has no range: recoding max + min - x "
            "needs both; give min and max (e.g. 1 and 5 for a 5-point scale)."
        )


class Codebook:
    """Items of a questionnaire grouped into constructs; validated once, then immutable.

    Parameters
    ----------
    items : sequence of Item
        One entry per item, in questionnaire order.
    constructs : sequence of str, optional
        The constructs, in reporting order. Default: in order of first appearance. Given,
        every item's construct must be one of them and each must have an item.

    Raises
    ------
    SurveyError
        Duplicate item names, an item of an undeclared construct, a declared construct
        without items, a bad range or a reverse-coded item without a range.

    Examples
    --------
    >>> from spillover.survey import Codebook
    >>> cb = Codebook.from_constructs(
    ...     {"environment": ["env1", "env2", "env3"], "structure": ["str1", "str2", "str3"]},
    ...     scale=(1, 5), reverse=["env3"])
    >>> cb.constructs["environment"], cb.reversed_items
    (('env1', 'env2', 'env3'), ('env3',))
    """

    def __init__(self, items: Sequence[Item], *, constructs: Sequence[str] | None = None) -> None:
        items = tuple(items)
        if not items or not all(isinstance(i, Item) for i in items):
            raise SurveyError("a codebook needs a non-empty sequence of Item entries.")
        names = pd.Index([i.name for i in items])
        if names.has_duplicates:
            dup = names[names.duplicated()].unique()
            raise SurveyError(
                f"the codebook lists {len(dup)} item(s) more than once: {preview(dup)}. "
                "Each item may belong to one construct only; remove the repeated rows."
            )
        used = list(dict.fromkeys(i.construct for i in items))
        order = used if constructs is None else list(constructs)
        _check_constructs(items, order)
        self._items = MappingProxyType({i.name: i for i in items})
        self._constructs = MappingProxyType(
            {c: tuple(i.name for i in items if i.construct == c) for c in order}
        )

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_constructs(
        cls,
        constructs: Mapping[str, Sequence[str]],
        *,
        scale: tuple[float, float] | None = None,
        reverse: Sequence[str] = (),
    ) -> Codebook:
        """Codebook from construct -> items, one answer range for all items."""
        low, high = (None, None) if scale is None else scale
        flip = set(reverse)
        listed = {i for its in constructs.values() for i in its}
        unknown = flip - listed
        if unknown:
            raise SurveyError(f"reverse names items not in any construct: {preview(unknown)}.")
        items = [
            Item(name, c, reverse=name in flip, min=low, max=high)
            for c, names in constructs.items()
            for name in names
        ]
        return cls(items, constructs=list(constructs))

    @classmethod
    def from_dict(cls, entries: Mapping[str, Mapping[str, Any]]) -> Codebook:
        """Codebook from ``{item: {"construct": ..., "range": (1, 5), "reverse": ...,
        "label": ..., "value_labels": {...}}}``; only ``construct`` is required."""
        items = []
        for name, spec in entries.items():
            spec = dict(spec)
            unknown = set(spec) - {"construct", "range", "reverse", "label", "value_labels"}
            if "construct" not in spec or unknown:
                raise SurveyError(
                    f"item {name!r}: give 'construct' and optionally 'range', 'reverse', "
                    f"'label', 'value_labels'; got keys {sorted(spec)}."
                )
            low, high = spec.get("range") or (None, None)
            items.append(
                Item(name, spec["construct"], str(spec.get("label", "")),
                     _flag(spec.get("reverse", False), name), _number(low), _number(high),
                     dict(spec.get("value_labels", {})))
            )  # fmt: skip
        return cls(items)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Codebook:
        """Codebook from a table with one row per item.

        Columns: ``item`` and ``construct`` (required), ``label``, ``reverse`` (1/0,
        yes/no, true/false), ``min`` and ``max``, ``value_labels`` (text such as
        ``"1=strongly disagree; 5=strongly agree"``). Other columns are an error.
        """
        allowed = ["item", "construct", "label", "reverse", "min", "max", "value_labels"]
        cols = [str(c).strip().lower() for c in frame.columns]
        bad = [c for c in cols if c not in allowed]
        if bad or not {"item", "construct"} <= set(cols):
            raise SurveyError(
                f"a codebook table needs columns 'item' and 'construct' and may have "
                f"{allowed[2:]}; got {list(frame.columns)}."
            )
        rows = frame.set_axis(cols, axis=1).to_dict("records")
        return cls([_item_from_row(r, k) for k, r in enumerate(rows, start=1)])

    @classmethod
    def from_file(cls, path: str | Path, *, sheet: str | int = 0) -> Codebook:
        """Read a codebook table (see :meth:`from_frame`) from CSV or an Excel sheet."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return cls.from_frame(pd.read_csv(path, dtype={"item": str, "construct": str}))
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return cls.from_frame(pd.read_excel(path, sheet_name=sheet))
        raise SurveyError(f"cannot read a codebook from {path.name!r}: use .csv or .xlsx.")

    @classmethod
    def from_spss(
        cls,
        path: str | Path,
        constructs: Mapping[str, Sequence[str]],
        *,
        reverse: Sequence[str] = (),
        scale: tuple[float, float] | None = None,
    ) -> Codebook:
        """Codebook from an SPSS ``.sav`` file's variable and value labels.

        SPSS files do not record constructs, so ``constructs`` says which variables form
        which construct. Labels come from the file. The range is ``scale`` if given, else
        the lowest and highest labelled value that is not a user-missing code (an item
        without value labels then has no range).
        """
        meta = read_labelled(path, metadata_only=True)[1]
        base = cls.from_constructs(constructs, scale=scale)
        flip = set(reverse) - set(base.items)
        if flip:
            raise SurveyError(f"reverse names items not in any construct: {preview(flip)}.")
        absent = [i for i in base.items if i not in meta.variable_labels]
        if absent:
            raise SurveyError(
                f"{len(absent)} items are not variables of {Path(path).name}: {preview(absent)}."
            )
        items = []
        for item in base:
            labels = meta.value_labels.get(item.name, {})
            low, high = (item.min, item.max) if scale else _label_range(labels, meta, item.name)
            items.append(
                Item(item.name, item.construct, meta.variable_labels.get(item.name) or "",
                     item.name in set(reverse), low, high, labels)
            )  # fmt: skip
        return cls(items, constructs=list(constructs))

    # ------------------------------------------------------------------ views
    @property
    def items(self) -> tuple[str, ...]:
        """Item names in codebook order."""
        return tuple(self._items)

    @property
    def constructs(self) -> Mapping[str, tuple[str, ...]]:
        """Construct name -> its items (read-only)."""
        return self._constructs

    @property
    def reversed_items(self) -> tuple[str, ...]:
        return tuple(n for n, i in self._items.items() if i.reverse)

    def __getitem__(self, name: str) -> Item:
        if name not in self._items:
            raise SurveyError(f"{name!r} is not in the codebook; items: {preview(self.items)}.")
        return self._items[name]

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Codebook) and self.to_frame().equals(other.to_frame())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = ", ".join(f"{c} ({len(i)})" for c, i in self._constructs.items())
        return f"Codebook({len(self)} items in {len(self._constructs)} constructs: {parts})"

    def replace(self, item: str, **changes: Any) -> Codebook:
        """A new Codebook with fields of one item changed (e.g. ``label=...``)."""
        old = self[item]
        new = Item(**{**old.__dict__, "value_labels": dict(old.value_labels), **changes})
        return Codebook(
            [new if i.name == item else i for i in self], constructs=list(self._constructs)
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per item: construct, label, reverse, min, max, value_labels (as text);
        :meth:`from_frame` reads it back."""
        rows = [
            {"item": i.name, "construct": i.construct, "label": i.label, "reverse": i.reverse,
             "min": i.min, "max": i.max, "value_labels": _labels_text(i.value_labels)}
            for i in self
        ]  # fmt: skip
        return pd.DataFrame(rows)


def as_codebook(codebook: Codebook | pd.DataFrame | Mapping[str, Any]) -> Codebook:
    """The one coercion boundary: a Codebook, a codebook table or a dict (see Codebook)."""
    if isinstance(codebook, Codebook):
        return codebook
    if isinstance(codebook, pd.DataFrame):
        return Codebook.from_frame(codebook)
    if isinstance(codebook, Mapping):
        return Codebook.from_dict(codebook)
    raise SurveyError(
        f"expected a Codebook, a codebook table (DataFrame) or a dict, got "
        f"{type(codebook).__name__}."
    )


def _check_constructs(items: tuple[Item, ...], order: list[str]) -> None:
    declared = set(order)
    unknown = [i.name for i in items if i.construct not in declared]
    if unknown:
        raise SurveyError(
            f"{len(unknown)} items belong to constructs not declared in constructs={order}: "
            f"{preview(unknown)}. Add the construct or correct the item's construct."
        )
    empty = [c for c in order if not any(i.construct == c for i in items)]
    if empty:
        raise SurveyError(f"constructs {preview(empty)} have no items in the codebook.")


def _item_from_row(row: dict[str, Any], number: int) -> Item:
    name = row.get("item")
    if not isinstance(name, str) or not name.strip():
        raise SurveyError(f"codebook row {number} has no item name.")
    construct = row.get("construct")
    if not isinstance(construct, str) or not construct.strip():
        raise SurveyError(f"codebook row {number} (item {name!r}) has no construct.")
    label = row.get("label")
    return Item(
        name.strip(), construct.strip(), "" if _blank(label) else str(label),
        _flag(row.get("reverse", False), name), _number(row.get("min")),
        _number(row.get("max")), _parse_labels(row.get("value_labels"), name),
    )  # fmt: skip


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value: Any) -> float | None:
    if _blank(value) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SurveyError(f"range bound {value!r} is not a number.") from None


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if _blank(value) else str(value).strip().lower()
    text = text[:-2] if text.endswith(".0") else text
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise SurveyError(f"item {name!r}: reverse flag {value!r} is not yes/no, true/false or 1/0.")


def _parse_labels(value: Any, name: str) -> dict[float, str]:
    if _blank(value) or not str(value).strip():
        return {}
    labels = {}
    for part in str(value).split(";"):
        code, sep, text = part.partition("=")
        if not sep or _number(code.strip()) is None:
            raise SurveyError(
                f"item {name!r}: value labels {value!r} should read like "
                "'1=strongly disagree; 5=strongly agree'."
            )
        labels[_number(code.strip())] = text.strip()
    return labels


def _labels_text(labels: Mapping[float, str]) -> str:
    return "; ".join(f"{float(k):g}={v}" for k, v in labels.items())


def _label_range(labels: Mapping[float, str], meta: Any, name: str) -> tuple[Any, Any]:
    codes = [float(k) for k in labels if not meta.is_missing_code(name, float(k))]
    return (min(codes), max(codes)) if codes else (None, None)
