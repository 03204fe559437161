"""Attaching entity geometries to a panel by key."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from spillover._typing import Unmatched
from spillover._validate import id_mismatch, preview, user_stacklevel, warn_dropped
from spillover.errors import (
    AlignmentError,
    GeographyError,
    SpecificationError,
    SpilloverWarning,
)
from spillover.panel import Panel, _check_geo

if TYPE_CHECKING:
    import geopandas as gpd


def attach_geometry(
    panel: Panel,
    geo: gpd.GeoDataFrame | str | Path,
    *,
    on: str | None = None,
    unmatched: Unmatched = "raise",
) -> Panel:
    """Attach one geometry per entity to a panel, matched by a key column.

    Parameters
    ----------
    panel : Panel
        The panel; its entity ids are matched against ``geo[on]``.
    geo : GeoDataFrame or str or Path
        Entity geometries, or the path of any vector file geopandas reads
        (GeoPackage, shapefile, GeoJSON, ...; ``.parquet`` is read as GeoParquet).
    on : str, optional
        Key column in ``geo`` (or the name of its index). Default: the panel's entity name.
    unmatched : {"raise", "drop", "keep"}, default "raise"
        What to do with keys found on one side only. ``"raise"`` lists them in an error.
        ``"drop"`` keeps the intersection: panel rows of entities without geometry are
        dropped (with a :class:`~spillover.errors.DroppedRowsWarning` giving the count).
        ``"keep"`` keeps every panel entity; those without geometry get a missing
        geometry (and a :class:`~spillover.errors.SpilloverWarning`), so code that needs
        coordinates, e.g. :func:`distance_coordinates`, refuses them later.
        Under ``"drop"`` and ``"keep"``, geometries without panel rows are left out
        (with a DroppedRowsWarning).

    Returns
    -------
    Panel
        A new Panel with ``geo`` set: a GeoDataFrame indexed by entity id in the panel's
        entity order, holding the geometry and the other columns of ``geo``. The CRS is
        kept as is (it may be None; distance code then refuses to run).

    Raises
    ------
    GeographyError
        If the key column is absent, or keys are duplicated or missing in ``geo``, or a
        geometry is missing or empty.
    AlignmentError
        If ``unmatched="raise"`` and a key is on one side only (both sides are listed).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely.geometry import box
    >>> from spillover import Panel
    >>> from spillover.geo import attach_geometry
    >>> df = pd.DataFrame({"region": ["A", "A", "B", "B"], "year": [2000, 2001] * 2,
    ...                    "y": [1.0, 2.0, 3.0, 4.0]})
    >>> shapes = gpd.GeoDataFrame({"code": ["B", "A"]}, crs="EPSG:32633",
    ...                           geometry=[box(1000, 0, 2000, 1000), box(0, 0, 1000, 1000)])
    >>> p = attach_geometry(Panel(df, entity="region", time="year"), shapes, on="code")
    >>> p.geo.index.tolist(), p.geo.crs.to_string()
    (['A', 'B'], 'EPSG:32633')
    """
    _check_option(unmatched, ("raise", "drop", "keep"), "unmatched")
    key = panel.entity_name if on is None else on
    keyed = _key_geometries(_read_geo(geo), key, panel.entity_name)
    ents = panel.entities
    missing, extra = ents.difference(keyed.index), keyed.index.difference(ents)
    if unmatched == "raise" and (len(missing) or len(extra)):
        raise AlignmentError(_unmatched_message(ents, keyed.index, missing, extra, key))
    if len(extra):
        warn_dropped(len(extra), f"geometries with no panel rows, {key} {preview(extra)}")
    if len(missing) and unmatched == "drop":
        rows = int(panel.data.index.get_level_values(0).isin(missing).sum())
        warn_dropped(
            rows, f"panel rows of {len(missing)} entities without geometry, e.g. {preview(missing)}"
        )
        panel = panel.subset(entities=ents.difference(missing))
    elif len(missing):
        warnings.warn(
            f"{len(missing)} entities have no geometry and keep a missing one, e.g. "
            f"{preview(missing)}; weights and distances will refuse them.",
            SpilloverWarning,
            stacklevel=user_stacklevel(),
        )
    aligned = keyed.reindex(panel.entities)
    return panel._replace(geo=_check_geo(aligned, panel.entities, panel.entity_name))


def _read_geo(geo: Any) -> gpd.GeoDataFrame:
    import geopandas as gpd

    if isinstance(geo, str | Path):
        path = Path(geo)
        return gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
    if isinstance(geo, gpd.GeoDataFrame):
        return geo
    raise GeographyError(
        f"geometry must be a GeoDataFrame or a path to a vector file, not {type(geo).__name__}."
    )


def _key_geometries(gdf: gpd.GeoDataFrame, key: str, name: str) -> gpd.GeoDataFrame:
    """``gdf`` indexed by its ``key`` column (or index), validated, index renamed ``name``."""
    if key in gdf.columns:
        keyed = gdf.set_index(key)
    elif gdf.index.name == key:
        keyed = gdf.copy()
    else:
        raise GeographyError(
            f"geometry has no column {key!r}; available: {preview(gdf.columns, 12)}. "
            "Name the key column with on=..."
        )
    keys = keyed.index
    if keys.isna().any():
        raise GeographyError(
            f"{int(keys.isna().sum())} geometries have no {key!r} value; drop or fill them."
        )
    if keys.duplicated().any():
        dup = keys[keys.duplicated()].unique()
        raise GeographyError(
            f"{len(dup)} {key!r} values occur in more than one geometry row, e.g. "
            f"{preview(dup)}. Merge the parts first, e.g. gdf.dissolve(by={key!r})."
        )
    bad = keyed.geometry.isna() | keyed.geometry.is_empty
    if bad.any():
        raise GeographyError(
            f"{int(bad.sum())} geometries are missing or empty, {key} {preview(keys[bad])}."
        )
    keyed.index = keys.rename(name)
    return keyed


def _unmatched_message(
    ents: pd.Index, keys: pd.Index, missing: pd.Index, extra: pd.Index, key: str
) -> str:
    msg = id_mismatch(
        "panel and geometry",
        [
            (missing, "panel entities have no geometry"),
            (extra, f"{key!r} values have no panel rows"),
        ],
    )
    if len(missing) == len(ents) and ents.dtype != keys.dtype:
        msg += (
            f" No key matches at all: panel ids are {ents.dtype} (e.g. {ents[0]!r}) but "
            f"{key!r} is {keys.dtype} (e.g. {keys[0]!r}); convert one side."
        )
    return msg + " Pass unmatched='drop' to keep the intersection, or unmatched='keep'."


def _check_option(value: str, allowed: Sequence[str], name: str) -> None:
    if value not in allowed:
        raise SpecificationError(f"{name}={value!r} is not one of {preview(allowed)}.")
