"""Panel: long data keyed by (entity, time), validated once, optionally with geometry.

A :class:`Panel` holds a DataFrame indexed by a two-level ``MultiIndex`` (entity, time),
sorted, with unique keys: exactly the layout linearmodels' panel models expect, so
``panel.data`` can be passed to them as is. Panels are immutable in spirit: every
transformation returns a new Panel and leaves its input untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spillover._calendar import period_numbers
from spillover._keys import index_keys, keyed_frame
from spillover._validate import preview, require_columns, require_same_ids, warn_dropped
from spillover.errors import AlignmentError, GeographyError, PanelError, SpecificationError

if TYPE_CHECKING:
    import geopandas as gpd

_READERS = {
    ".csv": pd.read_csv,
    ".parquet": pd.read_parquet,
    ".pq": pd.read_parquet,
    ".dta": pd.read_stata,
}


class Panel:
    """Validated long panel keyed by (entity, time).

    Parameters
    ----------
    data : pandas.DataFrame
        Long data, one row per (entity, time). The keys may be columns or the two
        levels of a MultiIndex.
    entity, time : str
        Names of the entity and time columns (or index levels).
    geo : geopandas.GeoDataFrame, optional
        One geometry per entity, indexed by entity id. Usually attached with
        :func:`spillover.geo.attach_geometry` rather than passed here.

    Raises
    ------
    PanelError
        If keys are missing, duplicated, or time is neither integer nor date.

    Notes
    -----
    Time must be integer (years, quarters as integers) or datetime; strings such as
    ``"1990"`` are rejected rather than guessed. Rows are sorted by (entity, time).

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover import Panel
    >>> df = pd.DataFrame({"firm": [1, 1, 2, 2], "year": [2000, 2001, 2000, 2001],
    ...                    "emp": [10.0, 12.0, 5.0, 6.0]})
    >>> p = Panel(df, entity="firm", time="year")
    >>> p.n_entities, p.n_periods, p.is_balanced
    (2, 2, True)
    """

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        entity: str,
        time: str,
        geo: gpd.GeoDataFrame | None = None,
    ) -> None:
        frame = keyed_frame(data, entity, time)
        self._data = frame
        self.entity_name = entity
        self.time_name = time
        self._geo = None if geo is None else _check_geo(geo, frame.index.unique(0), entity)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_file(cls, path: str | Path, *, entity: str, time: str, **read_kw: Any) -> Panel:
        """Read a CSV, Parquet or Stata ``.dta`` file into a Panel.

        Extra keyword arguments go to the pandas reader.
        """
        path = Path(path)
        reader = _READERS.get(path.suffix.lower())
        if reader is None:
            raise PanelError(
                f"cannot read {path.name!r}: unknown extension {path.suffix!r}; "
                f"use one of {sorted(_READERS)} or read it with pandas and call Panel(df, ...)."
            )
        return cls(reader(path, **read_kw), entity=entity, time=time)

    def _replace(self, data: pd.DataFrame | None = None, geo: Any = ...) -> Panel:
        """New Panel sharing this one's keys; ``data`` must already be keyed and valid.

        With new ``data``, the geometry keeps only the entities that still have rows, so
        ``panel.geo`` (and weights built from it) always matches ``panel.entities``.
        """
        new = object.__new__(Panel)
        new._data = self._data if data is None else data
        new.entity_name = self.entity_name
        new.time_name = self.time_name
        new._geo = self._geo if geo is ... else geo
        if data is not None and new._geo is not None:
            kept = new._geo.index.isin(data.index.unique(0))
            if not kept.all():
                new._geo = new._geo.loc[kept]
        return new

    # ------------------------------------------------------------------ views
    @property
    def data(self) -> pd.DataFrame:
        """The long DataFrame indexed by (entity, time) (a copy-on-write view)."""
        return self._data

    @property
    def geo(self) -> gpd.GeoDataFrame:
        """Entity geometries indexed by entity id, in entity order.

        Raises
        ------
        GeographyError
            If no geometry has been attached.
        """
        if self._geo is None:
            raise GeographyError(
                "this panel has no geometry; attach one with "
                "spillover.geo.attach_geometry(panel, geodataframe, on=...)."
            )
        return self._geo

    @property
    def has_geometry(self) -> bool:
        return self._geo is not None

    @property
    def columns(self) -> pd.Index:
        return self._data.columns

    @property
    def entities(self) -> pd.Index:
        """Sorted unique entity ids."""
        return self._data.index.unique(0)

    @property
    def periods(self) -> pd.Index:
        """Sorted unique periods."""
        return self._data.index.unique(1).sort_values()

    @property
    def nobs(self) -> int:
        return len(self._data)

    @property
    def n_entities(self) -> int:
        return len(self.entities)

    @property
    def n_periods(self) -> int:
        return len(self.periods)

    @property
    def is_balanced(self) -> bool:
        """True if every entity is observed in every period."""
        return self.nobs == self.n_entities * self.n_periods

    def __len__(self) -> int:
        return self.nobs

    def __getitem__(self, column: str) -> pd.Series:
        require_columns(self._data, [column], "panel")
        return self._data[column]

    def __contains__(self, column: object) -> bool:
        return column in self._data.columns

    def __repr__(self) -> str:
        balance = "balanced" if self.is_balanced else "unbalanced"
        geo = ", with geometry" if self.has_geometry else ""
        return (
            f"Panel({self.n_entities} {self.entity_name} x {self.n_periods} {self.time_name}, "
            f"{self.nobs} rows, {balance}{geo}; columns: {preview(self.columns, 8)})"
        )

    def missing_keys(self) -> pd.MultiIndex:
        """The (entity, time) pairs absent from the full entity x period grid."""
        full = pd.MultiIndex.from_product(
            [self.entities, self.periods], names=self._data.index.names
        )
        return full.difference(self._data.index)

    def gaps(self) -> pd.DataFrame:
        """Interior gaps: periods missing between an entity's first and last observation.

        Returns one row per missing (entity, time) inside an entity's observed span, using
        the panel's own set of periods as the calendar.
        """
        periods = self.periods
        pos = pd.Series(np.arange(len(periods)), index=periods)
        t = pos.reindex(self._data.index.get_level_values(1)).to_numpy()
        ent = self._data.index.get_level_values(0)
        span = pd.DataFrame({"e": ent, "t": t}).groupby("e", sort=False)["t"].agg(["min", "max"])
        missing = self.missing_keys()
        if len(missing) == 0:
            return pd.DataFrame(columns=[self.entity_name, self.time_name])
        me = missing.get_level_values(0)
        mt = pos.reindex(missing.get_level_values(1)).to_numpy()
        lo = span["min"].reindex(me).to_numpy()
        hi = span["max"].reindex(me).to_numpy()
        inside = (mt > lo) & (mt < hi)
        return missing[inside].to_frame(index=False)

    # ------------------------------------------------------------------ transforms
    def assign(self, **columns: Any) -> Panel:
        """New Panel with columns added or replaced (like ``DataFrame.assign``)."""
        return self._replace(self._data.assign(**columns))

    def select(self, columns: Sequence[str]) -> Panel:
        """New Panel with only ``columns``."""
        require_columns(self._data, columns, "panel")
        return self._replace(self._data[list(columns)])

    def subset(
        self, *, entities: Iterable[Any] | None = None, periods: Iterable[Any] | None = None
    ) -> Panel:
        """New Panel restricted to the given entities and/or periods.

        Raises
        ------
        AlignmentError
            If a requested entity or period is not in the panel.
        """
        mask = np.ones(self.nobs, dtype=bool)
        geo = self._geo
        if entities is not None:
            ents = _known(entities, self.entities, "entities")
            mask &= self._data.index.get_level_values(0).isin(ents)
            if geo is not None:
                geo = geo.loc[geo.index.isin(ents)]
        if periods is not None:
            mask &= self._data.index.get_level_values(1).isin(
                _known(periods, self.periods, "periods")
            )
        return self._replace(self._data[mask], geo=geo)

    def dropna(self, columns: Sequence[str] | None = None) -> Panel:
        """Drop rows with a missing value in ``columns`` (all columns if None).

        Issues a :class:`~spillover.errors.DroppedRowsWarning` with the count.
        """
        cols = list(self.columns if columns is None else columns)
        require_columns(self._data, cols, "panel")
        keep = self._data[cols].notna().all(axis=1)
        warn_dropped(int((~keep).sum()), f"missing values in {preview(cols)}")
        return self._replace(self._data[keep.to_numpy()])

    def require_complete(self, columns: Sequence[str]) -> None:
        """Raise PanelError naming the rows if any of ``columns`` has a missing value."""
        require_columns(self._data, columns, "panel")
        require_no_missing(self._data, columns)

    def lag(self, column: str, periods: int = 1) -> pd.Series:
        """``column`` lagged by ``periods`` calendar periods within entity.

        The lag of (i, t) is the value at (i, t - periods), t counted in the panel's time
        unit (integer time in its own units; dates in years, quarters, months, weeks or
        days, the coarsest unit that fits them all), NaN where that row is absent: with
        waves in 2000 and 2002, ``lag(column)`` of 2002 is NaN and ``lag(column, 2)`` the
        2000 value, as Stata's ``L.`` under ``xtset`` and plm's ``lag``. A negative
        ``periods`` gives a lead.
        """
        require_columns(self._data, [column], "panel")
        if isinstance(periods, bool) or not isinstance(periods, int | np.integer):
            raise SpecificationError(
                f"periods must be a whole number of periods (negative for a lead), got {periods!r}."
            )
        s = self._data[column]
        idx = s.index
        number = period_numbers(idx.get_level_values(1), name=f"time column {self.time_name!r}")
        entity = idx.codes[0]
        keys = pd.MultiIndex.from_arrays([entity, number])
        source = keys.get_indexer(pd.MultiIndex.from_arrays([entity, number - int(periods)]))
        found = np.flatnonzero(source >= 0)
        out = pd.Series(np.nan, index=idx, name=f"L{periods}.{column}")
        out.iloc[found] = s.iloc[source[found]].to_numpy()
        return out

    def balanced(self) -> Panel:
        """Keep only entities observed in every period (warns with the count dropped)."""
        counts = self._data.groupby(level=0).size()
        full = counts.index[counts == self.n_periods]
        dropped = len(self.entities) - len(full)
        warn_dropped(
            int(self.nobs - len(full) * self.n_periods),
            f"{dropped} entities not observed in all {self.n_periods} periods",
        )
        return self.subset(entities=full)

    def require_balanced(self) -> None:
        """Raise PanelError, naming the missing keys, unless the panel is balanced."""
        if not self.is_balanced:
            missing = self.missing_keys()
            raise unbalanced_error(missing, self.n_entities * self.n_periods)

    def to_frame(self) -> pd.DataFrame:
        """Flat copy with entity and time as columns."""
        return self._data.reset_index()


# ---------------------------------------------------------------------- helpers
def unbalanced_error(missing: Sequence[Any], cells: int, total: int | None = None) -> PanelError:
    """The PanelError of an unbalanced panel (one wording for every backend): the
    ``missing`` (entity, time) keys, sorted (or their first five and the ``total``), of
    ``cells`` in the full grid."""
    n = len(missing) if total is None else total
    return PanelError(
        f"the panel is unbalanced: {n} of {cells} (entity, time) cells are missing, e.g. "
        f"{preview(missing, total=total)}. Keep complete entities with panel.balanced(), "
        "or fill the missing rows."
    )


def lag_undefined_error(column: str, rows: Sequence[Any], total: int | None = None) -> PanelError:
    """The PanelError of a spatially lagged column with missing values at the (entity,
    time) keys ``rows``, sorted (or their first five and the ``total``)."""
    n = len(rows) if total is None else total
    return PanelError(
        f"column {column!r} is missing in {n} rows, e.g. at {preview(rows, total=total)}, "
        f"so W({column}) is undefined for their neighbours. Drop those entities "
        "(panel.subset) or impute before lagging."
    )


def as_panel(data: Panel | pd.DataFrame) -> Panel:
    """The Panel an estimator or test works on: a Panel as is, or a DataFrame indexed by
    (entity, time), the layout of linearmodels (``df.set_index(["firm", "year"])``).

    Raises
    ------
    PanelError
        If ``data`` is neither, if its index is not two named levels, if keys repeat or
        time is neither integer nor date (as :class:`Panel`), or if it has no rows.
    """
    if isinstance(data, Panel):
        panel = data
    elif isinstance(data, pd.DataFrame):
        entity, time = index_keys(data.index, data.columns)
        panel = Panel(data, entity=entity, time=time)
    else:
        raise PanelError(
            f"expected a spillover Panel or a DataFrame indexed by (entity, time); got "
            f"{type(data).__name__}. Build one with spillover.Panel(df, entity=..., time=...)."
        )
    if panel.nobs == 0:
        raise PanelError(
            "the panel has no rows: there is nothing to estimate from. Check the subset or "
            "dropna that produced it (e.g. a column missing in every row)."
        )
    return panel


def require_no_missing(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise PanelError naming the rows and columns with missing values in ``columns``."""
    bad = frame[list(columns)].isna()
    if bad.to_numpy().any():
        rows = bad.index[bad.any(axis=1)]
        cols = [c for c in columns if bad[c].any()]
        raise PanelError(
            f"{len(rows)} rows have missing values in {preview(cols)}, e.g. at "
            f"{preview(rows)}. Impute them, or drop them explicitly with "
            f"panel.dropna({list(cols)!r}) (you will be told how many)."
        )


def _known(requested: Iterable[Any], known: pd.Index, what: str) -> pd.Index:
    wanted = pd.Index(list(requested))
    unknown = wanted.difference(known)
    if len(unknown):
        raise AlignmentError(
            f"{len(unknown)} requested {what} are not in the panel, e.g. {preview(unknown)}."
        )
    return wanted


def _check_geo(geo: gpd.GeoDataFrame, entities: pd.Index, entity: str) -> gpd.GeoDataFrame:
    if geo.index.duplicated().any():
        raise GeographyError(
            f"geometry has duplicate {entity} ids: {preview(geo.index[geo.index.duplicated()])}."
        )
    require_same_ids(
        entities,
        geo.index,
        subject="geometry and panel",
        absent="panel entities have no geometry",
        extra="geometries have no panel rows",
        fix="Use spillover.geo.attach_geometry(..., unmatched='drop') to keep the intersection.",
    )
    return geo.loc[entities]
