"""Spatially lagged columns ``W x`` computed in DuckDB, and other columns added to a source.

:func:`add_spatial_lags` replaces the source view ``<prefix>src`` of a model by a TEMP
table (computed once: the estimator reads its source several times) with a column ``W_x``
for each lagged column x: ``(W x)_it = sum_j w_ij x_jt`` within each period t, as
:func:`spillover.models._formula.spatial_lag_panel` computes it in memory. W is matched to
the panel's entities by id (:func:`spillover.weights.as_weights`, the in-memory check and
errors), handed to DuckDB as its stored entries (an edge table ``(i, j, w)`` of entity
codes, nnz(W) rows, never a dense N x N block), and the products are one join of the edges
with the rows of each neighbour j and a ``SUM(w * x_j) GROUP BY (i, t)``, kept as a TEMP
table of one row per (entity, period) and joined to the rows by key. So Python holds W
and the entity ids (as in memory) and DuckDB the rest, within its memory cap, spilling
past it. The checks are those of the in-memory path, in its order: W's ids equal the
panel's entities, the panel is balanced (an absent neighbour has no value to lag), x has
no missing values (:mod:`._lags`: the checks and errors shared with Dask).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from spillover.backends._checks import refuse_non_numeric
from spillover.backends._duckdb import quote_name
from spillover.backends._lags import (
    Keys,
    lag_name,
    require_balanced,
    require_complete,
    require_lag_columns,
)
from spillover.backends._source import Source
from spillover.backends._tables import NUMERIC
from spillover.weights import as_weights


def add_columns(
    con: Any,
    prefix: str,
    source: Source,
    select: Sequence[str],
    joins: str = "",
    *,
    table: bool = False,
) -> Source:
    """Redefine ``<prefix>src`` as the old one (renamed ``<prefix>src_<hex>``, alias
    ``src``) plus the SQL expressions ``select`` (each ``... AS name``; source columns of
    those names are replaced), with ``joins`` appended to its FROM clause: a view, or a
    TEMP table if ``table`` (computed once: worth it when ``joins`` is costly, since the
    estimator reads the source several times)."""
    old = f"{source.view}_{uuid.uuid4().hex[:8]}"
    views = "SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = ?"
    kind = "VIEW" if con.execute(views, [source.view]).fetchall()[0][0] else "TABLE"
    con.execute(f"ALTER {kind} {source.view} RENAME TO {old}")
    names = [s.rsplit(" AS ", 1)[1].strip('"') for s in select]
    replaced = [c for c in source.columns if c in names]
    drop = f" EXCLUDE ({', '.join(quote_name(c) for c in replaced)})" if replaced else ""
    con.execute(
        f"CREATE TEMP {'TABLE' if table else 'VIEW'} {source.view} AS SELECT src.*{drop}, "
        f"{', '.join(select)} FROM {old} src {joins}"
    )
    kept = [c for c in source.columns if c not in replaced]
    return replace(source, columns=[*kept, *names])


def add_spatial_lags(
    con: Any, prefix: str, source: Source, columns: Sequence[str], w: Any
) -> Source:
    """Add ``W_x`` to the source view for each column x of ``columns`` (module docstring).

    Raises
    ------
    SpecificationError
        If the source names no entity and time columns, or a column is not in it or not
        numeric.
    AlignmentError, WeightsError
        As :func:`spillover.weights.as_weights` in memory: W's ids differ from the
        panel's entities (both sides listed), a bare matrix, weights by period.
    PanelError
        If the panel is unbalanced or x is missing somewhere (the keys are named).

    Examples
    --------
    >>> import duckdb, numpy as np, pandas as pd
    >>> from spillover.backends import add_spatial_lags, open_source
    >>> from spillover.weights import from_matrix
    >>> df = pd.DataFrame({"firm": ["a", "b", "c"] * 2, "year": [1] * 3 + [2] * 3,
    ...                    "x": [1.0, 2.0, 4.0, 10.0, 20.0, 40.0]})
    >>> w = from_matrix(np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]]), ids=["a", "b", "c"],
    ...                 islands="keep")
    >>> con = duckdb.connect()
    >>> source = open_source(con, df.set_index(["firm", "year"]), "ex_")
    >>> source = add_spatial_lags(con, "ex_", source, ["x"], w)
    >>> con.sql(f"SELECT * FROM {source.view} ORDER BY year, firm").fetchall()[:3]
    [('a', 1, 1.0, 6.0), ('b', 1, 2.0, 1.0), ('c', 1, 4.0, 0.0)]
    """
    require_lag_columns(
        source.entity,
        source.time,
        columns,
        source.columns,
        unnamed="a bare Parquet path or relation",
    )
    _check_numeric(con, source, columns)
    ent, time = quote_name(source.entity), quote_name(source.time)
    got = con.execute(f"SELECT DISTINCT {ent} AS id FROM {source.view}").fetchdf()["id"]
    entities = pd.Index(got).sort_values()
    w = as_weights(w, entities)
    _require_balanced(con, source, len(entities))
    for c in columns:
        c_ = quote_name(c)
        missing = f"SELECT * FROM {source.view} WHERE {c_} IS NULL OR isnan(CAST({c_} AS DOUBLE))"
        require_complete(c, _keys(con, source, missing))
    coo = w.matrix.tocoo()
    con.register(
        f"{prefix}wids_frame",
        pd.DataFrame({"id": entities, "code": np.arange(len(entities), dtype=np.int64)}),
    )
    con.register(
        f"{prefix}wedges_frame",
        pd.DataFrame({"i": coo.row.astype(np.int64), "j": coo.col.astype(np.int64), "w": coo.data}),
    )
    values = ", ".join(
        f"CAST(src.{quote_name(c)} AS DOUBLE) AS x{k}" for k, c in enumerate(columns)
    )
    sums = ", ".join(f"sum(e.w * s.x{k}) AS l{k}" for k in range(len(columns)))
    lags = ", ".join(f"lag.l{k}" for k in range(len(columns)))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {prefix}wx AS "
        f"WITH s AS (SELECT c.code AS j, src.{time} AS t, {values} FROM {source.view} src "
        f"JOIN {prefix}wids_frame c ON src.{ent} = c.id), "
        f"lag AS (SELECT e.i, s.t, {sums} FROM {prefix}wedges_frame e JOIN s ON e.j = s.j "
        f"GROUP BY e.i, s.t) "
        f"SELECT c.id AS __id, lag.t AS __t, {lags} FROM lag JOIN {prefix}wids_frame c "
        "ON lag.i = c.code"
    )
    con.unregister(f"{prefix}wedges_frame")
    con.unregister(f"{prefix}wids_frame")
    # An entity without neighbours (an all-zero row of W) has no edge: its lag is 0.
    select = [f"coalesce(wx.l{k}, 0.0) AS {quote_name(lag_name(c))}" for k, c in enumerate(columns)]
    joins = f"LEFT JOIN {prefix}wx wx ON src.{ent} = wx.__id AND src.{time} = wx.__t"
    return add_columns(con, prefix, source, select, joins, table=True)


def _check_numeric(con: Any, source: Source, columns: Sequence[str]) -> None:
    types = dict(
        con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {source.view})").fetchall()
    )
    bad = [c for c in columns if not str(types[c]).startswith(NUMERIC)]
    refuse_non_numeric(bad, [types[c] for c in bad])


def _keys(con: Any, source: Source, where: str) -> Keys:
    """Count of the (entity, time) keys of the rows of a query, and the first five in
    (entity, time) order."""
    ent, time = quote_name(source.entity), quote_name(source.time)
    n = int(con.execute(f"SELECT count(*) FROM ({where})").fetchall()[0][0])
    first = con.execute(f"SELECT {ent}, {time} FROM ({where}) ORDER BY 1, 2 LIMIT 5").fetchdf()
    return n, first


def _require_balanced(con: Any, source: Source, n_entities: int) -> None:
    """The in-memory :meth:`Panel.require_balanced` error, on the source's keys."""
    ent, time = quote_name(source.entity), quote_name(source.time)
    rows, n_periods = (
        int(v)
        for v in con.execute(
            f"SELECT count(*), count(DISTINCT {time}) FROM {source.view}"
        ).fetchall()[0]
    )
    absent = (
        f"SELECT e.{ent}, p.{time} FROM (SELECT DISTINCT {ent} FROM {source.view}) e "
        f"CROSS JOIN (SELECT DISTINCT {time} FROM {source.view}) p ANTI JOIN {source.view} s "
        f"ON e.{ent} = s.{ent} AND p.{time} = s.{time}"
    )
    keys = (source.entity, source.time)
    require_balanced(rows, n_entities, n_periods, lambda: _keys(con, source, absent), keys)
