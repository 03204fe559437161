import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from spillover import Panel, PanelError, SpecificationError
from spillover.models._formula import design
from spillover.weights import Weights


@pytest.fixture
def panel():
    rng = np.random.default_rng(0)
    n, t = 4, 3
    df = pd.DataFrame(
        {
            "r": np.repeat(list("abcd"), t),
            "t": np.tile([1, 2, 3], n),
            "x": rng.uniform(1, 2, n * t),
            "z": rng.normal(size=n * t),
        }
    )
    df["y"] = df.x + rng.normal(size=n * t)
    return Panel(df, entity="r", time="t")


@pytest.fixture
def ring():
    # a -> b -> c -> d -> a, ids deliberately not in panel order
    ids = ["d", "c", "b", "a"]
    nxt = {"a": "b", "b": "c", "c": "d", "d": "a"}
    pos = {k: i for i, k in enumerate(ids)}
    rows = [pos[k] for k in ids]
    cols = [pos[nxt[k]] for k in ids]
    return Weights(sp.csr_array((np.ones(4), (rows, cols)), shape=(4, 4)), pd.Index(ids))


def test_log_and_intercept(panel):
    d = design("y ~ log(x) + z", panel)
    assert list(d.x.columns) == ["Intercept", "log(x)", "z"]
    np.testing.assert_allclose(d.x["log(x)"], np.log(panel["x"]))


def test_w_lag_matched_by_id(panel, ring):
    d = design("y ~ x + W(x)", panel, w=ring)
    # closed form: W_x of a in period t is x of b in period t
    for t in (1, 2, 3):
        assert d.x.loc[("a", t), "W_x"] == panel.data.loc[("b", t), "x"]
        assert d.x.loc[("d", t), "W_x"] == panel.data.loc[("a", t), "x"]
    assert d.spatial_lags == ("W_x",)


def test_w_without_weights(panel):
    with pytest.raises(SpecificationError, match="no weights"):
        design("y ~ W(x)", panel)


def test_collinear_named(panel):
    p = panel.assign(x2=2 * panel["x"])
    with pytest.raises(SpecificationError, match="x2"):
        design("y ~ x + x2", p)


def test_missing_values_named(panel):
    p = panel.assign(z=panel["z"].where(panel["z"] > -10).mask(panel["x"] > 1.5))
    with pytest.raises(PanelError, match="dropna"):
        design("y ~ z", p)


def test_non_numeric_named(panel):
    p = panel.assign(s=["q"] * panel.nobs)
    with pytest.raises(SpecificationError, match="'s'"):
        design("y ~ s", p)


def test_unbalanced_w_lag_refused(panel, ring):
    p = panel.subset(periods=[1, 2])
    p = Panel(p.to_frame().iloc[1:], entity="r", time="t")
    with pytest.raises(PanelError, match="unbalanced"):
        design("y ~ W(x)", p, w=ring)
