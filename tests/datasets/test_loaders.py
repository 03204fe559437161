"""Bundled data sets checked against the source tables in linearmodels and libpysal.

The source files are read here independently of data/build.py (raw csv/shapefile), so a
wrong join, reshape or unit conversion in the build shows up as a mismatch.
"""

import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from linearmodels import PanelOLS
from pyproj import Geod

from spillover import datasets
from spillover.geo import distance_coordinates

# Source folders located without importing libpysal (slow to import, not needed here).
EXAMPLES = Path(importlib.util.find_spec("libpysal").origin).parent / "examples"
MUNNELL = (
    Path(importlib.util.find_spec("linearmodels").origin).parent
    / "datasets"
    / "munnell"
    / "munnell.csv.bz2"
)


@pytest.fixture(scope="module")
def states():
    return datasets.us_states()


@pytest.fixture(scope="module")
def income():
    return datasets.us_income()


@pytest.fixture(scope="module")
def mexico():
    return datasets.mexico()


@pytest.fixture(scope="module")
def us48_raw():
    return gpd.read_file(EXAMPLES / "us_income" / "us48.shp")


# ---------------------------------------------------------------------- us_states
def test_us_states_shape_keys_and_geometry(states, us48_raw):
    assert (states.nobs, states.n_entities, states.n_periods) == (816, 48, 17)
    assert states.is_balanced
    assert states.periods.tolist() == list(range(1970, 1987))
    assert list(states.data.index.names) == ["state", "year"]
    assert states.entities.tolist() == sorted(us48_raw["STATE_ABBR"])
    assert states.geo.index.tolist() == states.entities.tolist()
    assert states.geo.crs.to_epsg() == 4326
    for col in ("gsp", "pcap", "hwy", "water", "util", "pc", "emp", "unemp", "log_gsp"):
        assert col in states
    raw_ma = us48_raw.set_index("STATE_ABBR").loc["MA"]
    assert states.geo.loc["MA"].geometry.equals(raw_ma.geometry)
    assert states.geo.loc["MA", "fips"] == "25"
    assert states.geo.loc["MA", "region"] == "New England"


@pytest.mark.parametrize(
    ("abbr", "year"), [("AL", 1970), ("MA", 1980), ("CA", 1986), ("WY", 1975), ("NY", 1970)]
)
def test_us_states_cells_match_raw_munnell(states, abbr, year):
    raw = pd.read_csv(MUNNELL)
    row = raw[(raw.ST_ABB == abbr) & (raw.YR == year)].iloc[0]
    got = states.data.loc[(abbr, year)]
    for src, dst in [
        ("GSP", "gsp"),
        ("P_CAP", "pcap"),
        ("HWY", "hwy"),
        ("PC", "pc"),
        ("EMP", "emp"),
        ("UNEMP", "unemp"),
        ("WATER", "water"),
        ("UTIL", "util"),
    ]:
        assert got[dst] == row[src], (abbr, year, dst)
    assert got["log_pcap"] == pytest.approx(np.log(row.P_CAP), rel=1e-15)


def test_public_capital_is_sum_of_components(states):
    # Munnell's public capital is highways + water/sewer + other; the source rounds each of
    # the four to 0.01, so they agree to 4 x 0.005 (observed: exactly 0.01 at worst).
    d = states.data
    np.testing.assert_allclose(d.pcap, d.hwy + d.water + d.util, rtol=0, atol=0.02)


def test_baltagi_within_estimates_reproduce(states):
    """Published within (entity fixed effects) estimates for Munnell's data as printed in
    Croissant and Millo (2008, J. Stat. Softw. 27(2), plm on ``Produc``), the same data as
    Baltagi's textbook example: log gsp on log pcap, log pc, log emp, unemp."""
    res = PanelOLS.from_formula(
        "log_gsp ~ log_pcap + log_pc + log_emp + unemp + EntityEffects", states.data
    ).fit()
    published = {
        "log_pcap": -0.0261497,
        "log_pc": 0.2920069,
        "log_emp": 0.7681595,
        "unemp": -0.0052977,
    }
    for name, value in published.items():  # printed to 7 decimals: half a unit of the last
        assert res.params[name] == pytest.approx(value, rel=0, abs=5e-8 + 1e-12), name


# ---------------------------------------------------------------------- us_income
@pytest.mark.parametrize(
    ("name", "year"),
    [
        ("Alabama", 1929),
        ("California", 1950),
        ("New York", 2009),
        ("Wyoming", 1975),
        ("Vermont", 1990),
    ],
)
def test_us_income_cells_match_usjoin(income, us48_raw, name, year):
    raw = pd.read_csv(EXAMPLES / "us_income" / "usjoin.csv").set_index("Name")
    abbr = us48_raw.set_index("STATE_NAME").loc[name, "STATE_ABBR"]
    assert income.data.loc[(abbr, year), "pcinc"] == raw.loc[name, str(year)]
    assert income.data.loc[(abbr, year), "name"] == name


def test_us_income_shape_and_shared_ids(income, states):
    assert (income.nobs, income.n_entities, income.n_periods) == (3888, 48, 81)
    assert income.is_balanced
    assert income.entities.equals(states.entities)
    assert income.geo.geometry.geom_equals(states.geo.geometry).all()


# ---------------------------------------------------------------------- mexico
@pytest.mark.parametrize(
    ("csv_name", "code", "year"),
    [
        ("Aguascalientes", "MX01", 1940),
        ("Distrito Federal", "MX09", 1970),
        ("Quertaro", "MX22", 2000),
        ("Veracruz", "MX30", 1990),
        ("Zacatecas", "MX32", 1950),
    ],
)
def test_mexico_cells_match_mexico_csv(mexico, csv_name, code, year):
    raw = pd.read_csv(EXAMPLES / "mexico" / "mexico.csv").set_index("State")
    assert mexico.data.loc[(code, year), "pcgdp"] == raw.loc[csv_name, f"pcgdp{year}"]
    assert mexico.data.loc[(code, year), "inegi"] == raw.loc[csv_name, "inegi"]


def test_mexico_shape_and_geometry(mexico):
    raw = gpd.read_file(EXAMPLES / "mexico" / "mexicojoin.shp").set_index("CODE")
    assert (mexico.nobs, mexico.n_entities, mexico.n_periods) == (224, 32, 7)
    assert mexico.entities.tolist() == [f"MX{i:02d}" for i in range(1, 33)]
    assert mexico.geo.loc["MX14"].geometry.equals(raw.loc["MX14"].geometry)
    assert mexico.geo.loc["MX14", "name"] == "Jalisco"


def test_declared_crs_is_consistent_with_source_areas(mexico, us48_raw):
    """Evidence for EPSG:4326: mexicojoin.dbf's AREA (m^2) equals the geodesic area of the
    polygons read as WGS84 lon/lat (to 0.2%: AREA came from a projected copy whose datum and
    vertex handling are unknown; any other unit would be off by orders of magnitude);
    us48.dbf's AREA equals the planar area in square degrees (to 0.5%)."""
    geod = Geod(ellps="WGS84")
    raw = gpd.read_file(EXAMPLES / "mexico" / "mexicojoin.shp").set_index("CODE")
    areas = np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in mexico.geo.geometry])
    np.testing.assert_allclose(areas, raw.loc[mexico.entities, "AREA"], rtol=2e-3)
    np.testing.assert_allclose(us48_raw.geometry.area, us48_raw["AREA"], rtol=5e-3)


def test_geometry_is_usable_for_distances(states, mexico):
    for panel in (states, mexico):
        coords, metric = distance_coordinates(panel.geo)
        assert metric == "haversine"
        assert coords.shape == (panel.n_entities, 2)
