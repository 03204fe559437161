"""km conversion for projected CRSs: one function serves Conley cutoffs and distance bands."""

import pyproj
import pytest

from spillover.errors import GeographyError
from spillover.geo import crs_units_per_km

UNKNOWN = pyproj.CRS.from_wkt(
    'ENGCRS["local",EDATUM[""],CS[Cartesian,2],AXIS["x",east],AXIS["y",north],'
    'LENGTHUNIT["unknown",1]]'
)


def test_metres_and_us_survey_feet():
    assert crs_units_per_km(pyproj.CRS("EPSG:5070")) == 1000.0
    # US survey foot = 1200/3937 m by definition
    assert crs_units_per_km(pyproj.CRS("EPSG:2232")) == pytest.approx(1000 * 3937 / 1200, rel=1e-12)


def test_unknown_unit_is_refused_not_taken_as_metres():
    # pyproj reports a factor of 1.0 for "unknown"; treating it as metres would be silent
    assert UNKNOWN.axis_info[0].unit_conversion_factor == 1.0
    with pytest.raises(GeographyError, match="unknown"):
        crs_units_per_km(UNKNOWN, what="the Conley cutoff in km")
