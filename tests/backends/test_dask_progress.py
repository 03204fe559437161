"""``DaskBackend(progress=True)`` shows the passes of iterative demeaning, as DuckDB's does.

The fit with the bar equals the fit without it (the bar only reports), and with the
alternating projections forced the bar names the backend and ends below the tolerance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spillover.backends import DaskBackend
from spillover.models import HDFE, _demean

pytest.importorskip("distributed")


def test_demeaning_passes_are_shown(monkeypatch, capsys):
    monkeypatch.setattr(_demean, "EXACT_MAX_LEVELS", 0)  # alternating projections
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"firm": np.repeat(np.arange(40), 4), "year": np.tile(np.arange(4), 40)})
    df = df.sample(frac=0.9, random_state=1)
    df["x"] = rng.normal(size=len(df))
    df["y"] = df["x"] + rng.normal(size=len(df))
    fits = []
    for progress in (True, False):
        with DaskBackend(n_workers=1, processes=False, partitions=2, progress=progress) as dask:
            with HDFE("y ~ x", df, absorb=["firm", "year"], backend=dask, tol=1e-10) as model:
                fits.append(model.fit(vcov="robust"))
        err = capsys.readouterr().err
        assert ("demeaning passes (Dask)" in err) is progress
    np.testing.assert_array_equal(fits[0].params, fits[1].params)
    np.testing.assert_array_equal(fits[0].std_errors, fits[1].std_errors)
