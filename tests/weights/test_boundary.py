"""The one weights boundary: every accepted input, the refusals and their fixes, id matching.

Matching by id is checked by giving W in another order than the panel (or the ids): the
matrix that comes out is the panel-order one, entry for entry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from spillover import Panel
from spillover.diagnostics import bsk_tests
from spillover.diagnostics.specification import moran_by_period
from spillover.errors import AlignmentError, WeightsError
from spillover.measures import spillover_pool
from spillover.models import FixedEffects
from spillover.models.spatial import SpatialLag
from spillover.weights import Weights, WeightsByPeriod, as_weights, from_matrix

IDS = ["a", "b", "c", "d"]
DENSE = np.array([[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]], dtype=float) * np.array(
    [[1], [2], [3], [4]]
)
FIX = r"Weights\(matrix, ids\).*from_matrix.*Weights\.in_panel_order\(matrix, panel\)"


def _panel(periods=(2000, 2001, 2002)) -> Panel:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"r": np.repeat(IDS, len(periods)), "t": np.tile(periods, len(IDS))}).assign(
        y=rng.normal(size=len(IDS) * len(periods)), x=rng.normal(size=len(IDS) * len(periods))
    )
    return Panel(df, entity="r", time="t")


def _w() -> Weights:
    return from_matrix(DENSE, IDS)


def test_weights_are_matched_by_id_not_position():
    w = _w()
    backwards = w.subset(IDS[::-1])
    got = as_weights(backwards, IDS)
    assert list(got.ids) == IDS
    assert_array_equal(got.matrix.toarray(), DENSE)
    assert as_weights(w, IDS) is w  # already in order: the same object, caches and all
    assert as_weights(w) is w
    with pytest.raises(AlignmentError, match="'d'"):
        as_weights(w.subset(IDS[:3]), IDS)
    with pytest.raises(AlignmentError, match="'e'"):
        as_weights(w, ["a", "b", "c", "e"])


def test_libpysal_w_and_graph_are_matched_by_their_ids():
    from libpysal.graph import Graph

    w = _w().subset(IDS[::-1])
    lib = w.to_libpysal()
    got = as_weights(lib, IDS)
    assert_array_equal(got.matrix.toarray(), DENSE)
    graph = Graph.from_W(lib)
    assert_array_equal(as_weights(graph, IDS).matrix.toarray(), DENSE)


@pytest.mark.parametrize("bare", [sp.csr_array(DENSE), sp.csr_matrix(DENSE), DENSE])
def test_bare_matrices_are_refused_with_the_fix_unless_positional(bare):
    with pytest.raises(WeightsError, match=FIX):
        as_weights(bare, IDS)
    with pytest.raises(WeightsError, match="without entity ids"):
        as_weights(bare)
    positional = as_weights(bare, bare="positional")  # callers without ids: 0..N-1
    assert list(positional.ids) == [0, 1, 2, 3]
    assert_array_equal(positional.matrix.toarray(), DENSE)


def test_in_panel_order_states_the_order_of_a_bare_matrix():
    panel = _panel()
    w = Weights.in_panel_order(DENSE, panel)
    assert list(w.ids) == IDS and w.name == "user matrix"
    assert_array_equal(w.matrix.toarray(), DENSE)
    with pytest.raises(WeightsError, match="N x N for its 4 entities"):
        Weights.in_panel_order(DENSE[:3, :3], panel)


def test_other_inputs_are_refused_by_name():
    with pytest.raises(WeightsError, match="not list"):
        as_weights([[0, 1], [1, 0]], ["a", "b"])
    with pytest.raises(WeightsError, match="weights by period"):
        as_weights({2000: _w()}, IDS)
    with pytest.raises(WeightsError, match="weights by period"):
        as_weights(WeightsByPeriod({2000: _w()}), IDS)
    with pytest.raises(WeightsError, match="bare"):
        WeightsByPeriod({2000: DENSE})


def test_every_consumer_refuses_a_bare_matrix_and_takes_it_in_panel_order():
    panel = _panel()
    stated = Weights.in_panel_order(DENSE, panel)
    row = stated.row_standardize()
    consumers = [
        lambda w: SpatialLag("y ~ x", panel, w=w, effects="none"),
        lambda w: spillover_pool(panel, "x", w),
        lambda w: FixedEffects("y ~ x + W(x)", panel, w=w),
        lambda w: bsk_tests("y ~ x", panel, w=w),
        lambda w: moran_by_period(panel["y"], w),
    ]
    for make in consumers:
        with pytest.raises(WeightsError, match=FIX):
            make(row.matrix)
        make(row)  # stated: accepted
    assert_array_equal(spillover_pool(panel, "x", stated), spillover_pool(panel, "x", _w()))


def test_weights_by_period_policy():
    panel = _panel()
    w = _w()
    back = w.subset(IDS[::-1])
    wt = WeightsByPeriod({2000: w, 2001: back, 2002: w, 1999: w})
    checked = wt.check(panel)
    assert list(checked) == [2000, 2001, 2002]  # periods outside the panel are left out
    assert list(checked[2001].ids) == IDS[::-1]  # check keeps each W_t's own order
    aligned = wt.align(panel)
    assert list(aligned[2001].ids) == IDS  # align orders it as the panel
    assert_array_equal(aligned[2001].matrix.toarray(), DENSE)
    with pytest.raises(AlignmentError, match=r"no matrix for 1 panel periods, e\.g\. 2002"):
        WeightsByPeriod({2000: w, 2001: w}).check(panel)
    extra = from_matrix(np.ones((5, 5)) - np.eye(5), [*IDS, "z"])
    with pytest.raises(AlignmentError, match="'z'"):
        WeightsByPeriod(dict.fromkeys(panel.periods, extra)).check(panel)
    with pytest.raises(AlignmentError, match=r"no row for 1 entities.*'d'"):
        WeightsByPeriod(dict.fromkeys(panel.periods, w.subset(IDS[:3]))).check(panel)
    # an unbalanced panel: W_t needs only the entities observed in t
    short = Panel(panel.data.drop(index=("d", 2001)), entity="r", time="t")
    sub = from_matrix(DENSE[:3, :3], IDS[:3], islands="keep")
    ok = WeightsByPeriod({2000: w, 2001: sub, 2002: w}).check(short)
    assert ok[2001] is sub
    assert spillover_pool(short, "x", ok).notna().all()
