"""Bad and degenerate inputs: every estimator refuses them before estimating, in its own
terms (the variable, the rows, the fix), never with an error of numpy, scipy, formulaic or
linearmodels.

Each case names the input and the key words the message must hold.
"""

import re

import numpy as np
import pytest
from linearmodels.panel.utility import AbsorbingEffectError

from spillover import PanelError, SpecificationError, datasets, weights
from spillover.diagnostics import bsk_tests
from spillover.errors import SpilloverError
from spillover.models import (
    HDFE,
    SAC,
    Between,
    FirstDifference,
    FixedEffects,
    PanelIV,
    Pooled,
    RandomEffects,
    SpatialDurbin,
    SpatialError,
    SpatialLag,
)
from spillover.models._checks import translated


@pytest.fixture(scope="module")
def panel():
    """Munnell states plus degenerate columns."""
    p = datasets.us_states()
    d = p.data
    return p.assign(
        tinv=d.groupby(level=0)["unemp"].transform("mean"),  # constant within state
        pinv=d.groupby(level=1)["unemp"].transform("mean"),  # constant within year
        y_tinv=d.groupby(level=0)["log_gsp"].transform("mean"),
        y_const=3.0,
        coll=2 * d["log_pc"] + d["log_emp"],
        neg=-d["unemp"],
        label=np.where(np.arange(len(d)) == 5, "n/a", d["unemp"].astype(str)).astype(object),
    )


@pytest.fixture(scope="module")
def w(panel):
    return weights.queen(panel.geo).row_standardize()


def _fit(model):
    return model.fit() if hasattr(model, "fit") else model


# --------------------------------------------------------------- formula, every estimator
BUILDERS = {
    "Pooled": lambda f, p, w: Pooled(f, p),
    "FixedEffects": lambda f, p, w: FixedEffects(f, p, effects="twoway"),
    "RandomEffects": lambda f, p, w: RandomEffects(f, p),
    "FirstDifference": lambda f, p, w: FirstDifference(f, p),
    "Between": lambda f, p, w: Between(f, p),
    "HDFE": lambda f, p, w: HDFE(f, p, absorb=["state", "year"]),
    "PanelIV": lambda f, p, w: PanelIV(f.replace("~", "~ [log_pcap ~ W(log_pcap)] +"), p, w=w),
    "SpatialLag": lambda f, p, w: SpatialLag(f, p, w=w),
    "SpatialError random": lambda f, p, w: SpatialError(f, p, w=w, effects="random"),
    "SAC": lambda f, p, w: SAC(f, p, w=w),
    "bsk_tests": lambda f, p, w: bsk_tests(f, p, w=w),
}

FORMULA_CASES = {
    "unknown column": (
        "log_gsp ~ unemp + Log_pc",
        r"'Log_pc', which is not a column of the panel\. Did you mean 'log_pc'",
    ),
    "unknown function": ("log_gsp ~ unemp + lg(pc)", r"calls 'lg', which is not a known function"),
    "syntax error": ("log_gsp ~ unemp +* log_pc", r"cannot read formula .*\(at '\+\*'\)\. Write"),
    "log of a negative number": (
        "log_gsp ~ unemp + log(neg)",
        r"816 rows have missing or infinite values .* 'log\(neg\)' .*\(neg = -4\.7\).*log1p",
    ),
    "text column": (
        "log_gsp ~ unemp + label",
        r"'label' .* 1 of 816 values are not numbers, e\.g\. 'n/a' \(at \('AL', 1975\)\)",
    ),
    "all-missing column": ("log_gsp ~ unemp + gap", r"816 rows have missing values in 'gap'"),
}


@pytest.mark.parametrize("case", list(FORMULA_CASES))
@pytest.mark.parametrize("name", list(BUILDERS))
def test_formula_errors_are_translated(name, case, panel, w):
    formula, message = FORMULA_CASES[case]
    data = panel.assign(gap=np.nan)
    with pytest.raises(SpilloverError, match=message) as info:
        _fit(BUILDERS[name](formula, data, w))
    assert "\x1b[" not in str(info.value)  # formulaic's terminal colours are stripped


def test_formula_without_dependent_variable(panel):
    with pytest.raises(SpecificationError, match="needs a dependent variable"):
        Pooled("~ unemp", panel)


@pytest.mark.parametrize("model", [Pooled, FixedEffects, HDFE])
def test_formula_without_regressors(model, panel):
    kw = {"absorb": ["state"]} if model is HDFE else {}
    with pytest.raises(SpecificationError, match=r"has no regressors; add at least one"):
        model("log_gsp ~ 0", panel, **kw)


def test_fewer_rows_than_parameters(panel):
    tiny = panel.subset(entities=list(panel.entities[:2]), periods=[1970, 1971])
    with pytest.raises(SpecificationError, match=r"4 rows for 5 parameters .*more observations"):
        Pooled("log_gsp ~ log_pcap + log_pc + log_emp + unemp", tiny)


def test_empty_panel(panel):
    with pytest.raises(PanelError, match="no rows: there is nothing to estimate from"):
        FixedEffects("log_gsp ~ unemp", panel.subset(periods=[]))


# --------------------------------------------------------------- FixedEffects (linearmodels)
@pytest.mark.parametrize(
    ("effects", "column", "message"),
    [
        ("entity", "tinv", r"'tinv' does not vary within state \(over year\).*RandomEffects"),
        ("twoway", "tinv", r"'tinv' does not vary once state and year effects are removed"),
        ("time", "pinv", r"'pinv' does not vary within year \(across state\)"),
    ],
)
def test_fixed_effects_name_the_absorbed_regressor(effects, column, message, panel):
    with pytest.raises(SpecificationError, match=message) as info:
        FixedEffects(f"log_gsp ~ unemp + {column}", panel, effects=effects).fit()
    assert "drop_absorbed" not in str(info.value)


def test_fixed_effects_dependent_constant_within_entity(panel):
    with pytest.raises(SpecificationError, match=r"dependent variable 'y_tinv' does not vary"):
        FixedEffects("y_tinv ~ unemp", panel).fit()


def test_fixed_effects_on_a_single_period(panel):
    one = panel.subset(periods=[1970])
    with pytest.raises(SpecificationError, match=r"every state has a single row.*Pooled"):
        FixedEffects("log_gsp ~ unemp", one).fit()


def test_time_effects_on_a_single_entity(panel):
    one = panel.subset(entities=["AL"])
    with pytest.raises(SpecificationError, match=r"every year has a single row.*'entity'"):
        FixedEffects("log_gsp ~ unemp", one, effects="time").fit()


def test_fixed_effects_without_residual_df(panel):
    small = panel.subset(entities=list(panel.entities[:3]), periods=[1970, 1971])
    with pytest.raises(SpecificationError, match=r"entity effects take 3 .* leave 3 for 4"):
        FixedEffects("log_gsp ~ log_pcap + log_pc + log_emp + unemp", small).fit()


def test_collinear_regressors_are_named(panel):
    with pytest.raises(SpecificationError, match=r"collinear: 'coll'"):
        FixedEffects("log_gsp ~ log_pc + log_emp + coll", panel)


def test_linearmodels_absorbing_error_is_translated():
    text = (
        "\nThe model cannot be estimated.\n\nThe following variables or variable combinations "
        "have been fully absorbed\nor have become perfectly collinear after effects are "
        "removed:\n\n          Intercept, tinv\n\nSet drop_absorbed=True to automatically "
        "drop absorbed variables.\n"
    )
    with pytest.raises(SpecificationError, match=r"absorb Intercept, tinv") as info:
        with translated("FixedEffects"):
            raise AbsorbingEffectError(text)
    assert "drop_absorbed" not in str(info.value)


def test_dependency_value_and_linalg_errors_are_translated():
    with pytest.raises(SpecificationError, match=r"Between cannot be estimated .*: odd"):
        with translated("Between"):
            raise ValueError("odd")
    with pytest.raises(SpecificationError, match=r"collinear on this sample"):
        with translated("Pooled"):
            np.linalg.inv(np.zeros((2, 2)))


# --------------------------------------------------------------- other panel estimators
def test_pooled_constant_dependent_variable(panel):
    with pytest.raises(SpecificationError, match=r"'y_const' does not vary at all"):
        Pooled("y_const ~ unemp", panel).fit()


def test_random_effects_on_a_single_period(panel):
    with pytest.raises(SpecificationError, match=r"single row, so their variance cannot be told"):
        RandomEffects("log_gsp ~ unemp", panel.subset(periods=[1970])).fit()


def test_random_effects_with_fewer_entities_than_parameters(panel):
    few = panel.subset(entities=list(panel.entities[:4]))
    with pytest.raises(SpecificationError, match=r"4 entities \(state means\) for 5 parameters"):
        RandomEffects("log_gsp ~ log_pcap + log_pc + log_emp + unemp", few).fit()


def test_first_difference_of_a_time_invariant_regressor(panel):
    with pytest.raises(SpecificationError, match=r"'tinv' does not vary .*first differences"):
        FirstDifference("log_gsp ~ unemp + tinv", panel).fit()


def test_first_difference_on_a_single_period(panel):
    with pytest.raises(SpecificationError, match=r"at least two periods; this panel has 1"):
        FirstDifference("log_gsp ~ unemp", panel.subset(periods=[1970])).fit()


def test_between_regressor_constant_across_entities(panel):
    with pytest.raises(SpecificationError, match=r"state means of the regressors are collinear"):
        Between("log_gsp ~ unemp + pinv", panel).fit()


# --------------------------------------------------------------- HDFE and IV
def test_hdfe_constant_dependent_variable(panel):
    with pytest.raises(SpecificationError, match=r"'y_const' does not vary once the absorbed"):
        HDFE("y_const ~ unemp", panel, absorb=["state", "year"]).fit()


def test_hdfe_singletons_leave_nothing(panel):
    with pytest.raises(SpecificationError, match=r"no observations are left: every observation"):
        HDFE("log_gsp ~ unemp", panel.subset(periods=[1970]), absorb=["state"])


def test_hdfe_missing_effect_names_rows(panel):
    gappy = panel.assign(region=panel["region"].where(panel["unemp"] < 9))
    with pytest.raises(SpecificationError, match=r"'region' is missing in \d+ rows, e\.g\. at"):
        HDFE("log_gsp ~ unemp", gappy, absorb=["region"])


def test_iv_regressors_collinear_with_the_endogenous_one(panel, w):
    model = PanelIV("log_gsp ~ log_emp + coll + [log_pc ~ W(log_pc)]", panel, w=w)
    with pytest.raises(SpecificationError, match=r"exogenous and endogenous\) are collinear"):
        model.fit()


def test_iv_empty_bracket(panel, w):
    with pytest.raises(SpecificationError, match=r"bracket .* needs the endogenous regressors"):
        PanelIV("log_gsp ~ unemp + [ ~ W(unemp)]", panel, w=w)


def test_iv_regressor_absorbed(panel, w):
    model = PanelIV("log_gsp ~ tinv + [log_pc ~ W(log_pc)]", panel, w=w, absorb=["state"])
    with pytest.raises(SpecificationError, match=r"'tinv' does not vary once the absorbed"):
        model.fit()


# --------------------------------------------------------------- spatial models
@pytest.mark.parametrize("model", [SpatialLag, SpatialDurbin, SAC])
def test_spatial_dependent_constant_within_entity(model, panel, w):
    # was a ConvergenceError ("did not converge (Solution found.)")
    with pytest.raises(SpecificationError, match=r"'y_tinv' does not vary within state"):
        model("y_tinv ~ unemp", panel, w=w)


def test_spatial_regressor_absorbed(panel, w):
    with pytest.raises(SpecificationError, match=r"'tinv' does not vary within state.*'random'"):
        SpatialLag("log_gsp ~ unemp + tinv", panel, w=w)


def test_spatial_no_regressor_left(panel, w):
    with pytest.raises(SpecificationError, match=r"no regressors once the fixed effects absorb"):
        SpatialError("log_gsp ~ 1", panel, w=w)


def test_spatial_random_constant_dependent(panel, w):
    with pytest.raises(SpecificationError, match=r"'y_const' does not vary at all"):
        SpatialError("y_const ~ unemp", panel, w=w, effects="random")


def test_messages_have_no_dependency_advice(panel):
    """No message advises an option spillover does not have."""
    for formula in ("log_gsp ~ unemp + tinv", "y_tinv ~ unemp"):
        with pytest.raises(SpecificationError) as info:
            FixedEffects(formula, panel).fit()
        assert not re.search(r"drop_absorbed|check_rank|na_action", str(info.value))


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("~ unemp + [log_pc ~ log_pcap]", r"needs a dependent variable and a '~'"),
        ("log_gsp unemp + [log_pc ~ log_pcap]", r"needs a dependent variable and a '~'"),
        ("log_gsp ~ unemp", r"needs one bracket of endogenous regressors"),
    ],
)
def test_iv_formula_shape(formula, message, panel):
    with pytest.raises(SpecificationError, match=message):
        PanelIV(formula, panel)


def test_results_methods_refuse_bad_arguments(panel):
    res = Pooled("log_gsp ~ unemp + log_pc", panel).fit()
    with pytest.raises(SpecificationError, match=r"'nope' are not\. Parameters: 'Intercept'"):
        res.wald_test(["unemp", "nope"])
    with pytest.raises(SpecificationError, match=r"level must be in \(0, 1\)"):
        res.conf_int(1.5)
