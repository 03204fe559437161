"""spillover.inference: covariance estimators and spatial effects.

* covariance options for ``fit(vcov=...)``: :class:`Cluster`, :class:`DriscollKraay`,
  :class:`Conley` (strings ``"unadjusted"``, ``"robust"``, ``"hc0"``, ``"ml"``,
  ``"hessian"`` need no object); :func:`conley_vcov` for plain arrays. Every covariance
  is one entry of :mod:`.registry` (name, option class, kernel, what it needs from the
  fit): a new one is a registered kernel, and each model accepts those its fit provides;
* direct, indirect and total effects of spatial models (:mod:`.impacts`).

The W algebra the effects and spatial models use (log-determinants, power traces,
multipliers) lives in :mod:`spillover.linalg`; specification and spatial tests, which may
fit models, in :mod:`spillover.diagnostics`.
"""

from spillover.inference.conley import clear_kernel_cache, conley_vcov
from spillover.inference.vcov import Cluster, Conley, DriscollKraay

__all__ = [
    "Cluster",
    "Conley",
    "DriscollKraay",
    "clear_kernel_cache",
    "conley_vcov",
]
