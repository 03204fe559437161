"""as_panel: the one conversion every estimator and test applies to its data argument.

A Panel passes through; a DataFrame indexed by (entity, time) becomes one with the same
checks and messages as ``Panel(df, entity=..., time=...)``.
"""

import numpy as np
import pandas as pd
import pytest

from spillover import Panel, PanelError
from spillover.panel import as_panel


@pytest.fixture
def indexed():
    return pd.DataFrame(
        {
            "firm": ["a", "a", "b", "b"],
            "year": [2000, 2001, 2000, 2001],
            "emp": [1.0, 2.0, 3.0, 4.0],
        }
    ).set_index(["firm", "year"])


def test_panel_passes_through(indexed):
    p = Panel(indexed, entity="firm", time="year")
    assert as_panel(p) is p


def test_indexed_frame_equals_panel(indexed):
    got = as_panel(indexed)
    want = Panel(indexed, entity="firm", time="year")
    pd.testing.assert_frame_equal(got.data, want.data)
    assert (got.entity_name, got.time_name) == ("firm", "year")


def test_flat_frame_is_told_to_set_its_index(indexed):
    with pytest.raises(PanelError, match=r"MultiIndex.*set_index\(\['firm', 'year'\]\)"):
        as_panel(indexed.reset_index())


def test_three_levels_are_named(indexed):
    three = indexed.assign(region="r").set_index("region", append=True)
    with pytest.raises(PanelError, match=r"exactly two index levels.*'firm', 'year', 'region'"):
        as_panel(three)


def test_unnamed_levels_are_told_to_be_named(indexed):
    with pytest.raises(PanelError, match=r"need names.*rename_axis"):
        as_panel(indexed.rename_axis([None, None]))


def test_duplicate_keys_are_named(indexed):
    doubled = pd.concat([indexed, indexed.iloc[[1]]])
    with pytest.raises(PanelError, match=r"\('a', 2001\).*groupby"):
        as_panel(doubled)


def test_empty_panel_is_refused(indexed):
    with pytest.raises(PanelError, match="no rows: there is nothing to estimate from"):
        as_panel(indexed.iloc[:0])


def test_other_types_are_refused():
    with pytest.raises(PanelError, match=r"got ndarray.*spillover.Panel\(df"):
        as_panel(np.zeros((4, 2)))


def test_level_that_is_also_a_column_is_named(indexed):
    with pytest.raises(PanelError, match=r"'firm' is both an index level and a column"):
        as_panel(indexed.assign(firm=1))


def test_time_error_quotes_the_offending_values_not_the_first(indexed):
    frame = indexed.reset_index()
    frame["year"] = pd.Series([2000, 2001, "2000b", 2001], dtype=object)
    with pytest.raises(PanelError, match=r"neither whole numbers nor dates: '2000b'; it must"):
        as_panel(frame.set_index(["firm", "year"]))


def test_repeated_column_names_are_named(indexed):
    doubled = pd.concat([indexed, indexed[["emp"]]], axis=1)
    with pytest.raises(PanelError, match=r"column names 'emp' occur more than once"):
        as_panel(doubled)
