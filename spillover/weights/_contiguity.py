"""Contiguity weights from polygons (queen, rook, higher order), built by libpysal."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from spillover.errors import GeographyError, SpecificationError
from spillover.weights._base import IslandPolicy, Weights
from spillover.weights._inputs import finish, geometries


def queen(
    geo: Any, *, order: int = 1, cumulative: bool = False, islands: IslandPolicy = "raise"
) -> Weights:
    """Queen contiguity: polygons that share at least one boundary point are neighbours.

    Parameters
    ----------
    geo : GeoDataFrame, GeoSeries or Panel
        Polygons indexed by entity id (a Panel's ``panel.geo``). No CRS is needed.
    order : int, default 1
        Contiguity order; see :func:`higher_order`.
    cumulative : bool, default False
        With ``order > 1``, include all orders 1..order (else exactly ``order``).
    islands : {"raise", "keep", "drop"}, default "raise"
        What to do with polygons without neighbours (e.g. true islands): raise a
        WeightsError naming them, keep them as all-zero rows, or drop them (with a
        DroppedRowsWarning).

    Returns
    -------
    Weights
        Binary, symmetric, ids = the geometry index.

    Notes
    -----
    Built by ``libpysal.graph.Graph.build_contiguity(rook=False)`` (shared vertices),
    identical to ``libpysal.weights.Queen``; the ``states48.gal`` file shipped with
    libpysal is reproduced exactly for the US states.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> from spillover import weights
    >>> cells = gpd.GeoSeries([box(x, y, x + 1, y + 1) for y in range(2) for x in range(2)],
    ...                       index=["a", "b", "c", "d"])
    >>> weights.queen(cells).cardinalities.tolist()
    [3, 3, 3, 3]
    >>> from spillover import datasets
    >>> w = weights.queen(datasets.us_states())  # the panel's state polygons
    >>> w.n, w.nnz, list(w.ids[:3])
    (48, 214, ['AL', 'AR', 'AZ'])
    """
    return _contiguity(geo, rook=False, order=order, cumulative=cumulative, islands=islands)


def rook(
    geo: Any, *, order: int = 1, cumulative: bool = False, islands: IslandPolicy = "raise"
) -> Weights:
    """Rook contiguity: polygons that share a boundary segment (not just a corner).

    Parameters and notes as :func:`queen`; built by
    ``libpysal.graph.Graph.build_contiguity(rook=True)``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> from spillover import weights
    >>> cells = gpd.GeoSeries([box(x, y, x + 1, y + 1) for y in range(2) for x in range(2)],
    ...                       index=["a", "b", "c", "d"])
    >>> weights.rook(cells).cardinalities.tolist()
    [2, 2, 2, 2]
    """
    return _contiguity(geo, rook=True, order=order, cumulative=cumulative, islands=islands)


def _contiguity(
    geo: Any, *, rook: bool, order: int, cumulative: bool, islands: IslandPolicy
) -> Weights:
    from libpysal.graph import Graph

    series = geometries(geo)
    kinds = set(series.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise GeographyError(
            f"contiguity needs polygons, got {sorted(kinds)}. For points use "
            "weights.knn(...) or weights.distance_band(...)."
        )
    graph = Graph.build_contiguity(series, rook=rook)
    pos = graph.unique_ids.get_indexer(series.index)
    matrix = sp.csr_array(graph.sparse)[pos][:, pos]
    name = "rook" if rook else "queen"
    if order == 1:
        return finish(matrix, series.index, name, islands=islands)
    first = Weights(matrix, series.index, name)
    return higher_order(first, order, cumulative=cumulative, islands=islands)


def higher_order(
    w: Weights, k: int, *, cumulative: bool = False, islands: IslandPolicy = "raise"
) -> Weights:
    """Neighbours at exactly ``k`` steps (or within ``k`` steps if ``cumulative``).

    Parameters
    ----------
    w : Weights
        First-order (contiguity) weights; only its non-zero pattern is used.
    k : int
        Order, >= 1. Order k links i and j when the shortest path between them in the
        graph of ``w`` has k edges (a first-order neighbour is never a second-order one).
    cumulative : bool, default False
        Link all pairs at 1..k steps instead.
    islands : {"raise", "keep", "drop"}, default "raise"
        Policy for units that end up without neighbours.

    Returns
    -------
    Weights
        Binary weights, same ids as ``w``.

    Notes
    -----
    Computed by ``libpysal.graph.Graph.higher_order(k, shortest_path=True,
    lower_order=cumulative)``, the same as ``libpysal.weights.higher_order``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> from spillover import weights
    >>> strip = gpd.GeoSeries([box(x, 0, x + 1, 1) for x in range(4)], index=list("abcd"))
    >>> weights.higher_order(weights.rook(strip), 2, cumulative=True).cardinalities.tolist()
    [2, 3, 3, 2]
    """
    from libpysal.graph import Graph

    if not isinstance(k, int | np.integer) or k < 1:
        raise SpecificationError(f"order k must be an integer >= 1, got {k!r}.")
    binary = sp.csr_array(w.matrix, copy=True)
    binary.data[:] = 1.0
    if k == 1:
        return finish(binary, w.ids, w.name, islands=islands)
    positions = np.arange(w.n)
    graph = Graph.from_sparse(binary, ids=positions)
    high = graph.higher_order(k, shortest_path=True, diagonal=False, lower_order=cumulative)
    pos = high.unique_ids.get_indexer(positions)
    matrix = sp.csr_array(high.sparse)[pos][:, pos]
    label = f"{w.name or 'w'} order {'1-' if cumulative else ''}{k}"
    return finish(matrix, w.ids, label, islands=islands)
