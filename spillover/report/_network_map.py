"""Pieces of a knowledge-network map: node positions, sizes, colours, scale bar."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from spillover._validate import preview
from spillover.errors import AlignmentError, GeographyError, SpecificationError
from spillover.geo import crs_units_per_km
from spillover.networks import (
    CorePeriphery,
    KnowledgeNetwork,
    betweenness,
    closeness,
    degree,
    eigenvector,
)
from spillover.report._format import format_number
from spillover.report._maps import equal_area_crs, lonlat_extent
from spillover.report.figures import PALETTE

CENTRALITIES = {
    "degree": lambda net: degree(net).sum(axis=1),
    "betweenness": betweenness,
    "closeness": closeness,
    "eigenvector": eigenvector,
}
#: Marker areas (points^2) of the smallest and largest node.
SIZES = (10.0, 90.0)
#: Beyond this many distinct numeric values a colour attribute is continuous.
MAX_CATEGORIES = 8
MISSING = "#cccccc"


@dataclass(frozen=True)
class Layout:
    """Node positions in ``net.ids`` order and the CRS they are in (None: spring layout)."""

    xy: np.ndarray
    crs: Any | None


def geo_layout(net: KnowledgeNetwork, geo: Any, to_crs: Any, allow_geographic: bool) -> Layout:
    """Firm points, matched by firm id; longitude/latitude drawn equal-area unless
    ``to_crs`` names a CRS or ``allow_geographic`` keeps degrees."""
    if not isinstance(geo, gpd.GeoSeries | gpd.GeoDataFrame):
        raise SpecificationError(
            f"geo must be a GeoSeries or GeoDataFrame of firm points indexed by firm id; "
            f"got {type(geo).__name__}."
        )
    points = geo.geometry if isinstance(geo, gpd.GeoDataFrame) else geo
    missing = net.ids.difference(points.index)
    if len(missing):
        raise AlignmentError(
            f"{len(missing)} firms of the network have no location in geo, e.g. "
            f"{preview(missing)}. Index geo by the network's firm ids (net.ids) and give a "
            "point for every firm."
        )
    if not points.index.is_unique:
        dup = points.index[points.index.duplicated()].unique()
        raise AlignmentError(f"geo has several rows for firms {preview(dup)}.")
    points = points.loc[net.ids]
    if points.crs is None:
        raise GeographyError(
            "geo has no CRS; set the one its coordinates are in, e.g. geo.set_crs('EPSG:4326')."
        )
    if to_crs is not None:
        points = points.to_crs(to_crs)
    elif points.crs.is_geographic and not allow_geographic:  # degrees distort areas
        points = points.to_crs(equal_area_crs(lonlat_extent(points)))
    bad = points.geom_type != "Point"
    if bad.any():
        raise SpecificationError(
            f"geo must hold firm points; firms {preview(points.index[bad])} are "
            f"{preview(points[bad].geom_type.unique())}."
        )
    return Layout(np.column_stack([points.x.to_numpy(), points.y.to_numpy()]), points.crs)


def spring_layout(net: KnowledgeNetwork, seed: int) -> Layout:
    """Fruchterman-Reingold positions (networkx), seeded, in ``net.ids`` order."""
    pos = nx.spring_layout(net.graph, seed=seed)
    return Layout(np.array([pos[i] for i in net.ids]), None)


def node_values(net: KnowledgeNetwork, by: str | pd.Series, what: str) -> pd.Series:
    """A centrality by name, a column of the firm table, or a Series by firm id."""
    if isinstance(by, pd.Series):
        values = by.reindex(net.ids)
        return values.rename(by.name or what)
    if by in CENTRALITIES:
        return pd.Series(CENTRALITIES[by](net), index=net.ids).rename(by)
    if by in net.nodes.columns:
        return net.attribute(by)
    raise SpecificationError(
        f"{what}={by!r} is neither a centrality ({', '.join(CENTRALITIES)}) nor a column of "
        f"the firm table ({preview(net.nodes.columns, 12)}); a Series by firm id also works."
    )


def marker_areas(values: pd.Series) -> np.ndarray:
    """Areas between SIZES, linear in the value (the middle size if all values are equal)."""
    v = values.to_numpy(float)
    lo, hi = np.nanmin(v), np.nanmax(v)
    if not hi > lo:
        return np.full(len(v), sum(SIZES) / 2)
    return SIZES[0] + (SIZES[1] - SIZES[0]) * (np.nan_to_num(v, nan=lo) - lo) / (hi - lo)


def size_handles(values: pd.Series) -> list[Line2D]:
    """Three legend markers: the smallest, middle and largest value."""
    v = values.to_numpy(float)
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    marks = [lo, (lo + hi) / 2, hi] if hi > lo else [lo]
    areas = marker_areas(pd.Series([lo, *marks, hi]))[1:-1]
    return [
        Line2D([], [], ls="", marker="o", markersize=math.sqrt(a), color="#888888",
               label=f"{m:g}" if float(m).is_integer() else format_number(m, 3))
        for m, a in zip(marks, areas, strict=True)
    ]  # fmt: skip


def core_labels(net: KnowledgeNetwork, core: CorePeriphery | pd.Series) -> pd.Series:
    """``"core"``/``"periphery"`` per firm from a CorePeriphery or a boolean Series."""
    flags = core.core if isinstance(core, CorePeriphery) else core
    if not isinstance(flags, pd.Series):
        raise SpecificationError(
            "core must be a CorePeriphery (spillover.networks.core_periphery) or a boolean "
            f"Series by firm id; got {type(core).__name__}."
        )
    flags = flags.reindex(net.ids)
    return flags.map({True: "core", False: "periphery"}).rename("core-periphery")


def is_categorical(values: pd.Series) -> bool:
    if values.dtype == bool or not pd.api.types.is_numeric_dtype(values):
        return True
    return values.nunique() <= MAX_CATEGORIES and bool((values.dropna() % 1 == 0).all())


def category_colours(values: pd.Series) -> tuple[list[str], list[Line2D]]:
    """One palette colour per category (sorted), grey for missing; legend with counts."""
    cats = sorted(values.dropna().unique(), key=str)
    if len(cats) > len(PALETTE):
        raise SpecificationError(
            f"{values.name!r} has {len(cats)} categories; at most {len(PALETTE)} can be told "
            "apart by colour. Group them first."
        )
    colour = dict(zip(cats, PALETTE, strict=False))
    counts = values.value_counts()
    handles = [
        Line2D([], [], ls="", marker="o", color=colour[c], label=f"{c} ({counts[c]})") for c in cats
    ]
    if values.isna().any():
        handles.append(Line2D([], [], ls="", marker="o", color=MISSING,
                              label=f"no data ({int(values.isna().sum())})"))  # fmt: skip
    return [colour.get(v, MISSING) for v in values], handles


def draw_edges(ax: plt.Axes, net: KnowledgeNetwork, xy: np.ndarray) -> None:
    """Ties as light lines under the nodes; width grows with tie strength if weighted."""
    i = net.ids.get_indexer(net.ties["source"])
    j = net.ids.get_indexer(net.ties["target"])
    w = net.ties["weight"].to_numpy(float)
    widths = 0.3 + 1.2 * w / w.max() if net.weighted and len(w) else 0.4
    lines = LineCollection(
        np.stack([xy[i], xy[j]], axis=1), colors="#9a9a9a", linewidths=widths, alpha=0.5,
        zorder=1, gid="ties",
    )  # fmt: skip
    ax.add_collection(lines)


def scale_bar(ax: plt.Axes, crs: Any) -> None:
    """A round-length bar (1, 2 or 5 x 10^k km, about a fifth of the width), lower left."""
    per_km = crs_units_per_km(crs, what="the scale bar")
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    target = (x1 - x0) / per_km / 5
    power = 10 ** math.floor(math.log10(target))
    km = max(m * power for m in (1, 2, 5) if m * power <= target)
    start = (x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0))
    ax.plot([start[0], start[0] + km * per_km], [start[1]] * 2, color="black", lw=1.5,
            solid_capstyle="butt", gid="scalebar")  # fmt: skip
    ax.annotate(f"{km:g} km", (start[0] + km * per_km / 2, start[1]), xytext=(0, 3),
                textcoords="offset points", ha="center", va="bottom", fontsize=7)  # fmt: skip


def background(ax: plt.Axes, background: Any, crs: Any) -> None:
    if getattr(background, "crs", None) is None:
        raise SpecificationError(
            "background must be a GeoSeries or GeoDataFrame with a CRS, e.g. region polygons."
        )
    shapes = background.to_crs(crs)
    shapes.plot(ax=ax, color="#f0f0f0", edgecolor="white", linewidth=0.6, zorder=0)


def draw_nodes(
    ax: plt.Axes,
    net: KnowledgeNetwork,
    layout: Layout,
    color_by: str | pd.Series | None,
    size_by: str | pd.Series | None,
    core: CorePeriphery | pd.Series | None,
) -> None:
    """One scatter of every firm in ``net.ids`` order; legends outside on the right."""
    sizes = None if size_by is None else node_values(net, size_by, "size_by")
    colours = core_labels(net, core) if core is not None and color_by is None else None
    if color_by is not None:
        colours = node_values(net, color_by, "color_by")
    edge = "white"
    if core is not None and color_by is not None:
        edge = np.where(core_labels(net, core) == "core", "black", "white")
    kw: dict[str, Any] = {"s": 30.0 if sizes is None else marker_areas(sizes)}
    handles = []
    if colours is None:
        kw["color"] = PALETTE[0]
    elif is_categorical(colours):
        kw["c"], handles = category_colours(colours)
    else:
        cmap = plt.get_cmap("viridis").with_extremes(bad=MISSING)
        kw.update(c=colours.to_numpy(float), cmap=cmap, plotnonfinite=True)
    dots = ax.scatter(*layout.xy.T, edgecolors=edge, linewidths=0.4, zorder=2, gid="firms", **kw)
    if sizes is not None:
        key = ax.legend(handles=size_handles(sizes), title=f"size: {sizes.name}",
                        loc="lower left", bbox_to_anchor=(1.01, 0.0), frameon=False,
                        labelspacing=1.0)  # fmt: skip
        key.set_gid("size legend")
        ax.add_artist(key)
    if handles:
        ax.legend(handles=handles, title=colours.name, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), frameon=False).set_gid("colour legend")  # fmt: skip
    elif colours is not None:
        bar = ax.figure.colorbar(dots, ax=ax, shrink=0.45, anchor=(0.0, 1.0), pad=0.02)
        bar.set_label(str(colours.name))


def frame(ax: plt.Axes, layout: Layout, seed: int) -> None:
    """Projected map: equal aspect and a scale bar; degrees: labelled axes; spring: none."""
    ax.autoscale_view()
    if layout.crs is None:
        ax.set_axis_off()
        ax.text(0.0, 0.0, f"Force-directed layout (seed {seed}); distances carry no meaning.",
                transform=ax.transAxes, fontsize=6.5, va="bottom")  # fmt: skip
    elif layout.crs.is_geographic:
        ax.set_aspect(1 / np.cos(np.deg2rad(float(np.mean(layout.xy[:, 1])))))
        ax.set_xlabel("longitude (degrees)")
        ax.set_ylabel("latitude (degrees)")
    else:
        ax.set_aspect("equal")
        ax.set_axis_off()
        scale_bar(ax, layout.crs)
