"""spillover.linalg: the W algebra every spatial computation shares.

* :mod:`.logdet`: log-determinants ``log|I - rho W|`` (eigenvalues, sparse LU, banded
  Cholesky, Chebyshev and Monte Carlo series) and the parameter bounds they hold on;
* :mod:`.traces`: power traces ``tr(W^k)`` (exact or Hutchinson), the multipliers
  ``sum_k rho^k tr(W^k)`` behind direct and indirect effects, and spectral bounds.

Arrays in, arrays out: W is a ``scipy.sparse.csr_array`` here, never densified. Nothing in
this package knows about panels, formulas or models.
"""

from spillover.linalg.logdet import LogDeterminant, log_determinant, parameter_bounds
from spillover.linalg.traces import (
    Multipliers,
    PowerTraces,
    multipliers,
    power_traces,
    spectral_bound,
    trace_estimate,
)

__all__ = [
    "LogDeterminant",
    "Multipliers",
    "PowerTraces",
    "log_determinant",
    "multipliers",
    "parameter_bounds",
    "power_traces",
    "spectral_bound",
    "trace_estimate",
]
