"""spillover.inference: covariance estimators, specification tests, spatial effects.

* covariance options for ``fit(vcov=...)``: :class:`Cluster`, :class:`DriscollKraay`,
  :class:`Conley` (strings ``"unadjusted"``, ``"robust"``, ``"hc0"``, ``"ml"`` need no
  object); :func:`conley_vcov` for plain arrays;
* panel specification tests (:mod:`.specification`): :func:`hausman`,
  :func:`hausman_robust`, :func:`pesaran_cd`, :func:`wooldridge_serial`,
  :func:`breusch_pagan_lm`, :func:`fixed_effects_f_test`, :func:`moran_by_period`;
* spatial diagnostics (:mod:`.spatial_diagnostics`): LM lag/error tests and their robust
  versions, LR and Wald tests of the spatial Durbin restrictions, Moran's I of residuals;
* random effects and spatial error (:mod:`.random_effects_lm`): the Baltagi-Song-Koh LM
  tests :func:`bsk_tests` (joint, marginal and conditional, as splm's ``bsktest``);
* spatial effects (:mod:`.impacts`), power traces (:mod:`.traces`) and log-determinants
  (:mod:`.logdet`) used by the spatial models.
"""

from spillover.inference.conley import clear_kernel_cache, conley_vcov
from spillover.inference.random_effects_lm import BSKTest, BSKTests, bsk_tests
from spillover.inference.spatial_diagnostics import (
    LMTests,
    MoranResult,
    lm_tests,
    lr_test,
    moran_by_period_stacked,
    moran_regression,
    moran_residuals,
    wald_common_factor,
    wald_sdm_to_sar,
)
from spillover.inference.specification import (
    TestResult,
    breusch_pagan_lm,
    fixed_effects_f_test,
    hausman,
    hausman_robust,
    moran_by_period,
    pesaran_cd,
    wooldridge_serial,
)
from spillover.inference.traces import PowerTraces, power_traces, spectral_bound, trace_estimate
from spillover.inference.vcov import Cluster, Conley, DriscollKraay

__all__ = [
    "BSKTest",
    "BSKTests",
    "Cluster",
    "Conley",
    "DriscollKraay",
    "LMTests",
    "MoranResult",
    "PowerTraces",
    "TestResult",
    "breusch_pagan_lm",
    "bsk_tests",
    "clear_kernel_cache",
    "conley_vcov",
    "fixed_effects_f_test",
    "hausman",
    "hausman_robust",
    "lm_tests",
    "lr_test",
    "moran_by_period",
    "moran_by_period_stacked",
    "moran_regression",
    "moran_residuals",
    "pesaran_cd",
    "power_traces",
    "spectral_bound",
    "trace_estimate",
    "wald_common_factor",
    "wald_sdm_to_sar",
    "wooldridge_serial",
]
