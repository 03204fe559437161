"""The cluster-formation simulator: byte-reproducible by seed, its books balance, its
firms and regions agree, and its draws follow the stated process."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from numpy.testing import assert_allclose

from spillover.errors import SpecificationError
from spillover.measures import entry_rates
from spillover.simulate import FormationTruth, cluster_formation


def _digest(sim) -> str:
    h = hashlib.sha256()
    h.update(sim.firms.to_csv().encode())
    h.update(sim.regions.data.to_csv().encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def sim():
    return cluster_formation(20, n_cells=6, seed=11)


def test_same_seed_same_bytes_other_seed_other_data(sim) -> None:
    again = cluster_formation(20, n_cells=6, seed=11)
    assert _digest(again) == _digest(sim)
    assert _digest(cluster_formation(20, n_cells=6, seed=12)) != _digest(sim)
    assert sim.seed == 11 and sim.truth == FormationTruth()


def test_books_balance(sim) -> None:
    r = sim.regions.data
    before = r["incumbents"].groupby(level="region").shift(1)
    first = before.isna()
    later = ~first
    assert (r["incumbents"] == before + r["entries"] - r["exits"])[later].all()
    # the first year starts from the initial incumbents
    opening = (r["incumbents"] - r["entries"] + r["exits"])[first]
    assert opening.sum() == sim.truth.initial_firms
    assert (r["spinoffs"] <= r["entries"]).all()
    firm_counts = sim.firms.groupby(["region", sim.firms.index.get_level_values("year")]).size()
    assert_allclose(firm_counts.reindex(r.index, fill_value=0), r["incumbents"])


def test_firm_table_gives_the_region_counts(sim) -> None:
    # entries and exits recounted from the firm-year rows by the package measure
    rates = entry_rates(sim.firms, region="region", regions=sim.area.index)
    r = sim.regions.data.reorder_levels(rates.index.names)
    later = rates.index.get_level_values("year") > 2000
    for col in ("entries", "exits"):
        assert_allclose(rates.loc[later, col], r.loc[rates.index[later], col])


def test_spinoffs_descend_from_nearby_incumbents(sim) -> None:
    f = sim.firms.reset_index()
    first = f.drop_duplicates("firm").set_index("firm")
    spin = first[first["spinoff"]]
    assert len(spin) > 0
    parents = f.set_index(["firm", "year"])
    for _, row in spin.head(50).iterrows():
        prev = (row["parent"], row["entry_year"] - 1)
        assert prev in parents.index  # the parent was active the year before
        assert parents.loc[prev, "region"] == row["region"]
    assert (first.loc[~first["spinoff"], "parent"] == -1).all()


def test_programme_and_truth(sim) -> None:
    r = sim.regions.data
    start = r["programme_start"].groupby(level="region").first()
    assert set(start.dropna().unique()) == {2006.0, 2010.0, 2014.0}
    assert start.notna().sum() == round(0.45 * 36)
    pre = r["programme"] == 0
    assert (r.loc[pre, "programme_effect"] == 0).all()
    assert (r.loc[~pre, "programme_effect"] > 0).all()
    # direct effect: mu0 (exp(tau) - 1), tau the stated ramp of the region's cohort
    t = sim.truth
    post = r[~pre]
    e = post.index.get_level_values("year") - post["programme_start"]
    c = post["programme_start"].map({2006.0: 0, 2010.0: 1, 2014.0: 2})
    tau = np.array([t.programme(int(k), np.array(v)) for k, v in zip(c, e, strict=True)])
    assert_allclose(post["programme_effect"], post["counterfactual_entries"] * np.expm1(tau))


def test_draws_follow_their_means() -> None:
    # Poisson entries: sum of entries vs sum of means, sd sqrt(sum mu); 4 sd
    big = cluster_formation(25, n_cells=8, seed=5)
    r = big.regions.data
    mu = r["expected_entries"].sum()
    assert abs(r["entries"].sum() - mu) < 4 * np.sqrt(mu)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(SpecificationError, match="start years"):
        cluster_formation(10)
    with pytest.raises(SpecificationError, match="one effect per"):
        FormationTruth(cohort_effects=(0.1,))
    with pytest.raises(SpecificationError, match="programme_share"):
        cluster_formation(20, programme_share=1.5)


def test_pinned_values_guard_the_seed() -> None:
    # Seed reproducibility across versions (not a correctness reference): a change in the
    # order or number of draws moves these counts.
    r = cluster_formation(16, n_cells=4, seed=2026).regions.data
    assert [int(r["entries"].sum()), int(r["exits"].sum()), int(r["spinoffs"].sum())] == PINNED


PINNED = [297, 89, 112]  # entries, exits, spin-offs of seed 2026
