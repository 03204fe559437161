"""What the study tests share: the numbers a findings README may quote."""

from __future__ import annotations

from typing import Any


def numbers(tree: Any) -> list[float]:
    """Every int or float in a parsed ``results.json`` (booleans excluded), depth first."""
    if isinstance(tree, dict):
        return [x for v in tree.values() for x in numbers(v)]
    if isinstance(tree, list):
        return [x for v in tree for x in numbers(v)]
    if isinstance(tree, bool) or not isinstance(tree, int | float):
        return []
    return [float(tree)]
