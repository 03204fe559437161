"""Loaders for the bundled data sets (files in ``spillover/datasets/data``)."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

import pandas as pd

from spillover.geo import attach_geometry
from spillover.panel import Panel

if TYPE_CHECKING:
    import geopandas as gpd


def us_states() -> Panel:
    """Munnell (1990) public capital and productivity panel: 48 US states, 1970-1986.

    The copy distributed with linearmodels (``linearmodels.datasets.munnell``, the data
    of Baltagi's ``Produc``), joined by state abbreviation to the 48 contiguous-state
    polygons of libpysal's ``us_income`` example.

    Returns
    -------
    Panel
        816 rows keyed by (``state``, ``year``): ``state`` the postal abbreviation (e.g.
        ``"AL"``), ``year`` an integer. Columns:

        - ``name``, ``fips`` (two-digit string), ``region`` (census division);
        - ``gsp``: gross state product, millions of 1982 US dollars;
        - ``pcap``: public capital stock = ``hwy`` (highways and streets) + ``water``
          (water and sewer facilities) + ``util`` (other public buildings and
          structures), millions of 1982 dollars;
        - ``pc``: private capital stock, millions of 1982 dollars;
        - ``emp``: employment on non-agricultural payrolls, thousands;
        - ``unemp``: unemployment rate, percent;
        - ``log_gsp``, ``log_pcap``, ``log_pc``, ``log_emp``: natural logarithms.

        ``panel.geo`` holds the state polygons (EPSG:4326 lon/lat) and ``name``, ``fips``,
        ``region``.

    Notes
    -----
    Baltagi's textbook production function is
    ``log_gsp ~ log_pcap + log_pc + log_emp + unemp``. See data/README.md for provenance.

    Examples
    --------
    >>> from spillover import datasets
    >>> panel = datasets.us_states()
    >>> panel.n_entities, panel.n_periods, panel.is_balanced
    (48, 17, True)
    >>> float(panel.data.loc[("AL", 1970), "gsp"])
    28418.0
    """
    return _load("munnell.parquet", "us48.parquet")


def us_income() -> Panel:
    """Per-capita personal income of the 48 contiguous US states, 1929-2009.

    libpysal's ``us_income`` example (``usjoin.csv``, from the BEA Regional Economic
    Information System) as a long panel on the same polygons and ids as
    :func:`us_states`.

    Returns
    -------
    Panel
        3888 rows keyed by (``state``, ``year``) with ``name``, ``fips``, ``region``,
        ``pcinc`` (per-capita personal income, current US dollars) and ``log_pcinc``.

    Examples
    --------
    >>> from spillover import datasets
    >>> panel = datasets.us_income()
    >>> panel.n_entities, int(panel.periods.min()), int(panel.periods.max())
    (48, 1929, 2009)
    """
    return _load("us_income.parquet", "us48.parquet")


def mexico() -> Panel:
    """Per-capita GDP of the 32 Mexican states, 1940-2000 by decade.

    libpysal's ``mexico`` example (Rey and Sastre Gutiérrez 2010) with its polygons.

    Returns
    -------
    Panel
        224 rows keyed by (``state``, ``year``): ``state`` a code ``"MX01"``-``"MX32"``
        whose digits are INEGI's state number, ``year`` in 1940, 1950, ..., 2000.
        Columns ``name``, ``pcgdp`` (per-capita GDP, constant pesos), ``log_pcgdp`` and
        the regional classifications ``hanson03``, ``hanson98``, ``esquivel99``,
        ``inegi``, ``inegi2`` (integer region codes, constant over time). ``panel.geo``
        holds the polygons (EPSG:4326 lon/lat).

    Examples
    --------
    >>> from spillover import datasets
    >>> panel = datasets.mexico()
    >>> panel.n_entities, panel.periods.tolist()
    (32, [1940, 1950, 1960, 1970, 1980, 1990, 2000])
    """
    return _load("mexico.parquet", "mexico_states.parquet")


def _load(table: str, shapes: str) -> Panel:
    panel = Panel(_read(table), entity="state", time="year")
    return attach_geometry(panel, _read_geo(shapes), on="state")


def _read(name: str) -> pd.DataFrame:
    with resources.as_file(resources.files(__package__) / "data" / name) as path:
        return pd.read_parquet(path)


def _read_geo(name: str) -> gpd.GeoDataFrame:
    import geopandas as gpd

    with resources.as_file(resources.files(__package__) / "data" / name) as path:
        return gpd.read_parquet(path)
