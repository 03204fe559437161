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
from spillover.report import _maps
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
    fig: Figure,
    path: str | Path,
    *,
    formats: Sequence[str] = ("pdf", "png"),
    dpi: float | None = None,
) -> list[Path]:
    """Save ``fig`` as ``path`` with each suffix in ``formats``; atomic and deterministic.

    ``dpi`` sets the resolution of raster formats (default 300, the print style's).
    """
    base = Path(path).with_suffix("")
    written = []
    for fmt in formats:
        buf = io.BytesIO()
        meta = {"CreationDate": None, "Producer": None} if fmt == "pdf" else {}
        if fmt == "png":
            meta = {"Software": None}
        with plt.rc_context(STYLE):
            fig.savefig(buf, format=fmt, metadata=meta, **({} if dpi is None else {"dpi": dpi}))
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
    cmap: str | None = None,
    title: str | None = None,
    legend_title: str | None = None,
    units: str | None = None,
    base_year: Any | None = None,
    source: str | None = None,
    fmt: str = "{:.2f}",
    to_crs: Any | None = None,
    ax: plt.Axes | None = None,
) -> Figure:
    """Map ``column`` in ``period`` (default: the last) on the panel's geometry.

    Parameters
    ----------
    scheme : str or None, default "quantiles"
        Any mapclassify scheme (``"quantiles"``, ``"equal_interval"``, ``"natural_breaks"``,
        ``"fisher_jenks"``...) with ``k`` classes, or None for a continuous colour bar. The
        legend lists each class as an interval, ``[min, b1]`` then ``(b_{i-1}, b_i]``,
        under a title naming the variable, its units, the base year, the scheme and the
        number of classes; entities without a value are grey, "no data (n)".
    cmap : str, optional
        Default: sequential ``viridis`` for data of one sign, diverging ``RdBu_r``
        centred at zero (limits symmetric around 0) when values take both signs; both
        colour-blind safe.
    legend_title, units, base_year : optional
        ``legend_title (units, base year Y)``; ``legend_title`` defaults to ``column``.
    source : str, optional
        A source note under the map ("Source: " is prefixed unless present).
    fmt : str, default "{:.2f}"
        Format of the class limits.
    to_crs : optional
        CRS to draw in (display only; the panel is untouched). Default: the geometry's
        own CRS if projected; longitude/latitude is drawn in an equal-area projection
        chosen for the data's extent (:func:`spillover.report._maps.equal_area_crs`).

    The legend sits outside the map, to its right, so it covers no region.

    Examples
    --------
    >>> from spillover import datasets
    >>> fig = choropleth(datasets.us_states(), "unemp", period=1986, k=4, units="%",
    ...                  source="Munnell (1990)")
    >>> fig.axes[0].get_legend().get_title().get_text()
    'unemp (%)\\nQuantiles, 4 classes (mapclassify)'
    """
    values = _cross_section(panel, column, period)
    period = panel.periods[-1] if period is None else period
    gdf = _maps.for_display(panel.geo, to_crs)
    value = values.reindex(gdf.index).to_numpy(dtype=float)
    cmap_obj, norm = _maps.palette(value, cmap)
    label = _maps.legend_title(legend_title or column, units, base_year)
    missing = ~np.isfinite(value)
    with print_style():
        fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6.5, 4.2))
        if missing.any():
            gdf[missing].plot(ax=ax, color=_maps.MISSING, linewidth=0.3, edgecolor=_maps.EDGE)
        shown = gdf[~missing]
        if scheme:
            classes = _maps.classify(value, scheme, k, fmt)
            colours = _maps.class_colours(classes, cmap_obj, norm)
            index = classes.index[~missing]
            shown.plot(ax=ax, color=[colours[i] for i in index], linewidth=0.3,
                       edgecolor=_maps.EDGE)  # fmt: skip
            ax.collections[-1].set_cmap(cmap_obj)
            ax.collections[-1].set_norm(norm)
            title_text = f"{label}\n{classes.scheme}"
            _maps.class_legend(ax, classes, colours, title_text, int(missing.sum()))
        else:
            shown.assign(_value=value[~missing]).plot(
                ax=ax, column="_value", cmap=cmap_obj, norm=norm, linewidth=0.3,
                edgecolor=_maps.EDGE,
            )  # fmt: skip
            bar = fig.colorbar(ax.collections[-1], ax=ax, shrink=0.6, pad=0.02)
            bar.set_label(label)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(title or f"{column}, {period}")
        _maps.source_note(ax, source)
    return fig


def lisa_map(
    panel: Panel,
    labels: pd.Series,
    *,
    alpha: float | None = None,
    permutations: int | None = None,
    title: str | None = None,
    source: str | None = None,
    to_crs: Any | None = None,
    ax: plt.Axes | None = None,
) -> Figure:
    """LISA cluster map: ``labels`` by entity, in {"HH", "LH", "LL", "HL", "ns"}.

    ``alpha`` (the significance level of the pseudo p-values) and ``permutations``
    (conditional permutations behind them) are stated in the title; they default to
    those :func:`spillover.measures.lisa` records on its result (``labels.attrs``) and
    must be given otherwise. The legend (with counts) sits outside the map; ``source``
    and ``to_crs`` are as in :func:`choropleth` (longitude/latitude: equal-area).
    """
    unknown = set(labels.dropna().unique()) - set(LISA_COLOURS)
    if unknown:
        raise SpecificationError(
            f"unknown LISA labels {sorted(unknown)}; use {list(LISA_COLOURS)}."
        )
    alpha = labels.attrs.get("alpha") if alpha is None else alpha
    permutations = labels.attrs.get("permutations") if permutations is None else permutations
    if alpha is None or permutations is None:
        raise SpecificationError(
            "a LISA map states its significance level and number of permutations: pass "
            "alpha= and permutations= (spillover.measures.lisa records both on its result)."
        )
    lab = labels.reindex(panel.geo.index).fillna("ns")
    caption = f"p \u2264 {alpha:g}, {int(permutations):,} conditional permutations"
    with print_style():
        fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6.5, 4.2))
        geo = _maps.for_display(panel.geo, to_crs)
        geo.plot(ax=ax, color=[LISA_COLOURS[v] for v in lab], linewidth=0.3, edgecolor=_maps.EDGE)
        handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in LISA_COLOURS.values()]
        counts = lab.value_counts()
        names = [f"{k} ({counts.get(k, 0)})" for k in LISA_COLOURS]
        ax.legend(handles, names, title=f"Local Moran's I\n{caption}", alignment="left",
                  **_maps.OUTSIDE)  # fmt: skip
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(f"{title or 'Local Moran clusters'} ({caption})")
        _maps.source_note(ax, source)
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
        ax.set_ylabel(f"spatial lag of {values.name or 'value'} (standardised)")
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
    xlabel: str | None = None,
) -> Figure:
    """Point estimates and ``level`` confidence intervals of ``terms`` across models.

    ``reference`` marks a value per term (e.g. the true elasticity of a simulation, or a
    published estimate) with a black cross on the term's row. ``xlabel`` names the axis
    with its units (default "estimate with 95% interval"). The legend sits outside the
    data, to the right.
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
        ax.set_xlabel(xlabel or f"estimate with {level:.0%} interval")
        if len(named) > 1 or reference:
            ax.legend(**_maps.OUTSIDE)
        if title:
            ax.set_title(title)
    return fig


def effects_plot(
    effects: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    xlabel: str | None = None,
) -> Figure:
    """Direct, indirect and total effects with their intervals (columns lower/upper).

    ``xlabel`` names the axis, with units where they help (e.g. "effect on log output
    per worker"); default "effect (estimate and interval)", or with the interval level
    when the frame records it (``effects.attrs["level"]``).
    """
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
        level = effects.attrs.get("level")
        interval = "interval" if level is None else f"{float(level):.0%} interval"
        ax.set_xlabel(xlabel or f"effect (estimate and {interval})")
        ax.legend(frameon=False, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.3))
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
