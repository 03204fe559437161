import numpy as np
import pandas as pd
import pytest

from spillover import AlignmentError, Panel, PanelError, SpecificationError
from spillover.errors import DroppedRowsWarning


@pytest.fixture
def df():
    return pd.DataFrame(
        {
            "firm": ["a", "a", "a", "b", "b", "c"],
            "year": [2001, 2000, 2002, 2000, 2002, 2001],
            "emp": [2.0, 1.0, 3.0, 10.0, np.nan, 7.0],
        }
    )


def test_index_is_sorted_entity_time(df):
    p = Panel(df, entity="firm", time="year")
    assert list(p.data.index.names) == ["firm", "year"]
    assert p.data.index.is_monotonic_increasing
    assert p.data.loc[("a", 2000), "emp"] == 1.0
    assert (p.n_entities, p.n_periods, p.nobs) == (3, 3, 6)
    assert not p.is_balanced


def test_accepts_multiindex_input(df):
    p = Panel(df.set_index(["firm", "year"]), entity="firm", time="year")
    assert p.nobs == 6


def test_duplicate_keys_are_named(df):
    bad = pd.concat([df, df.iloc[[0]]])
    with pytest.raises(PanelError, match=r"\('a', 2001\)"):
        Panel(bad, entity="firm", time="year")


def test_missing_keys_rejected(df):
    bad = df.astype({"year": "float"}).copy()
    bad.loc[3, "year"] = np.nan
    with pytest.raises(PanelError, match="no 'year' key"):
        Panel(bad, entity="firm", time="year")


def test_string_time_rejected(df):
    with pytest.raises(PanelError, match="integer"):
        Panel(df.astype({"year": str}), entity="firm", time="year")


def test_fractional_time_rejected(df):
    with pytest.raises(PanelError, match="non-integer"):
        Panel(df.assign(year=df.year + 0.5), entity="firm", time="year")


def test_datetime_time_kept(df):
    p = Panel(
        df.assign(year=pd.to_datetime(df.year.astype(str), format="%Y")), entity="firm", time="year"
    )
    assert pd.api.types.is_datetime64_any_dtype(p.periods)


def test_missing_column_named(df):
    with pytest.raises(SpecificationError, match="'region'"):
        Panel(df, entity="region", time="year")


def test_missing_keys_and_gaps(df):
    p = Panel(df, entity="firm", time="year")
    missing = set(p.missing_keys())
    assert missing == {("b", 2001), ("c", 2000), ("c", 2002)}
    gaps = p.gaps()
    assert list(map(tuple, gaps.to_numpy())) == [("b", 2001)]


def test_lag_respects_gaps(df):
    p = Panel(df, entity="firm", time="year")
    lag = p.lag("emp")
    assert np.isnan(lag[("a", 2000)])
    assert lag[("a", 2001)] == 1.0
    assert lag[("a", 2002)] == 2.0
    assert np.isnan(lag[("b", 2002)])  # 2001 missing for b: no shift across the gap


def test_dropna_warns_with_count(df):
    p = Panel(df, entity="firm", time="year")
    with pytest.warns(DroppedRowsWarning, match="dropped 1 rows"):
        q = p.dropna(["emp"])
    assert q.nobs == 5 and p.nobs == 6


def test_require_complete_names_rows(df):
    p = Panel(df, entity="firm", time="year")
    with pytest.raises(PanelError, match=r"\('b', 2002\)"):
        p.require_complete(["emp"])


def test_balanced_and_require_balanced(df):
    p = Panel(df, entity="firm", time="year")
    with pytest.raises(PanelError, match="unbalanced"):
        p.require_balanced()
    with pytest.warns(DroppedRowsWarning):
        b = p.balanced()
    assert list(b.entities) == ["a"] and b.is_balanced


def test_subset_unknown_entity(df):
    p = Panel(df, entity="firm", time="year")
    with pytest.raises(AlignmentError, match="'z'"):
        p.subset(entities=["a", "z"])


def test_from_file_round_trip(tmp_path, df):
    df.to_csv(tmp_path / "p.csv", index=False)
    df.to_parquet(tmp_path / "p.parquet")
    df.to_stata(tmp_path / "p.dta", write_index=False)
    for name in ("p.csv", "p.parquet", "p.dta"):
        p = Panel.from_file(tmp_path / name, entity="firm", time="year")
        assert p.nobs == 6 and p.data.loc[("c", 2001), "emp"] == 7.0
    with pytest.raises(PanelError, match="unknown extension"):
        Panel.from_file(tmp_path / "p.xlsx", entity="firm", time="year")


def test_data_passes_to_linearmodels():
    from linearmodels import PanelOLS

    rng = np.random.default_rng(0)
    n, t = 20, 5
    frame = pd.DataFrame(
        {
            "i": np.repeat(np.arange(n), t),
            "t": np.tile(np.arange(t), n),
            "x": rng.normal(size=n * t),
        }
    )
    frame["y"] = 2 * frame.x + rng.normal(size=n * t)
    p = Panel(frame, entity="i", time="t")
    res = PanelOLS.from_formula("y ~ x + EntityEffects", p.data).fit()
    assert abs(res.params["x"] - 2) < 0.3


def test_geometry_follows_entities_left_after_dropna_and_subset():
    # An entity whose every row is dropped must leave panel.geo too: weights built from
    # panel.geo would otherwise carry an id the panel no longer has, and every spatial
    # model would refuse the pair (AlignmentError) for a reason the user cannot see.
    from spillover import datasets, weights

    p = datasets.us_states()
    is_al = p.data.index.get_level_values(0) == "AL"
    with pytest.warns(DroppedRowsWarning, match="dropped 17 rows"):
        q = p.assign(x=np.where(is_al, np.nan, 1.0)).dropna(["x"])
    assert q.n_entities == 47 and list(q.geo.index) == list(q.entities)
    assert weights.queen(q).align(q).n == 47  # same ids as the panel: no AlignmentError
    assert p.n_entities == 48 and len(p.geo) == 48  # the input panel is untouched
    later = p.assign(y=np.where(is_al & (p.data.index.get_level_values(1) < 1980), 1.0, np.nan))
    with pytest.warns(DroppedRowsWarning):
        r = later.dropna(["y"])
    assert list(r.entities) == ["AL"] and list(r.geo.index) == ["AL"]


@pytest.mark.parametrize("bad", [1.5, "1", True])
def test_lag_refuses_a_non_integer_number_of_periods(df, bad):
    # 1.5 and "1" used to fail deep in numpy; True was silently taken as one period.
    p = Panel(df, entity="firm", time="year")
    with pytest.raises(SpecificationError, match=r"whole number of periods.*got"):
        p.lag("emp", bad)
    assert p.lag("emp", np.int64(-1))[("a", 2000)] == 2.0  # numpy integers and leads work


def test_lag_counts_calendar_periods_not_positions():
    # 2002 missing for every firm: it is still a year, so 2003's lag is missing, as Stata's
    # L. under xtset and plm's lag(shift = "time"); two-year lags reach across it
    df = pd.DataFrame(
        {"firm": [1, 1, 1, 2, 2], "year": [2000, 2001, 2003, 2001, 2003], "v": [1.0, 2, 3, 4, 5]}
    )
    p = Panel(df, entity="firm", time="year")
    assert p.lag("v").tolist() == pytest.approx([np.nan, 1.0, np.nan, np.nan, np.nan], nan_ok=True)
    assert p.lag("v", 2).tolist() == pytest.approx([np.nan, np.nan, 2.0, np.nan, 4.0], nan_ok=True)
    assert p.lag("v", -2).tolist() == pytest.approx([np.nan, 3.0, np.nan, 5.0, np.nan], nan_ok=True)


def test_lag_of_dates_counts_their_unit():
    # quarterly dates with the third quarter missing for the whole panel
    q = pd.to_datetime(["2000-01-01", "2000-04-01", "2000-10-01"])
    p = Panel(pd.DataFrame({"firm": 1, "q": q, "v": [1.0, 2.0, 3.0]}), entity="firm", time="q")
    assert p.lag("v").tolist() == pytest.approx([np.nan, 1.0, np.nan], nan_ok=True)
    assert p.lag("v", 2).tolist() == pytest.approx([np.nan, np.nan, 2.0], nan_ok=True)
