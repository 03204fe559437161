"""The knowledge-network simulator: planted block densities, capability, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from spillover.errors import SpecificationError
from spillover.networks import KnowledgeNetwork
from spillover.simulate import knowledge_network


def test_block_densities_match_the_planted_probabilities():
    # 400 firms, 80 in the core: 3,160 core pairs, 25,600 core-periphery pairs and 50,721
    # periphery pairs. Each realised density must lie within 4 binomial sd of its p.
    sim = knowledge_network(
        400,
        core_share=0.2,
        p_core=0.6,
        p_core_periphery=0.2,
        p_periphery=0.03,
        capability_gap=2.0,
        seed=3,
    )
    core = sim.truth.core
    assert core.sum() == 80
    a = sim.network().adjacency.toarray()
    c = core.reindex(sim.network().ids).to_numpy()
    blocks = [(c, c, 0.6), (c, ~c, 0.2), (~c, ~c, 0.03)]
    for rows, cols, p in blocks:
        sub = a[np.ix_(rows, cols)]
        same = rows is cols or np.array_equal(rows, cols)
        k = rows.sum()
        pairs = k * (k - 1) if same else rows.sum() * cols.sum()
        density = sub.sum() / pairs
        assert abs(density - p) < 4 * np.sqrt(p * (1 - p) / (pairs / (2 if same else 1)))
    # capability = 2 * core + N(0, 1): the gap of means within 4 sd of 2
    cap = sim.nodes["capability"]
    gap = cap[core].mean() - cap[~core].mean()
    assert abs(gap - 2.0) < 4 * np.sqrt(1 / 80 + 1 / 320)


def test_output_shapes_and_foreign_ownership():
    sim = knowledge_network(300, foreign=(0.9, 0.0), seed=1)
    assert list(sim.nodes.index[:3]) == [1, 2, 3] and sim.nodes.index.name == "firm"
    assert (sim.edges["source"] < sim.edges["target"]).all()
    assert not sim.nodes.loc[~sim.truth.core, "foreign"].any()
    assert sim.nodes.loc[sim.truth.core, "foreign"].mean() > 0.75
    assert isinstance(sim.network(), KnowledgeNetwork)


def test_seed_gives_the_same_network():
    # pinned when the simulator was written: a change in the order or number of draws
    # moves these by O(1); rtol 1e-12 allows only last-bit libm differences.
    sim = knowledge_network(60, foreign=(0.5, 0.1), seed=2024)
    assert len(sim.edges) == 283
    assert sim.nodes["capability"].sum() == pytest.approx(10.453050726411108, rel=1e-12)
    assert sim.truth.core[sim.truth.core].index.tolist() == [
        5,
        9,
        12,
        17,
        34,
        45,
        50,
        52,
        53,
        54,
        58,
        59,
    ]
    again = knowledge_network(60, foreign=(0.5, 0.1), seed=2024)
    assert again.edges.equals(sim.edges) and again.nodes.equals(sim.nodes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_firms": 2}, "n_firms must be an integer >= 3"),
        ({"core_share": 1.0}, "core_share must lie in"),
        ({"p_core": 1.2}, "p_core must be a probability"),
        ({"foreign": (0.5, -0.1)}, r"foreign\[1\] must be a probability"),
    ],
)
def test_bad_parameters_are_refused(kwargs, match):
    args = {"n_firms": 20} | kwargs
    with pytest.raises(SpecificationError, match=match):
        knowledge_network(args.pop("n_firms"), **args)
