"""Settings shared by the tests that compare PoissonHDFE with pyfixest's ``fepois``.

Both sides iterate to far below the 1e-8 the tests ask (ours: deviance change 1e-13 and
demeaning 1e-13; pyfixest: 1e-15 and 1e-13), so the comparisons are limited by pyfixest's
covariance convention, not by either stopping rule (see ``test_poisson.py``).
"""

from __future__ import annotations

from typing import Any

TIGHT = {"tol": 1e-13, "demean_tol": 1e-13}
PF_TIGHT = {"iwls_tol": 1e-15, "iwls_maxiter": 200}


def pf_demeaner() -> Any:
    """pyfixest's alternating-projections demeaner at 1e-13."""
    from pyfixest.demeaners import MapDemeaner

    return MapDemeaner(fixef_tol=1e-13, fixef_maxiter=100_000)
