"""``W(x)`` terms on the Dask backend are refused before any cluster starts, pointing to
the DuckDB backend (which computes them out of core) or memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spillover import weights
from spillover.backends import DaskBackend
from spillover.errors import SpecificationError
from spillover.models import HDFE

IDS = [f"f{i}" for i in range(6)]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame([(f, y) for f in IDS for y in (2000, 2001, 2002)], columns=["firm", "year"])
    return df.assign(x=rng.normal(size=len(df)), y=rng.normal(size=len(df)))


@pytest.mark.parametrize("with_w", [True, False])
def test_w_terms_refused_on_dask_naming_duckdb(frame, with_w):
    w = weights.knn(np.arange(12.0).reshape(6, 2), 2, metric="euclidean", ids=IDS)
    backend = DaskBackend()
    with pytest.raises(SpecificationError, match=r"W\(x\) terms.*Dask.*backend='duckdb'"):
        HDFE(
            "y ~ x + W(x)",
            frame.set_index(["firm", "year"]),
            absorb=["firm"],
            w=w if with_w else None,
            backend=backend,
        )
    assert backend._client is None  # refused before a cluster was started
