"""Fixtures shared across test folders."""

import pytest
from hypothesis import settings

from spillover import datasets

# No per-example wall-clock deadline for property tests (hypothesis's default is 200 ms):
# elapsed time depends on the machine and its load, not on the property checked.
settings.register_profile("spillover", deadline=None)
settings.load_profile("spillover")


@pytest.fixture(scope="session")
def produc():
    """Munnell (1990) US states panel, 48 states x 1970-1986, with polygons."""
    return datasets.us_states()
