"""Pieces of a printed map: display projection, class intervals, palettes, legend, source.

* Projection: geometry in longitude/latitude (a geographic CRS) is drawn in an equal-area
  projection chosen for the data's extent (:func:`equal_area_crs`), unless the caller names
  a CRS; a projected CRS is kept.
* Classes: any mapclassify scheme; the legend lists each class as an interval, the lowest
  closed ``[min, b1]``, the others ``(b_{i-1}, b_i]`` (mapclassify's upper bounds are
  inclusive), under a title naming the scheme and the number of classes.
* Palettes (both colour-blind safe): sequential ``viridis`` for data of one sign;
  diverging ColorBrewer ``RdBu_r`` (blue negative, red positive) centred at zero, with
  limits symmetric around 0, when the data take both signs.
* Legends sit outside the axes (to their right), so they never cover the polygons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib.colors import Colormap, Normalize
from matplotlib.patches import Patch
from pyproj import CRS

from spillover.errors import SpecificationError
from spillover.report._format import MINUS

SEQUENTIAL = "viridis"
DIVERGING = "RdBu_r"
MISSING = "#dddddd"
#: Region borders: mid grey, visible on the near-white centre of the diverging palette.
EDGE = "#8c8c8c"
#: Legend placement outside the axes, to the right, top-aligned.
OUTSIDE: dict[str, Any] = {
    "loc": "upper left",
    "bbox_to_anchor": (1.02, 1.0),
    "borderaxespad": 0.0,
    "frameon": False,
}


def equal_area_crs(bounds: Any) -> CRS:
    """An equal-area projection for data within ``bounds`` (west, south, east, north, degrees).

    ``east`` may exceed 180 for data across the antimeridian (:func:`lonlat_extent`).

    Albers equal-area conic (standard parallels at 1/6 and 5/6 of the latitude range,
    Snyder 1987, p. 99) when the data lie in one hemisphere and span at most 180 degrees
    of longitude, the usual choice for countries and continents in mid-latitudes;
    otherwise Lambert azimuthal equal-area centred on the data. Both keep areas true, so
    the colour of a region is seen in proportion to its size.

    Examples
    --------
    >>> equal_area_crs((-125, 24, -66, 50)).coordinate_operation.method_name
    'Albers Equal Area'
    >>> equal_area_crs((-20, -35, 50, 37)).coordinate_operation.method_name
    'Lambert Azimuthal Equal Area'
    """
    west, south, east, north = (float(b) for b in bounds)
    lon0, lat0 = (west + east) / 2, (south + north) / 2
    lon0 = (lon0 + 180.0) % 360.0 - 180.0  # an extent across +-180 has east > 180
    if south * north > 0 and east - west <= 180:
        step = (north - south) / 6
        return CRS.from_proj4(
            f"+proj=aea +lat_1={south + step:.4f} +lat_2={north - step:.4f} "
            f"+lat_0={lat0:.4f} +lon_0={lon0:.4f} +datum=WGS84 +units=m +no_defs"
        )
    return CRS.from_proj4(
        f"+proj=laea +lat_0={lat0:.4f} +lon_0={lon0:.4f} +datum=WGS84 +units=m +no_defs"
    )


def lonlat_extent(geo: Any) -> tuple[float, float, float, float]:
    """(west, south, east, north) of geometry in degrees, across the antimeridian if shorter.

    The longitude extent is the shortest arc holding every vertex: the complement of the
    widest gap between consecutive vertex longitudes on the circle. Data on both sides of
    +-180 degrees (Fiji, the Aleutians, the Russian Far East) get ``east > 180`` rather
    than the whole -180..180 range, so the projection is centred on them.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> fiji = gpd.GeoSeries([box(176, -19, 180, -16), box(-180, -19, -178, -16)], crs=4326)
    >>> [round(b) for b in lonlat_extent(fiji)]
    [176, -19, 182, -16]
    """
    coords = shapely.get_coordinates(np.asarray(getattr(geo, "geometry", geo)))
    _, south, _, north = (float(b) for b in geo.total_bounds)
    lon = np.unique(np.mod(coords[:, 0] + 180.0, 360.0) - 180.0)
    if lon.size < 2:
        west = east = float(lon[0]) if lon.size else 0.0
        return west, south, east, north
    gaps = np.diff(np.append(lon, lon[0] + 360.0))
    widest = int(np.argmax(gaps))
    if widest == lon.size - 1:  # the widest gap wraps: the data do not cross +-180
        return float(lon[0]), south, float(lon[-1]), north
    return float(lon[widest + 1]), south, float(lon[widest]) + 360.0, north


def for_display(geo: Any, to_crs: Any | None) -> Any:
    """``geo`` in ``to_crs`` if given, else in an equal-area projection if in degrees."""
    if to_crs is not None:
        return geo.to_crs(to_crs)
    if geo.crs is not None and geo.crs.is_geographic:
        return geo.to_crs(equal_area_crs(lonlat_extent(geo)))
    return geo


@dataclass(frozen=True)
class Classes:
    """Class of each value (-1: missing), the interval labels and the scheme's name."""

    index: np.ndarray
    labels: list[str]
    lower: np.ndarray
    upper: np.ndarray
    scheme: str


def _signed(fmt: str, value: float) -> str:
    """``fmt.format(value)`` with a true minus sign (U+2212), as the tables print."""
    text = fmt.format(value)
    return MINUS + text[1:] if text.startswith("-") else text


def classify(values: np.ndarray, scheme: str, k: int, fmt: str) -> Classes:
    """mapclassify's ``scheme`` with ``k`` classes on the non-missing values."""
    import mapclassify

    ok = np.isfinite(values)
    if not ok.any():
        raise SpecificationError("no value to map: every value is missing in that period.")
    try:
        fitted = mapclassify.classify(values[ok], scheme, k=k)
    except (ValueError, TypeError, KeyError) as exc:
        raise SpecificationError(
            f"scheme={scheme!r} is not a mapclassify scheme with k={k} ({exc}); use e.g. "
            "'quantiles', 'equal_interval', 'natural_breaks', 'fisher_jenks' or None for a "
            "continuous colour bar."
        ) from exc
    upper = np.asarray(fitted.bins, dtype=float)
    lower = np.concatenate([[float(values[ok].min())], upper[:-1]])
    labels = [
        f"{'[' if i == 0 else '('}{_signed(fmt, lo)}, {_signed(fmt, hi)}]"
        for i, (lo, hi) in enumerate(zip(lower, upper, strict=True))
    ]
    index = np.full(len(values), -1)
    index[ok] = fitted.yb
    name = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", fitted.name).lower().capitalize()
    return Classes(index, labels, lower, upper, f"{name}, {len(upper)} classes (mapclassify)")


def palette(values: np.ndarray, cmap: str | None) -> tuple[Colormap, Normalize]:
    """Diverging and symmetric around 0 for signed data, sequential otherwise."""
    finite = values[np.isfinite(values)]
    lo, hi = float(finite.min()), float(finite.max())
    if lo < 0 < hi:
        bound = max(-lo, hi)
        return plt.get_cmap(cmap or DIVERGING), Normalize(-bound, bound)
    return plt.get_cmap(cmap or SEQUENTIAL), Normalize(lo, hi)


def class_colours(classes: Classes, cmap: Colormap, norm: Normalize) -> list[Any]:
    """One colour per class. Sequential: evenly spaced along the palette. Diverging (signed
    data): zero is the palette's centre; a class containing zero gets the centre colour,
    classes below (above) zero equal steps towards the blue (red) end by their rank from
    zero, the same step on both sides, so equal distances in rank look equally strong."""
    n = len(classes.labels)
    if norm.vmin is None or norm.vmax is None or norm.vmin != -norm.vmax:
        return [cmap(i / max(n - 1, 1)) for i in range(n)]
    below = int((classes.upper <= 0).sum())
    above = int((classes.lower >= 0).sum())
    step = 0.45 / max(below, above, 1)
    out = []
    for i in range(n):
        if classes.upper[i] <= 0:
            out.append(cmap(0.5 - step * (below - i)))
        elif classes.lower[i] >= 0:
            out.append(cmap(0.5 + step * (i - (n - above) + 1)))
        else:
            out.append(cmap(0.5))
    return out


def class_legend(
    ax: plt.Axes, classes: Classes, colours: list[Any], title: str, n_missing: int
) -> None:
    """Interval legend outside the axes; a "no data" entry when values are missing."""
    handles = [Patch(facecolor=c, edgecolor="none") for c in colours]
    labels = list(classes.labels)
    if n_missing:
        handles.append(Patch(facecolor=MISSING, edgecolor="none"))
        labels.append(f"no data ({n_missing})")
    ax.legend(handles, labels, title=title, alignment="left", **OUTSIDE)


def legend_title(label: str, units: str | None, base_year: Any | None) -> str:
    """``label (units, base year Y)``, the parts given."""
    extra = [u for u in (units, None if base_year is None else f"base year {base_year}") if u]
    return f"{label} ({', '.join(extra)})" if extra else label


def source_note(ax: plt.Axes, source: str | None) -> None:
    """``Source: ...`` under the map, left-aligned."""
    if source:
        text = source if source.lower().startswith("source") else f"Source: {source}"
        ax.annotate(text, xy=(0, 0), xycoords="axes fraction", xytext=(0, -6),
                    textcoords="offset points", va="top", ha="left", fontsize=6.5,
                    gid="source")  # fmt: skip
