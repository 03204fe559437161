"""spillover.datasets: bundled real data sets, one loader each.

Each loader returns a :class:`~spillover.panel.Panel` keyed by (state, year) with the
state polygons attached (``panel.geo``, CRS EPSG:4326). The files live inside the package
(``spillover/datasets/data``), so the loaders work from any installation; ``data/build.py``
in the repository rebuilds them from linearmodels and libpysal, and ``data/README.md``
documents sources, variables and units.
"""

from spillover.datasets._loaders import mexico, us_income, us_states

__all__ = ["mexico", "us_income", "us_states"]
