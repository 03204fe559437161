"""Figures for questionnaire and network studies: path diagrams and knowledge-network maps.

Both functions return a matplotlib Figure in the toolkit's print style (see
:mod:`spillover.report.figures`) and never call ``plt.show``; save with
:func:`spillover.report.figures.save_figure`. Path diagrams are drawn with matplotlib
alone (no graphviz).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text
from matplotlib.textpath import TextPath

from spillover.errors import SpecificationError
from spillover.networks import CorePeriphery, KnowledgeNetwork
from spillover.report import _network_map as nm
from spillover.report._format import format_number, star_note, stars
from spillover.report._path_diagram import Diagram, Path, from_mediation, from_sem, user_grid
from spillover.report.figures import print_style
from spillover.survey import MediationResults, SEMResults

__all__ = ["network_map", "path_diagram"]

#: Inches between rows of the layout grid, and the gap left between columns for a label.
_ROW_IN, _GAP_IN = 0.75, 0.9
_NODE_PT, _LABEL_PT, _CAPTION_PT = 8.0, 7.0, 7.0


def path_diagram(
    results: SEMResults | MediationResults,
    *,
    ax: plt.Axes | None = None,
    standardized: bool | None = None,
    digits: int = 2,
    stars_at: Sequence[float] = (0.1, 0.05, 0.01),
    layout: Mapping[str, tuple[float, float]] | None = None,
    measurement: bool | None = None,
    covariances: bool = False,
    title: str | None = None,
) -> Figure:
    """Path diagram of a structural equation or mediation model, estimates on the arrows.

    Observed variables are boxes, latent constructs ellipses; each regression is an arrow
    labelled with its estimate and significance stars (covariances, on request, curved
    double-headed arrows). The layout puts variables in columns by causal order:
    exogenous left, outcomes right.

    Parameters
    ----------
    results : SEMResults or MediationResults
        From :func:`spillover.survey.sem` / :func:`spillover.survey.cfa`, or
        ``spillover.survey.Mediation(...).fit()``.
    ax : matplotlib.axes.Axes, optional
        Draw here (its aspect is set equal); default: a new figure sized to the diagram.
    standardized : bool, optional
        SEM: label ``std_all`` (default) or, if False, the unstandardized estimates.
        Mediation results carry no standardized solution: their coefficients are drawn as
        fitted, and True is refused (standardize the columns before fitting instead).
    digits : int, default 2
        Decimals of the labels.
    stars_at : sequence of float, default (0.1, 0.05, 0.01)
        One star per threshold the path's p-value falls below; stated under the diagram.
    layout : mapping of str to (float, float), optional
        Position of every variable in grid units (x in columns, y in rows, up positive),
        replacing the automatic layout.
    measurement : bool, optional
        SEM: draw the loadings (``=~``) with the indicators. Default: only for a model
        without regressions (a CFA).
    covariances : bool, default False
        SEM: draw the covariances (``~~``) between the variables shown.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecificationError
        For results of another type, a layout that does not name exactly the diagram's
        variables, or ``standardized=True`` with mediation results.

    Notes
    -----
    Mediation: x on the left, the mediators in the middle (stacked when parallel, chained
    when serial), y on the right; a, b, d and the direct effect c' are drawn (the total
    effect c is not). The caption lists each indirect effect with its interval (bootstrap
    or delta-method, as fitted). SEM: p-values are the Wald tests of the unstandardized
    estimates (lavaan's); fixed parameters (marker loadings) get no stars.

    Examples
    --------
    >>> from spillover.report import path_diagram
    >>> from spillover.survey import Mediation
    >>> from spillover.survey.mediation import example_survey
    >>> res = Mediation(example_survey(), x="environment", mediators=["transfer"],
    ...                 y="spillover").fit(bootstrap=200, seed=1)
    >>> fig = path_diagram(res)
    >>> sorted(t.get_text() for t in fig.axes[0].texts if t.get_gid().startswith("path"))
    ['0.40***', '0.44***', '0.55***']
    """
    diagram = _diagram(results, standardized, measurement, covariances, digits)
    grid = diagram.grid if layout is None else user_grid(diagram, layout)
    caption = [*diagram.caption, f"{star_note(stars_at)}."]
    with print_style():
        widths = {n: _text_inches(n, _NODE_PT) for n in grid}
        step = max(widths.values()) + _GAP_IN
        where = {n: (x * step, y * _ROW_IN) for n, (x, y) in grid.items()}
        curves = [_curve(p, where) for p in diagram.paths]
        extent = [*where.values(), *(xy for _, xy in curves)]
        fig, ax, wrap = _diagram_axes(ax, extent, max(widths.values()), len(caption))
        nodes = {n: _node(ax, n, xy, n in diagram.latent) for n, xy in where.items()}
        for p, curve in zip(diagram.paths, curves, strict=True):
            _arrow(ax, nodes, p, curve, _path_label(p, digits, stars_at))
        _caption(ax, caption, wrap)
        if title:
            ax.set_title(title)
    return fig


def _diagram(
    results: Any,
    standardized: bool | None,
    measurement: bool | None,
    covariances: bool,
    digits: int,
) -> Diagram:
    if isinstance(results, SEMResults):
        return from_sem(
            results,
            standardized=standardized is not False,
            measurement=measurement,
            covariances=covariances,
        )
    if isinstance(results, MediationResults):
        if standardized:
            raise SpecificationError(
                "mediation results carry no standardized solution; standardize x, the "
                "mediators and y (z-scores) before fitting, and draw with standardized=None."
            )
        return from_mediation(results, digits=digits)
    raise SpecificationError(
        "path_diagram draws SEMResults (spillover.survey.sem or cfa) or MediationResults "
        f"(spillover.survey.Mediation(...).fit()); got {type(results).__name__}."
    )


def _text_inches(text: str, size: float) -> float:
    """Width of ``text`` at ``size`` points in the current font, in inches."""
    return TextPath((0, 0), text, prop=FontProperties(size=size)).get_extents().width / 72


def _diagram_axes(
    ax: plt.Axes | None, points: Sequence[Any], box: float, lines: int
) -> tuple[Figure, plt.Axes, int]:
    """Axes in inches (one data unit = one inch on a new figure) around the node and label
    ``points``, with room for the caption."""
    xs, ys = zip(*points, strict=True)
    xlim = (min(xs) - box / 2 - 0.35, max(xs) + box / 2 + 0.35)
    ylim = (min(ys) - 0.4, max(ys) + 0.4)
    width = max(xlim[1] - xlim[0], 4.5)
    pad = (width - (xlim[1] - xlim[0])) / 2
    xlim = (xlim[0] - pad, xlim[1] + pad)
    if ax is None:
        caption = 0.15 + 0.13 * lines
        height = ylim[1] - ylim[0] + caption
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_axes((0.0, caption / height, 1.0, 1 - caption / height))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax.figure, ax, int(width * 72 / (_CAPTION_PT * 0.55))


def _node(ax: plt.Axes, name: str, xy: tuple[float, float], latent: bool) -> Text:
    style = "ellipse,pad=0.5" if latent else "square,pad=0.45"
    frame = {"boxstyle": style, "facecolor": "white", "edgecolor": "black", "linewidth": 0.8}
    return ax.text(
        *xy, name, ha="center", va="center", fontsize=_NODE_PT, bbox=frame, zorder=2,
        gid=f"node:{name}",
    )  # fmt: skip


def _path_label(p: Path, digits: int, stars_at: Sequence[float]) -> str:
    value = format_number(p.estimate, digits).replace("-", "\N{MINUS SIGN}")
    return value + stars(p.pvalue, stars_at)


def _curve(p: Path, where: Mapping[str, tuple[float, float]]) -> tuple[float, np.ndarray]:
    """Arc3 curvature of the path and the point of its label (on the quadratic Bezier).

    Covariances between variables in one column bulge left; a regression whose straight
    line would cross another variable arcs over it; other paths are straight.
    """
    a, b = np.array(where[p.source]), np.array(where[p.target])
    dx, dy = b - a
    rad = 0.0
    if p.double:
        rad = -0.5 * np.sign(dy or 1.0) if abs(dx) < 1e-9 else 0.35
    elif any(_near_segment(np.array(xy), a, b) for n, xy in where.items()
             if n not in (p.source, p.target)):  # fmt: skip
        rad = -0.3 * np.sign(dx or 1.0)
    control = (a + b) / 2 + rad * np.array([dy, -dx])
    t = p.at
    return rad, (1 - t) ** 2 * a + 2 * t * (1 - t) * control + t**2 * b


def _near_segment(point: np.ndarray, a: np.ndarray, b: np.ndarray, tol: float = 0.3) -> bool:
    """Whether ``point`` lies within ``tol`` inches of the segment from a to b."""
    ab = b - a
    t = float(np.clip((point - a) @ ab / (ab @ ab), 0.0, 1.0))
    return bool(np.hypot(*(a + t * ab - point)) < tol)


def _arrow(
    ax: plt.Axes, nodes: Mapping[str, Text], p: Path, curve: tuple[float, np.ndarray], label: str
) -> None:
    """Arrow clipped at both node frames (nodes draw first, zorder 2) and its label."""
    rad, (x, y) = curve
    arrow = FancyArrowPatch(
        nodes[p.source].get_position(), nodes[p.target].get_position(),
        arrowstyle="<|-|>" if p.double else "-|>", mutation_scale=8,
        patchA=nodes[p.source].get_bbox_patch(), patchB=nodes[p.target].get_bbox_patch(),
        connectionstyle=f"arc3,rad={rad}", linewidth=0.7, color="black", zorder=3,
        gid=f"arrow:{p.source}->{p.target}",
    )  # fmt: skip
    ax.add_patch(arrow)
    ax.text(
        x, y, label, ha="center", va="center", fontsize=_LABEL_PT, zorder=4,
        bbox={"boxstyle": "square,pad=0.12", "facecolor": "white", "edgecolor": "none"},
        gid=f"path:{p.source}->{p.target}",
    )  # fmt: skip


def _caption(ax: plt.Axes, lines: Sequence[str], wrap: int) -> None:
    text = "\n".join(
        textwrap.fill(line, wrap, subsequent_indent="    ", drop_whitespace=False) for line in lines
    )
    ax.text(
        0.02, 0.0, text, transform=ax.transAxes, ha="left", va="top", fontsize=_CAPTION_PT,
        gid="caption",
    )  # fmt: skip


def network_map(
    network: KnowledgeNetwork,
    *,
    geo: Any | None = None,
    background: Any | None = None,
    color_by: str | pd.Series | None = None,
    size_by: str | pd.Series | None = "degree",
    core: CorePeriphery | pd.Series | None = None,
    to_crs: Any | None = None,
    allow_geographic: bool = False,
    seed: int = 0,
    ax: plt.Axes | None = None,
    title: str | None = None,
    source: str | None = None,
) -> Figure:
    """Map of a knowledge network: firms at their locations (or a spring layout), ties light.

    Parameters
    ----------
    network : KnowledgeNetwork
    geo : GeoSeries or GeoDataFrame, optional
        One point per firm, indexed by firm id (extra firms are ignored); the map shows a
        scale bar. Longitude/latitude is drawn in an equal-area projection chosen for the
        firms' extent (:func:`spillover.report._maps.equal_area_crs`) unless ``to_crs``
        or ``allow_geographic`` says otherwise. Without it, a force-directed layout
        (networkx ``spring_layout``, seeded) places the firms.
    background : GeoSeries or GeoDataFrame, optional
        Polygons (regions) drawn in light grey under the network, reprojected to the
        firms' CRS; needs ``geo``.
    color_by : str or pandas.Series, optional
        Colour: a column of the firm table or a Series by firm id. Categories (text,
        booleans, a few integers) get a legend with their counts; other numbers a colour
        bar. Firms without a value are grey ("no data").
    size_by : str or pandas.Series or None, default "degree"
        Marker area, linear in ``"degree"``, ``"betweenness"``, ``"closeness"``,
        ``"eigenvector"`` (:mod:`spillover.networks`), a numeric firm-table column or a
        Series by firm id; None: one size.
    core : CorePeriphery or boolean pandas.Series, optional
        From :func:`spillover.networks.core_periphery`: colours firms "core"/"periphery"
        when ``color_by`` is None, else outlines the core firms in black.
    to_crs : optional
        Reproject ``geo`` for display (e.g. ``"EPSG:3035"``); the inputs are untouched.
    allow_geographic : bool, default False
        Draw a longitude/latitude ``geo`` in degrees (labelled axes) instead of projecting.
    seed : int, default 0
        Seed of the spring layout.
    ax : matplotlib.axes.Axes, optional
    title, source : str, optional
        Title (default: the network's name, firms and ties) and a source line under the map.

    Returns
    -------
    matplotlib.figure.Figure
        Legends sit outside the axes, right of the map. Ties are light grey lines, wider
        for stronger ties in a weighted network; directed ties are drawn without arrowheads.

    Raises
    ------
    AlignmentError
        If ``geo`` has no point for some firms (named).
    GeographyError
        If ``geo`` has no CRS.
    SpecificationError
        Unknown ``size_by``/``color_by``, non-point geometries, or ``background`` without
        ``geo``.

    Examples
    --------
    >>> from spillover import simulate
    >>> from spillover.networks import core_periphery
    >>> from spillover.report import network_map
    >>> net = simulate.knowledge_network(40, seed=1).network()
    >>> fig = network_map(net, core=core_periphery(net))
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['core (10)', 'periphery (30)']
    """
    if not isinstance(network, KnowledgeNetwork):
        raise SpecificationError(
            f"network must be a spillover.networks.KnowledgeNetwork; got {type(network).__name__}."
        )
    if geo is None and background is not None:
        raise SpecificationError("background= needs firm locations (geo=) to draw on.")
    layout = (
        nm.spring_layout(network, seed)
        if geo is None
        else nm.geo_layout(network, geo, to_crs, allow_geographic)
    )
    with print_style():
        if ax is None:
            ax = plt.subplots(figsize=(6.5, 4.8))[1]
        if background is not None:
            nm.background(ax, background, layout.crs)
        nm.draw_edges(ax, network, layout.xy)
        nm.draw_nodes(ax, network, layout, color_by, size_by, core)
        nm.frame(ax, layout, seed)
        ax.set_title(title or f"{network.name or 'Knowledge network'}: "
                     f"{network.n_firms:,} firms, {network.n_ties:,} ties")  # fmt: skip
        if source:
            ax.annotate(source if source.lower().startswith("source") else f"Source: {source}",
                        (0, 0), xycoords="axes fraction", xytext=(0, -14),
                        textcoords="offset points", va="top", fontsize=6.5,
                        gid="source")  # fmt: skip
    return ax.figure
