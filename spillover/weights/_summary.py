"""The terminal report of a weights matrix's structure: :class:`WeightsSummary`, what
:meth:`Weights.describe` prints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import connected_components

from spillover._validate import preview


@dataclass(frozen=True)
class WeightsSummary:
    """Structure of a weights matrix, printed as a short terminal report.

    Attributes
    ----------
    name, transform : str
        As on the Weights.
    n, nnz : int
        Entities and non-zero weights.
    symmetric : bool
        Whether w_ij == w_ji (to 1e-12 relative).
    islands : pandas.Index
        Entities without neighbours.
    component_sizes : pandas.Series
        Size of each weakly connected component, largest first (islands count as
        components of size 1).
    cardinalities : pandas.Series
        Neighbours per entity.
    row_sums : pandas.Series
        Sum of each row.
    unit : str
        Distance unit of distance-based weights ("" otherwise).
    """

    name: str
    transform: str
    n: int
    nnz: int
    symmetric: bool
    islands: pd.Index
    component_sizes: pd.Series
    cardinalities: pd.Series
    row_sums: pd.Series
    unit: str = ""

    @classmethod
    def of(cls, w: Any) -> WeightsSummary:
        """The summary of ``w``, a :class:`~spillover.weights.Weights`."""
        _, labels = connected_components(w.matrix, directed=True, connection="weak")
        sizes = pd.Series(np.bincount(labels)).sort_values(ascending=False, kind="stable")
        return cls(
            name=w.name or "unnamed",
            transform=w.transform,
            n=w.n,
            nnz=w.nnz,
            symmetric=w.is_symmetric,
            islands=w.islands,
            component_sizes=sizes.reset_index(drop=True),
            cardinalities=w.cardinalities,
            row_sums=w.row_sums,
            unit=str(w.meta.get("unit", "")),
        )

    @property
    def n_components(self) -> int:
        return len(self.component_sizes)

    def _lines(self) -> list[tuple[str, str]]:
        card, rows = self.cardinalities, self.row_sums
        density = self.nnz / self.n**2 if self.n else 0.0
        comps = f"{self.n_components}"
        if self.n_components > 1:
            comps += f" (sizes {preview(self.component_sizes.tolist(), 6)})"
        islands = "none" if not len(self.islands) else f"{len(self.islands)}: "
        islands += preview(self.islands) if len(self.islands) else ""
        lines = [
            ("entities", f"{self.n}"),
            ("non-zero weights", f"{self.nnz} (density {density:.3%})"),
            ("symmetric", "yes" if self.symmetric else "no"),
            (
                "neighbours",
                f"min {card.min()}, mean {card.mean():.2f}, median {card.median():g}, "
                f"max {card.max()}"
                if self.n
                else "-",
            ),
            ("islands", islands),
            ("connected components", comps),
            ("row sums", f"min {rows.min():.4g}, max {rows.max():.4g}" if self.n else "-"),
        ]
        counts = card.value_counts().sort_index()
        if 1 < len(counts) <= 12:
            lines.append(("neighbour counts", "  ".join(f"{k}:{v}" for k, v in counts.items())))
        if self.unit:
            lines.append(("distance unit", self.unit))
        return lines

    def __str__(self) -> str:
        head = f"Weights {self.name} (transform: {self.transform})"
        body = [f"  {label:<22}{value}" for label, value in self._lines()]
        return "\n".join([head, *body])

    __repr__ = __str__

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers for JSON or tables."""
        card = self.cardinalities
        return {
            "name": self.name,
            "transform": self.transform,
            "n": self.n,
            "nnz": self.nnz,
            "symmetric": self.symmetric,
            "islands": len(self.islands),
            "components": self.n_components,
            "neighbours_min": int(card.min()) if self.n else 0,
            "neighbours_mean": float(card.mean()) if self.n else 0.0,
            "neighbours_max": int(card.max()) if self.n else 0,
        }
