"""Shared boundary checks: the id-agreement message names only the sides that disagree."""

from __future__ import annotations

import pandas as pd
import pytest

from spillover import datasets, weights
from spillover._validate import id_mismatch, require_same_ids
from spillover.errors import AlignmentError


def test_message_names_only_nonempty_sides():
    msg = id_mismatch("a and b", [(pd.Index([]), "missing"), (pd.Index(["x", "y"]), "extra")])
    assert msg == "a and b disagree: 2 extra (e.g. 'x', 'y')."


def test_both_sides_named_when_both_disagree():
    with pytest.raises(AlignmentError) as err:
        require_same_ids(
            pd.Index([1, 2]), pd.Index([2, 3]), subject="s", absent="gone", extra="new", fix="Fix."
        )
    assert str(err.value) == "s disagree: 1 gone (e.g. 1) and 1 new (e.g. 3). Fix."


def test_weights_for_more_entities_than_the_panel_say_only_that():
    panel = datasets.us_states()
    w = weights.queen(panel)
    with pytest.raises(AlignmentError) as err:
        w.align(panel.entities[:40])
    text = str(err.value)
    assert "8 W ids are not among the panel entities" in text
    assert "have no row in W" not in text and "(e.g. )" not in text


def test_warnings_point_at_the_users_line():
    # A warning names the line of the user's call, not a line inside spillover, so that
    # "-W error" tracebacks and warning filters by module work as users expect.
    from spillover.errors import ApproximationWarning, DroppedRowsWarning
    from spillover.models.spatial import SpatialLag

    panel = datasets.us_states()
    gappy = panel.assign(x=panel["unemp"].where(panel["unemp"] > 4))
    with pytest.warns(DroppedRowsWarning) as dropped:
        gappy.dropna(["x"])
    w = weights.knn(panel, k=4).row_standardize()  # asymmetric: Chebyshev warns
    with pytest.warns(ApproximationWarning) as approx:
        SpatialLag("log_gsp ~ log_pcap + unemp", panel, w=w, logdet="chebyshev").fit()
    for record in [*dropped, *approx]:
        assert record.filename == __file__, (record.category.__name__, record.filename)
