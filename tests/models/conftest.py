"""Fixtures shared by the model tests."""

import pytest

from spillover import datasets, weights


@pytest.fixture(scope="session")
def states():
    """Munnell (1990) US states panel, 48 states x 1970-1986, with polygons."""
    return datasets.us_states()


@pytest.fixture(scope="session")
def queen(states):
    """Row-standardised queen contiguity of the 48 states."""
    return weights.queen(states).row_standardize()
