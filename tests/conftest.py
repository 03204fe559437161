"""Fixtures shared across test folders."""

import pytest

from spillover import datasets


@pytest.fixture(scope="session")
def produc():
    """Munnell (1990) US states panel, 48 states x 1970-1986, with polygons."""
    return datasets.us_states()
