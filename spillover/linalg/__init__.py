"""spillover.linalg: the W algebra every spatial computation shares.

* :mod:`.structure`: the one symmetry test, the one symmetric similar form
  ``D^1/2 W D^-1/2`` and the one row-sum test;
* :mod:`.spectral`: spectral radius (ARPACK), eigenvalues, the Collatz-Wielandt bound and
  the parameter interval ``(-1/r, 1/r)``;
* :mod:`.matrix`: :class:`SpatialMatrix`, a W that computes each of those facts once and
  caches it (:class:`spillover.weights.Weights` is a SpatialMatrix with entity ids);
* :mod:`.factor`: :class:`SpatialFilter`, the one factorisation of ``I - rho W`` (sparse
  LU, COLAMD) with ``solve`` and ``logdet``, and the banded Cholesky log-determinant;
* :mod:`.stacking`: the one stacking convention and the one "apply W within each period";
* :mod:`.logdet`: log-determinants ``log|I - rho W|`` (eigenvalues, sparse LU, banded
  Cholesky, Chebyshev and Monte Carlo series);
* :mod:`.traces`: power traces ``tr(W^k)`` (exact or Hutchinson) and the multipliers
  ``sum_k rho^k tr(W^k)`` behind direct and indirect effects.

Conventions
-----------
Arrays in, arrays out: W is an N x N ``scipy.sparse.csr_array`` (or a SpatialMatrix holding
one), never densified except for the dense eigenvalues at small N. These functions take no
ids and match nothing: W's rows are already in the order of the data they multiply. User
input with ids enters through :func:`spillover.weights.as_weights`.

Stacked panels are **entity-major**: entity 1's T periods, then entity 2's, ... (the sorted
(entity, time) order of a Panel), so ``a.reshape(N, T)`` has one row per entity and W
acts on all periods in one product (:func:`stacking.lag`, :func:`stacking.solve`);
``I_T (x) W`` is never built. Data that arrive time-major are reordered at the edge with
:func:`stacking.to_entity_major` / :func:`stacking.to_time_major`.

Nothing in this package knows about panels, formulas, models or entity ids.
"""

from spillover.linalg.factor import SpatialFilter
from spillover.linalg.logdet import LogDeterminant, log_determinant
from spillover.linalg.matrix import SpatialMatrix, parameter_bounds
from spillover.linalg.spectral import spectral_bound, spectral_radius
from spillover.linalg.stacking import PeriodMatrices, lag, solve
from spillover.linalg.traces import (
    Multipliers,
    PowerTraces,
    multipliers,
    power_traces,
    trace_estimate,
)

__all__ = [
    "LogDeterminant",
    "Multipliers",
    "PeriodMatrices",
    "PowerTraces",
    "SpatialFilter",
    "SpatialMatrix",
    "lag",
    "log_determinant",
    "multipliers",
    "parameter_bounds",
    "power_traces",
    "solve",
    "spectral_bound",
    "spectral_radius",
    "trace_estimate",
]
