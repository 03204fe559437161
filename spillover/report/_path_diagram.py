"""What a path diagram shows: nodes, paths and a grid layout, read from fitted results.

The grid is in layout units (one column or one row per unit); the drawing code turns it
into inches. Nothing here draws.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from spillover._validate import preview
from spillover.errors import SpecificationError
from spillover.report._format import format_number
from spillover.survey import MediationResults, SEMResults

#: Mediation parameter names: ``"a: x -> m1"``, ``"b: m1 -> y"``, ``"c': x -> y"``, ``"d: ..."``.
_MEDIATION_PATH = re.compile(r"^(a|b|c'|d): (.+) -> (.+)$")
#: Vertical spacing of measurement items, in rows.
_ITEM_STEP = 0.7


@dataclass(frozen=True)
class Path:
    """One arrow: regression ``source -> target`` or covariance ``source <-> target``."""

    source: str
    target: str
    estimate: float
    pvalue: float
    double: bool = False
    at: float = 0.5  # where the label sits, as a fraction from source to target


@dataclass(frozen=True)
class Diagram:
    """Nodes (latent ones drawn as ellipses), paths, default grid layout, a caption."""

    latent: frozenset[str]
    paths: tuple[Path, ...]
    grid: dict[str, tuple[float, float]]
    caption: tuple[str, ...]


def from_sem(
    res: SEMResults, *, standardized: bool, measurement: bool | None, covariances: bool
) -> Diagram:
    """Regressions (``~``), optionally loadings (``=~``) and covariances (``~~``)."""
    table = res.estimates
    value = "std_all" if standardized else "estimate"
    latent = frozenset(table.loc[table["op"] == "=~", "lhs"])
    regressions = table[table["op"] == "~"]
    if measurement is None:
        measurement = regressions.empty
    structural = [
        Path(r.rhs, r.lhs, float(getattr(r, value)), float(r.pvalue))
        for r in regressions.itertuples()
    ]
    loadings = table[table["op"] == "=~"] if measurement else table.iloc[:0]
    items = [
        Path(r.lhs, r.rhs, float(getattr(r, value)), float(r.pvalue), at=0.62)
        for r in loadings.itertuples()
    ]
    if not structural and not items:
        raise SpecificationError(
            "the model has no regressions (~) to draw; pass measurement=True to draw the "
            "loadings (=~)."
        )
    grid = _sem_grid(structural, items)
    paths = structural + items
    if covariances:
        cov = table[(table["op"] == "~~") & (table["lhs"] != table["rhs"])]
        paths += [
            Path(r.lhs, r.rhs, float(getattr(r, value)), float(r.pvalue), double=True)
            for r in cov.itertuples()
            if r.lhs in grid and r.rhs in grid
        ]
    kind = "Standardized estimates (std.all)" if standardized else "Unstandardized estimates"
    return Diagram(latent, tuple(paths), grid, (f"{kind}; N = {res.nobs:,}.",))


def from_mediation(res: MediationResults, *, digits: int) -> Diagram:
    """x left, mediators in the middle (stacked if parallel, chained if serial), y right."""
    paths, order = [], []
    pvalues = res.pvalues
    for name, est in res.params.items():
        match = _MEDIATION_PATH.match(str(name))
        if match is None:
            continue
        letter, source, target = match.groups()
        if letter == "a":
            order.append(target)
        paths.append(Path(source, target, float(est), float(pvalues[name])))
    if not order:
        raise SpecificationError("the mediation results have no a paths ('a: x -> m').")
    x = paths[0].source
    y = next(p.target for p in paths if p.source == x and p.target not in order)
    serial = any(p.source in order and p.target in order for p in paths)
    grid = {x: (0.0, 0.0), y: (len(order) + 1.0 if serial else 2.0, 0.0)}
    for j, m in enumerate(order):
        grid[m] = (j + 1.0, 1.0) if serial else (1.0, float(len(order) - j))
    return Diagram(frozenset(), tuple(paths), grid, _mediation_caption(res, digits))


def _mediation_caption(res: MediationResults, digits: int) -> tuple[str, ...]:
    """Indirect effects with their intervals, and what the coefficients are."""
    level = _interval_level(res)
    methods = set(res.indirect["method"]) - {"none"}
    kind = {"percentile": "percentile bootstrap", "bc": "bias-corrected bootstrap"}
    how = ", ".join(kind.get(m, m) for m in sorted(methods))
    head = f"Indirect effects [{level:g}% {how} interval]:" if how else "Indirect effects:"
    lines = [head]
    for effect, row in res.indirect.iterrows():
        low, high, est = (_fixed(row[k], digits) for k in ("lower", "upper", "estimate"))
        interval = "" if np.isnan(row["upper"]) else f" [{low}, {high}]"
        lines.append(f"  {effect}: {est}{interval}")
    notes = ["Coefficients in the units of the data (standardize it for standardized paths)",
             f"N = {res.nobs:,}"]  # fmt: skip
    if "Covariates" in res.info:
        notes.append(f"covariates ({res.info['Covariates']}) in every equation, not drawn")
    if "Bootstrap" in res.info:
        notes.append(f"bootstrap: {res.info['Bootstrap']}")
    return (*lines, "; ".join(notes) + ".")


def _interval_level(res: MediationResults) -> float:
    """The confidence level of the fit, in percent: as recorded by the fit, or (results
    from before it was recorded) read off the direct effect's Wald interval."""
    recorded = res.info.get("Interval level")
    if recorded:
        return float(str(recorded).rstrip("%"))
    row = res.effects.loc["direct"]
    critical = (row["upper"] - row["estimate"]) / row["std_error"]
    dist = stats.norm if res.df_resid is None else stats.t(res.df_resid)
    return round(100 * (1 - 2 * float(dist.sf(critical))), 2)


def _fixed(value: float, digits: int) -> str:
    """Fixed point with ``digits`` decimals and a true minus sign (caption intervals)."""
    return f"{value:.{digits}f}".replace("-", "\N{MINUS SIGN}")


def _num(value: float, digits: int) -> str:
    return format_number(value, digits).replace("-", "\N{MINUS SIGN}")


def _sem_grid(structural: Sequence[Path], items: Sequence[Path]) -> dict[str, tuple[float, float]]:
    """Columns by causal order (longest regression path from an exogenous variable); rows
    by the mean row of a node's predecessors; indicators in an outer column."""
    nodes = list(dict.fromkeys([n for p in structural for n in (p.source, p.target)]))
    nodes += [p.source for p in items if p.source not in nodes]
    depth = _depths(nodes, [(p.source, p.target) for p in structural])
    grid: dict[str, tuple[float, float]] = {}
    for col in range(max(depth.values()) + 1):
        members = [n for n in nodes if depth[n] == col]
        members.sort(key=lambda n: _barycentre(n, structural, grid))
        for i, n in enumerate(members):
            grid[n] = (2.0 * col, (len(members) - 1) / 2 - i)
    if items:
        _place_items(grid, items, cfa=not structural)
    return grid


def _depths(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    depth = dict.fromkeys(nodes, 0)
    for _ in range(len(nodes)):  # a cycle (non-recursive model) stops after N passes
        changed = False
        for s, t in edges:
            if depth[t] < depth[s] + 1:
                depth[t], changed = depth[s] + 1, True
        if not changed:
            break
    return depth


def _barycentre(node: str, paths: Sequence[Path], grid: Mapping[str, tuple[float, float]]) -> float:
    rows = [grid[p.source][1] for p in paths if p.target == node and p.source in grid]
    return -float(np.mean(rows)) if rows else 0.0


def _place_items(grid: dict[str, tuple[float, float]], items: Sequence[Path], *, cfa: bool) -> None:
    """Indicators stacked in an outer column, left of the exogenous factors and right of
    the last column's; a row below the factors in between; in a CFA right of the factors,
    each factor centred on its items."""
    names = [p.target for p in items]
    shared = sorted({n for n in names if names.count(n) > 1})
    if shared:
        raise SpecificationError(
            f"items {preview(shared)} load on several factors; pass layout= to place them."
        )
    xs = [x for x, _ in grid.values()]
    lo, hi = min(xs), max(xs)
    bottom = min(y for _, y in grid.values()) - 1.5
    left = [p for p in items if not cfa and hi > lo and grid[p.source][0] == lo]
    right = [p for p in items if cfa or grid[p.source][0] == hi]
    below = [p for p in items if p not in left and p not in right]
    for side, col in ((left, lo - 1.5), (right, hi + 1.5)):
        order = sorted(side, key=lambda p: -grid[p.source][1])
        top = (len(order) - 1) * _ITEM_STEP / 2
        for i, p in enumerate(order):
            grid[p.target] = (col, top - i * _ITEM_STEP)
    for factor in dict.fromkeys(p.source for p in below):
        row = [p.target for p in below if p.source == factor]
        for i, item in enumerate(row):
            grid[item] = (grid[factor][0] + (i - (len(row) - 1) / 2) * 0.6, bottom)
    if cfa:
        for factor in dict.fromkeys(p.source for p in items):
            rows = [grid[p.target][1] for p in items if p.source == factor]
            grid[factor] = (grid[factor][0], float(np.mean(rows)))


def user_grid(
    diagram: Diagram, layout: Mapping[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """The user's positions, checked to cover every node (extra names are refused)."""
    missing = [n for n in diagram.grid if n not in layout]
    unknown = [n for n in layout if n not in diagram.grid]
    if missing or unknown:
        raise SpecificationError(
            f"layout must give (x, y) for exactly the diagram's variables "
            f"{preview(diagram.grid, 20)}; missing {preview(missing)}, unknown {preview(unknown)}."
        )
    return {n: (float(layout[n][0]), float(layout[n][1])) for n in diagram.grid}
