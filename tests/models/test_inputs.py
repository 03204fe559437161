"""Every estimator takes what the panel estimators take: a Panel or a DataFrame indexed by
(entity, time), converted by the one shared :func:`spillover.panel.as_panel`.

The DataFrame is the Panel's own ``data``, so both paths run the same arithmetic on the
same rows: results must be equal exactly, not to a tolerance.
"""

import pandas as pd
import pytest

from spillover import PanelError
from spillover.diagnostics import bsk_tests
from spillover.models import SpatialError, SpatialLag
from tests.models.test_contract import ESTIMATORS, FORMULA

FAMILIES = {
    **ESTIMATORS,
    "SpatialLag random": lambda panel, w: SpatialLag(FORMULA, panel, w=w, effects="random"),
    "SpatialError random": lambda panel, w: SpatialError(FORMULA, panel, w=w, effects="random"),
}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_dataframe_fit_equals_panel_fit(name, states, queen):
    from_panel = FAMILIES[name](states, queen).fit()
    from_frame = FAMILIES[name](states.data, queen).fit()
    pd.testing.assert_series_equal(from_frame.params, from_panel.params, check_exact=True)
    pd.testing.assert_frame_equal(from_frame.vcov, from_panel.vcov, check_exact=True)
    assert str(from_frame.summary()) == str(from_panel.summary())


def test_bsk_tests_take_a_dataframe(states, queen):
    got = bsk_tests(FORMULA, states.data, w=queen)
    want = bsk_tests(FORMULA, states, w=queen)
    pd.testing.assert_frame_equal(got.to_frame(), want.to_frame(), check_exact=True)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_estimator_refuses_a_bad_index_alike(name, states, queen):
    flat = states.data.reset_index()
    with pytest.raises(PanelError, match=r"needs an \(entity, time\) MultiIndex.*set_index"):
        FAMILIES[name](flat, queen)
    doubled = pd.concat([states.data, states.data.iloc[[3]]])
    with pytest.raises(PanelError, match=r"keys occur more than once, e\.g\. \('AL', 1973\)"):
        FAMILIES[name](doubled, queen)


def test_bsk_tests_refuse_a_bad_index_alike(states, queen):
    with pytest.raises(PanelError, match=r"exactly two index levels"):
        bsk_tests(FORMULA, states.data.assign(k=1).set_index("k", append=True), w=queen)
