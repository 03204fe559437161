"""spillover.diagnostics: specification and spatial tests of fitted models.

* panel specification tests (:mod:`.specification`): :func:`hausman`,
  :func:`hausman_robust`, :func:`pesaran_cd`, :func:`wooldridge_serial`,
  :func:`breusch_pagan_lm`, :func:`fixed_effects_f_test`, :func:`moran_by_period`;
* spatial diagnostics (:mod:`.spatial`): LM lag/error tests and their robust versions, LR
  and Wald tests of the spatial Durbin restrictions, Moran's I of residuals, and the
  spatial Hausman test :func:`spatial_hausman` of random against fixed effects;
* random effects and spatial error (:mod:`.random_effects_lm`): the Baltagi-Song-Koh LM
  tests :func:`bsk_tests` (joint, marginal and conditional, as splm's ``bsktest``);
* which W, which model (:mod:`.model_choice`): :func:`compare_models`, LeSage's log
  marginal likelihoods and posterior model probabilities of candidate weights matrices and
  families, beside likelihood-ratio tests and information criteria.

This package sits above :mod:`spillover.models`: a test may fit the auxiliary model it
needs; models never import diagnostics.
"""

from spillover.diagnostics.model_choice import ModelComparison, compare_models
from spillover.diagnostics.random_effects_lm import BSKTest, BSKTests, bsk_tests
from spillover.diagnostics.spatial import (
    LMTests,
    MoranResult,
    lm_tests,
    lr_test,
    moran_by_period_stacked,
    moran_regression,
    moran_residuals,
    spatial_hausman,
    wald_common_factor,
    wald_sdm_to_sar,
)
from spillover.diagnostics.specification import (
    TestResult,
    breusch_pagan_lm,
    fixed_effects_f_test,
    hausman,
    hausman_robust,
    moran_by_period,
    pesaran_cd,
    wooldridge_serial,
)

__all__ = [
    "BSKTest",
    "BSKTests",
    "LMTests",
    "ModelComparison",
    "MoranResult",
    "TestResult",
    "breusch_pagan_lm",
    "bsk_tests",
    "compare_models",
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
    "spatial_hausman",
    "wald_common_factor",
    "wald_sdm_to_sar",
    "wooldridge_serial",
]
