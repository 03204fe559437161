"""Spillover pools against dense brute force at small N (static, time-varying, unbalanced)."""

from itertools import pairwise

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from spillover import Panel
from spillover.errors import AlignmentError
from spillover.measures import pools_by_distance_band, region_pools, spillover_pool
from spillover.weights import Weights
from spillover.weights._distance import haversine_km

N, T = 30, 4
IDS = [f"f{i:02d}" for i in range(N)]


def _unbalanced(seed=0, drop=0.25):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {"firm": np.repeat(IDS, T), "year": np.tile(np.arange(2000, 2000 + T), N)}
    ).assign(k=rng.gamma(2.0, 3.0, N * T), region=rng.choice(list("ABCD"), N * T))
    return Panel(df.sample(frac=1 - drop, random_state=seed), entity="firm", time="year")


def _random_w(seed, ids=IDS, density=0.2):
    rng = np.random.default_rng(seed)
    dense = rng.uniform(0.1, 1.0, (len(ids), len(ids))) * (
        rng.uniform(size=(len(ids), len(ids))) < density
    )
    np.fill_diagonal(dense, 0.7)  # a non-zero diagonal: exclude_self must drop it
    return Weights(sp.csr_array(dense), pd.Index(ids)), dense


def _brute(panel, dense_by_period, ids, exclude_self=True, renormalize=False):
    """S_it = sum_{j != i, j present in t} w_ij K_jt, looping over every (i, t)."""
    k = panel.data["k"]
    present = dict(k.items())
    out = {}
    for (firm, year), _ in k.items():
        dense = dense_by_period[year]
        i = ids.index(firm)
        s = cover = total = 0.0
        for j, other in enumerate(ids):
            if exclude_self and j == i:
                continue
            total += dense[i, j]
            if (other, year) in present:
                s += dense[i, j] * present[(other, year)]
                cover += dense[i, j]
        if renormalize:
            s = (s * total / cover if cover else (0.0 if total == 0 else np.nan)) if total else 0
        out[(firm, year)] = s
    return pd.Series(out).reindex(k.index).to_numpy()


@pytest.mark.parametrize("exclude_self", [True, False])
@pytest.mark.parametrize("absent", ["zero", "renormalize"])
def test_static_pool_matches_dense_brute_force(exclude_self, absent):
    panel = _unbalanced()
    w, dense = _random_w(1)
    got = spillover_pool(panel, "k", w, exclude_self=exclude_self, absent=absent)
    ref = _brute(
        panel,
        dict.fromkeys(range(2000, 2000 + T), dense),
        IDS,
        exclude_self,
        absent == "renormalize",
    )
    # one sparse product vs a scalar double loop: equal up to summation order
    assert_allclose(got.to_numpy(), ref, rtol=1e-12, atol=1e-12)
    assert got.index.equals(panel.data.index)


def test_time_varying_pool_matches_dense_brute_force():
    panel = _unbalanced(seed=3)
    ws, dense = {}, {}
    for t in range(2000, 2000 + T):
        # each period's W covers the firms present in t plus a few absent ones, shuffled
        present = set(panel.data.xs(t, level="year").index)
        ids = sorted(present | set(panel.entities[:3]), reverse=True)
        ws[t], d = _random_w(t, ids)
        full = np.zeros((N, N))
        pos = [IDS.index(x) for x in ids]
        full[np.ix_(pos, pos)] = d
        dense[t] = full
    got = spillover_pool(panel, "k", ws)
    assert_allclose(got.to_numpy(), _brute(panel, dense, IDS), rtol=1e-12, atol=1e-12)


def test_weights_order_does_not_matter_and_libpysal_is_accepted():
    panel = _unbalanced(seed=5, drop=0.0)
    w, _ = _random_w(2)
    shuffled = w.subset(list(reversed(IDS)))
    base = spillover_pool(panel, "k", w)
    assert_allclose(spillover_pool(panel, "k", shuffled), base, rtol=1e-13)
    assert_allclose(spillover_pool(panel, "k", w.to_libpysal()), base, rtol=1e-13)


def test_alignment_errors_name_ids_and_periods():
    panel = _unbalanced(drop=0.0)
    w, _ = _random_w(1)
    with pytest.raises(AlignmentError, match="f29"):
        spillover_pool(panel, "k", w.subset(IDS[:-1]))
    with pytest.raises(AlignmentError, match="2003"):
        spillover_pool(panel, "k", {t: w for t in range(2000, 2003)})
    with pytest.raises(AlignmentError, match="f00"):
        spillover_pool(panel, "k", dict.fromkeys(range(2000, 2004), w.subset(IDS[1:])))


def _points(seed=7):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"lon": rng.uniform(8.0, 10.0, N), "lat": rng.uniform(47.5, 49.0, N)}, index=IDS
    )


def test_distance_bands_match_brute_force_and_sum_to_full_band():
    panel = _unbalanced(seed=2)
    pts = _points()
    geo = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(pts.lon, pts.lat), index=pts.index, crs="EPSG:4326"
    )
    bands = [0, 25, 60, 120]
    got = pools_by_distance_band(panel, "k", geo, bands=bands)
    assert list(got.columns) == ["k_0_25km", "k_25_60km", "k_60_120km"]
    lon, lat = pts.lon.to_numpy(), pts.lat.to_numpy()
    d = haversine_km(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    for (lo, hi), col in zip(pairwise(bands), got.columns, strict=True):
        dense = ((d > lo) | (lo == 0)) & (d <= hi)
        ref = _brute(panel, dict.fromkeys(range(2000, 2000 + T), dense.astype(float)), IDS)
        assert_allclose(got[col].to_numpy(), ref, rtol=1e-12, atol=1e-12)
    full = pools_by_distance_band(panel, "k", pts, bands=[0, 120], metric="haversine")
    assert_allclose(got.sum(axis=1), full["k_0_120km"], rtol=1e-12)


def test_distance_bands_need_matching_ids():
    panel = _unbalanced()
    with pytest.raises(AlignmentError, match="f29"):
        pools_by_distance_band(panel, "k", _points().iloc[:-1], metric="haversine")


def test_region_pools_add_up_and_match_loops():
    panel = _unbalanced(seed=4)
    got = region_pools(panel, "k", "region")
    data = panel.data
    for (firm, year), row in data.iterrows():
        same = data.xs(year, level="year")
        others = same.drop(index=firm)
        assert got.loc[(firm, year), "k_within"] == pytest.approx(
            others.loc[others.region == row.region, "k"].sum(), rel=1e-12, abs=1e-12
        )
    total = data.groupby(level="year")["k"].transform("sum")
    # within + outside + own = the period total (exact identity, up to rounding)
    assert_allclose(got.sum(axis=1) + data["k"], total, rtol=1e-12)
    means = region_pools(panel, "k", "region", statistic="mean")
    n_cell = data.groupby([data.index.get_level_values("year"), "region"])["k"].transform("size")
    expected = np.where(n_cell > 1, got["k_within"] / (n_cell - 1), np.nan)
    assert_allclose(means["k_within"], expected, rtol=1e-12)


def test_weights_by_period_is_accepted():
    from spillover.weights import WeightsByPeriod

    panel = _unbalanced(seed=6)
    w, _ = _random_w(3, list(panel.entities))
    by_period = WeightsByPeriod.constant(w, panel.periods)
    assert_allclose(spillover_pool(panel, "k", by_period), spillover_pool(panel, "k", w))


def test_weighted_region_split_matches_brute_force_and_adds_up():
    panel = _unbalanced(seed=8)
    w, dense = _random_w(4, list(panel.entities))
    ids = list(panel.entities)
    got = region_pools(panel, "k", "region", w=w)
    data = panel.data
    for (firm, year), row in data.iterrows():
        i = ids.index(firm)
        same = other = 0.0
        for (f2, y2), r2 in data.iterrows():
            if y2 != year or f2 == firm:
                continue
            term = dense[i, ids.index(f2)] * r2["k"]
            if r2["region"] == row["region"]:
                same += term
            else:
                other += term
        assert got.loc[(firm, year)].tolist() == pytest.approx([same, other], rel=1e-12, abs=1e-12)
    assert_allclose(got.sum(axis=1), spillover_pool(panel, "k", w), rtol=1e-12)
