"""Figures for papers: maps, Moran scatterplots, coefficient, effects and decay plots.

All functions return a matplotlib Figure drawn in one print style (serif-free, 8-9 pt,
thin spines, colour-blind-safe palette) and never call ``plt.show``. Save with
:func:`save_figure`, which writes PDF and PNG whole or not at all, without timestamps,
so the same inputs give byte-identical files.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from spillover.errors import SpecificationError
from spillover.models._results import Results
from spillover.panel import Panel
from spillover.report._files import write_atomic
from spillover.weights import Weights, as_weights

STYLE: dict[str, Any] = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.0,
    "figure.dpi": 150,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,
    "svg.hashsalt": "spillover",
}
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
LISA_COLOURS = {"HH": "#d7191c", "LH": "#abd9e9", "LL": "#2c7bb6", "HL": "#fdae61", "ns": "#eeeeee"}


@contextmanager
def print_style() -> Iterator[None]:
    """Context manager applying the toolkit's print style to figures made inside it."""
    with plt.rc_context(STYLE):
        yield


def save_figure(
    fig: Figure, path: str | Path, *, formats: Sequence[str] = ("pdf", "png")
) -> list[Path]:
    """Save ``fig`` as ``path`` with each suffix in ``formats``; atomic and deterministic."""
    base = Path(path).with_suffix("")
    written = []
    for fmt in formats:
        buf = io.BytesIO()
        meta = {"CreationDate": None, "Producer": None} if fmt == "pdf" else {}
        if fmt == "png":
            meta = {"Software": None}
        with plt.rc_context(STYLE):
            fig.savefig(buf, format=fmt, metadata=meta)
        written.append(write_atomic(base.with_suffix(f".{fmt}"), buf.getvalue()))
    return written


def _cross_section(panel: Panel, column: str, period: Any | None) -> pd.Series:
    values = panel[column]
    if period is None:
        period = panel.periods[-1]
    if period not in set(panel.periods):
        raise SpecificationError(
            f"period {period!r} is not in the panel; periods: {list(panel.periods)[:10]}"
        )
    return values.xs(period, level=1)


def choropleth(
    panel: Panel,
    column: str,
    *,
    period: Any | None = None,
    scheme: str | None = "quantiles",
    k: int = 5,
    cmap: str = "viridis",
    title: str | None = None,
    legend_title: str | None = None,
    to_crs: Any | None = None,
    ax: plt.Axes | None = None,
) -> Figure:
    """Map ``column`` in ``period`` (default: the last) on the panel's geometry.

    ``scheme`` is any mapclassify classifier name (``"quantiles"``, ``"natural_breaks"``,
    ``"equal_interval"``, ``"fisher_jenks"``...) or None for a continuous colour bar.
    Entities without a value in that period are drawn in light grey and named in the
    legend as "no data". ``to_crs`` reprojects for display only (e.g. ``"EPSG:5070"``,
    Albers equal area, for the US), leaving the panel's geometry untouched.
    """
    values = _cross_section(panel, column, period)
    gdf = panel.geo.assign(_value=values.reindex(panel.geo.index).to_numpy())
    if to_crs is not None:
        gdf = gdf.to_crs(to_crs)
    with print_style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.5, 4.2))
        fig = ax.figure
        kw: dict[str, Any] = {
            "column": "_value",
            "cmap": cmap,
            "linewidth": 0.3,
            "edgecolor": "white",
            "legend": True,
            "missing_kwds": {"color": "#dddddd", "label": "no data"},
        }
        if scheme:
            kw.update(
                scheme=scheme,
                k=k,
                legend_kwds={
                    "title": legend_title or column,
                    "fmt": "{:.2f}",
                    "loc": "lower left",
                    "frameon": False,
                },
            )
        else:
            kw["legend_kwds"] = {"label": legend_title or column, "shrink": 0.6}
        gdf.plot(ax=ax, **kw)
        ax.set_axis_off()
        ax.set_title(title or f"{column}, {period if period is not None else panel.periods[-1]}")
    return fig


def lisa_map(
    panel: Panel,
    labels: pd.Series,
    *,
    title: str | None = None,
    to_crs: Any | None = None,
    ax: plt.Axes | None = None,
) -> Figure:
    """LISA cluster map: ``labels`` by entity, in {"HH", "LH", "LL", "HL", "ns"}.

    ``to_crs`` reprojects for display only, as in :func:`choropleth`.
    """
    unknown = set(labels.dropna().unique()) - set(LISA_COLOURS)
    if unknown:
        raise SpecificationError(
            f"unknown LISA labels {sorted(unknown)}; use {list(LISA_COLOURS)}."
        )
    lab = labels.reindex(panel.geo.index).fillna("ns")
    with print_style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.5, 4.2))
        fig = ax.figure
        geo = panel.geo if to_crs is None else panel.geo.to_crs(to_crs)
        geo.plot(ax=ax, color=[LISA_COLOURS[v] for v in lab], linewidth=0.3, edgecolor="white")
        handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in LISA_COLOURS.values()]
        counts = lab.value_counts()
        names = [f"{k} ({counts.get(k, 0)})" for k in LISA_COLOURS]
        ax.legend(handles, names, loc="lower left", frameon=False)
        ax.set_axis_off()
        ax.set_title(title or "Local Moran clusters")
    return fig


def moran_scatter(
    values: pd.Series, w: Weights | Any, *, title: str | None = None, ax: plt.Axes | None = None
) -> Figure:
    """Moran scatterplot of standardised values z against their spatial lag Wz.

    ``values`` is indexed by entity id and matched by id to ``w`` (Weights or a libpysal
    W/Graph, via :func:`spillover.weights.as_weights`). With row-standardised W the fitted
    line's slope is Moran's I.
    """
    w = as_weights(w, what="ids of `values`")
    x = values.reindex(w.ids)
    if x.isna().any():
        raise SpecificationError(f"{int(x.isna().sum())} weights ids have no value in `values`.")
    z = ((x - x.mean()) / x.std(ddof=0)).to_numpy()
    wz = w.matrix @ z
    slope = float(z @ wz / (z @ z))
    with print_style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(3.5, 3.3))
        fig = ax.figure
        ax.scatter(z, wz, s=8, color=PALETTE[0], alpha=0.7, linewidths=0)
        grid = np.linspace(z.min(), z.max(), 2)
        ax.plot(grid, slope * grid, color=PALETTE[1])
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_xlabel(f"{values.name or 'value'} (standardised)")
        ax.set_ylabel("spatial lag")
        ax.set_title(title or f"Moran scatterplot (slope {slope:.3f})")
    return fig


def _intervals(
    ax: plt.Axes, est: Any, lower: Any, upper: Any, pos: Any, colour: str, label: str
) -> None:
    """Horizontal point-and-interval markers at vertical positions ``pos``."""
    est, lower, upper = (np.asarray(a, dtype=float) for a in (est, lower, upper))
    ax.errorbar(
        est,
        pos,
        xerr=[est - lower, upper - est],
        fmt="o",
        ms=3.5,
        color=colour,
        label=label,
        capsize=0,
    )


def _forest_axis(ax: plt.Axes, labels: list[str]) -> None:
    """Zero line, one labelled row per term, first term on top."""
    ax.axvline(0, color="grey", lw=0.6, ls="--")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()


def coef_plot(
    results: Mapping[str, Results] | Sequence[Results],
    terms: Sequence[str],
    *,
    level: float = 0.95,
    labels: Mapping[str, str] | None = None,
    reference: Mapping[str, float] | None = None,
    reference_label: str = "true value",
    title: str | None = None,
) -> Figure:
    """Point estimates and ``level`` confidence intervals of ``terms`` across models.

    ``reference`` marks a value per term (e.g. the true elasticity of a simulation, or a
    published estimate) with a black cross on the term's row.
    """
    named = (
        dict(results)
        if isinstance(results, Mapping)
        else {f"({i + 1}) {r.model}": r for i, r in enumerate(results)}
    )
    labels = dict(labels or {})
    offsets = np.linspace(-0.25, 0.25, len(named)) if len(named) > 1 else [0.0]
    with print_style():
        fig, ax = plt.subplots(figsize=(4.5, 0.5 + 0.45 * len(terms) * max(1, len(named) / 2)))
        for (name, res), off, colour in zip(named.items(), offsets, PALETTE, strict=False):
            present = [t for t in terms if t in res.params.index]
            ci = res.conf_int(level).loc[present]
            pos = np.array([terms.index(t) for t in present]) + off
            _intervals(ax, res.params[present], ci.lower, ci.upper, pos, colour, name)
        _forest_axis(ax, [labels.get(t, t) for t in terms])
        if reference:
            marked = [t for t in terms if t in reference]
            ax.scatter(
                [reference[t] for t in marked],
                [terms.index(t) for t in marked],
                marker="x",
                color="black",
                s=18,
                zorder=3,
                label=reference_label,
            )
        ax.set_xlabel(f"estimate with {level:.0%} interval")
        if len(named) > 1 or reference:
            ax.legend(frameon=False)
        if title:
            ax.set_title(title)
    return fig


def effects_plot(
    effects: pd.DataFrame, *, labels: Mapping[str, str] | None = None, title: str | None = None
) -> Figure:
    """Direct, indirect and total effects with their intervals (columns lower/upper)."""
    frame = effects.reset_index() if "variable" not in effects.columns else effects
    need = {"variable", "effect", "estimate", "lower", "upper"}
    if not need.issubset(frame.columns):
        raise SpecificationError(f"effects need columns {sorted(need)}, got {list(frame.columns)}.")
    labels = dict(labels or {})
    variables = list(dict.fromkeys(frame["variable"]))
    kinds = ["direct", "indirect", "total"]
    with print_style():
        fig, ax = plt.subplots(figsize=(4.5, 0.6 + 0.5 * len(variables)))
        for off, kind, colour in zip((-0.2, 0.0, 0.2), kinds, PALETTE[:3], strict=True):
            sub = frame[frame["effect"] == kind].set_index("variable").reindex(variables)
            pos = np.arange(len(variables)) + off
            _intervals(ax, sub["estimate"], sub["lower"], sub["upper"], pos, colour, kind)
        _forest_axis(ax, [labels.get(v, v) for v in variables])
        ax.legend(frameon=False, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.18))
        ax.set_title(title or "Spatial effects")
    return fig


def distance_decay_plot(
    results: Results,
    bands: Mapping[str, tuple[float, float]],
    *,
    level: float = 0.95,
    unit: str = "km",
    title: str | None = None,
) -> Figure:
    """Coefficients of distance-band spillover pools against band midpoints, with intervals.

    ``bands`` maps each pool's term name to its (lower, upper] distance band.
    """
    missing = [t for t in bands if t not in results.params.index]
    if missing:
        raise SpecificationError(f"terms {missing} are not in the results' params.")
    terms = list(bands)
    mid = np.array([(lo + hi) / 2 for lo, hi in bands.values()])
    ci = results.conf_int(level).loc[terms]
    est = results.params[terms].to_numpy()
    with print_style():
        fig, ax = plt.subplots(figsize=(4.5, 3.0))
        ax.fill_between(mid, ci.lower, ci.upper, color=PALETTE[0], alpha=0.2, lw=0)
        ax.plot(mid, est, "o-", color=PALETTE[0], ms=3.5)
        ax.axhline(0, color="grey", lw=0.6, ls="--")
        ax.set_xlabel(f"distance band midpoint ({unit})")
        ax.set_ylabel(f"elasticity with {level:.0%} interval")
        ax.set_title(title or "Spatial decay of the spillover effect")
    return fig
