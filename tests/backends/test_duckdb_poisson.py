"""PoissonHDFE on the DuckDB backend against PoissonHDFE in memory and pyfixest ``fepois``.

References and tolerances:

* The in-memory PoissonHDFE (tested against pyfixest ``fepois`` and the ppmlhdfe
  separation examples in ``tests/models/test_poisson.py``), on an unbalanced panel with
  missing years, singletons and firms whose outcome is zero throughout, under a 256 MB
  DuckDB cap. Both sides run the same IRLS (start, warm-started weighted sweeps, step
  halving, stopping rule) to a relative deviance change of 1e-13 with demeaning at 1e-13
  (``TIGHT``). The deviance criterion bounds the accuracy of each side: near the optimum
  the last step d changes D by about d'Hd, so |d| ~ sqrt(tol D / H) and the error left
  after it, quadratic in |d|, is of order tol; the sides also differ in how they absorb
  (exact normal equations in SQL against accelerated alternating projections in memory,
  both to 1e-13). rtol 1e-8 on coefficients and SEs leaves a margin of 10^5 over that
  (observed about 1e-15); the deviance, log-likelihood and pseudo R2 to 1e-10.
* pyfixest ``fepois`` with its tight settings (``tests/models/_pyfixest.py``): rtol 1e-8 on
  coefficients and SEs, one-, two- and three-way effects, firm clustering (and iid and
  hetero), on the panel without singletons (pyfixest keeps them); the 1e-8 margin is the
  one argued in ``tests/models/test_poisson.py`` (pyfixest's covariance uses the weights of
  the iterate before its last step).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.backends import DuckDBBackend
from spillover.errors import DroppedRowsWarning, SpecificationError
from spillover.inference import Cluster, Conley, DriscollKraay
from spillover.models import PoissonHDFE, _demean
from spillover.panel import Panel
from tests.models._pyfixest import PF_TIGHT, TIGHT, pf_demeaner

CAP = "256MB"
FE = ("fe",)
EFFECTS = {
    "one-way": (["firm"], "firm"),
    "two-way": (["firm", "year"], "firm + year"),
    "three-way": (["firm", "year", "region:year"], "firm + year + region_year"),
}
VCOVS = ["unadjusted", "robust", Cluster("firm"), Cluster("firm", "year"), DriscollKraay(lags=1)]


def counts_panel(seed: int = 11, n_firms: int = 200) -> pd.DataFrame:
    """Firms seen 1-8 of 10 years (gaps; one-year firms are singletons), 6 regions, counts
    with firm, year and region x year effects; 8 firms with y = 0 throughout."""
    rng = np.random.default_rng(seed)
    rows = [
        (f, y)
        for f in range(n_firms)
        for y in np.sort(rng.choice(np.arange(2000, 2010), rng.integers(1, 9), replace=False))
    ]
    df = pd.DataFrame(rows, columns=["firm", "year"])
    n = len(df)
    df["region"] = df["firm"] % 6
    df["region_year"] = df["region"] * 100 + df["year"] - 2000
    df["x1"] = rng.normal(size=n)
    df["x2"] = rng.gamma(2.0, size=n)
    eta = (
        0.4 * df["x1"]
        - 0.15 * df["x2"]
        + rng.normal(0, 0.7, n_firms)[df["firm"]]
        + rng.normal(0, 0.3, 10)[df["year"] - 2000]
        + rng.normal(0, 0.2, (6, 10))[df["region"], df["year"] - 2000]
    )
    df["y"] = rng.poisson(np.exp(eta)).astype(float)
    df.loc[df["firm"] % 25 == 3, "y"] = 0.0
    df["w"] = rng.integers(1, 5, n).astype(float)
    df["exposure"] = rng.uniform(0.5, 3.0, n)
    df["shift"] = rng.normal(0, 0.3, n)
    return df


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return counts_panel()


@pytest.fixture(scope="module")
def panel(frame) -> Panel:
    return Panel(frame, entity="firm", time="year")


def model(data, absorb, backend=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return PoissonHDFE(
            "y ~ x1 + x2", data, absorb=absorb, separation_check=FE, backend=backend,
            **{**TIGHT, **kwargs},
        )  # fmt: skip


def assert_same(a, b, rtol=1e-8):
    assert list(a.params.index) == list(b.params.index)
    assert_allclose(a.params, b.params, rtol=rtol)
    assert_allclose(a.std_errors, b.std_errors, rtol=rtol)
    assert (a.nobs, a.df_resid, a.vcov_name) == (b.nobs, b.df_resid, b.vcov_name)
    assert (a.n_separated, a.info["singletons dropped"]) == (
        b.n_separated,
        b.info["singletons dropped"],
    )
    for stat in ("deviance", "loglik", "pseudo_r2", "mean_y"):
        assert_allclose(a.fit_stats[stat], b.fit_stats[stat], rtol=1e-10)
    assert_allclose(a.fit_stats["f_stat"], b.fit_stats["f_stat"], rtol=1e-7)


@pytest.mark.parametrize("effects", list(EFFECTS))
@pytest.mark.parametrize("kind", [None, "analytic", "frequency"])
def test_duckdb_equals_in_memory(panel, effects, kind):
    absorb = EFFECTS[effects][0]
    options = {} if kind is None else {"weights": "w", "weight_type": kind}
    duck = model(panel, absorb, DuckDBBackend(memory_limit=CAP), **options)
    memory = model(panel, absorb, **options)
    assert duck.n_separated > 0 and duck.n_singletons > 0
    assert (duck.n_separated, duck.n_singletons) == (memory.n_separated, memory.n_singletons)
    for vcov in VCOVS:
        assert_same(duck.fit(vcov=vcov), memory.fit(vcov=vcov))
    duck.close()


def located(frame: pd.DataFrame) -> Panel:
    """The count panel with firm locations on a 60 km square (km coordinates)."""
    xy = np.random.default_rng(3).uniform(0, 60, (int(frame["firm"].max()) + 1, 2))
    out = frame.assign(x_km=xy[frame["firm"], 0], y_km=xy[frame["firm"], 1])
    return Panel(out, entity="firm", time="year")


CONLEY = Conley(cutoff_km=20, lags=1, coords=("x_km", "y_km"), metric="euclidean")


@pytest.mark.parametrize("kind", [None, "analytic"])
def test_conley_equals_in_memory(frame, kind):
    """Conley errors of the Poisson scores w x~ (y - mu): the sums per location and period
    and the tiled pair search of the out-of-core HDFE (tolerance as above)."""
    data = located(frame)
    options = {} if kind is None else {"weights": "w", "weight_type": kind}
    duck = model(data, ["firm", "year"], DuckDBBackend(memory_limit=CAP), **options)
    assert_same(duck.fit(vcov=CONLEY), model(data, ["firm", "year"], **options).fit(vcov=CONLEY))


def test_iterative_path_equals_in_memory(panel, monkeypatch):
    """Weighted alternating projections in SQL inside IRLS (forced), to 1e-13."""
    monkeypatch.setattr(_demean, "EXACT_MAX_LEVELS", 0)
    absorb = EFFECTS["two-way"][0]
    duck = model(panel, absorb, DuckDBBackend(memory_limit=CAP), weights="w")
    memory = model(panel, absorb, weights="w")
    for vcov in ("robust", Cluster("firm")):
        assert_same(duck.fit(vcov=vcov), memory.fit(vcov=vcov))


@pytest.mark.parametrize("effects", list(EFFECTS))
def test_matches_pyfixest_fepois(frame, effects):
    pf = pytest.importorskip("pyfixest")
    data = frame.groupby("firm").filter(lambda g: len(g) > 1)
    absorb, pf_fe = EFFECTS[effects]
    duck = model(data, absorb, DuckDBBackend(memory_limit=CAP))
    for vcov, pf_vcov in (
        ("unadjusted", "iid"),
        ("robust", "hetero"),
        (Cluster("firm"), {"CRV1": "firm"}),
    ):
        res = duck.fit(vcov=vcov)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = pf.fepois(f"y ~ x1 + x2 | {pf_fe}", data, vcov=pf_vcov,
                            demeaner=pf_demeaner(), **PF_TIGHT)  # fmt: skip
        assert res.nobs == ref._N
        assert_allclose(res.params.to_numpy(), ref.coef().to_numpy(), rtol=1e-8)
        assert_allclose(res.std_errors.to_numpy(), ref.se().to_numpy(), rtol=1e-8)
        assert_allclose(res.fit_stats["deviance"], ref.deviance, rtol=1e-8)


def test_offset_and_exposure_equal_in_memory(panel):
    absorb = EFFECTS["two-way"][0]
    for options in ({"offset": "shift"}, {"exposure": "exposure", "offset": "shift"}):
        duck = model(panel, absorb, DuckDBBackend(memory_limit=CAP), **options)
        memory = model(panel, absorb, **options)
        assert_same(duck.fit(vcov=Cluster("firm")), memory.fit(vcov=Cluster("firm")))
    plain = model(panel, absorb).fit(vcov=Cluster("firm"))
    assert np.abs(duck.fit(vcov=Cluster("firm")).params - plain.params).max() > 1e-3


def test_separation_raise_names_rows(frame):
    with pytest.raises(SpecificationError, match=r"separated.*\(firm, year\) = .*\(3, 2"):
        PoissonHDFE("y ~ x1 + x2", Panel(frame, entity="firm", time="year"), absorb=["firm"],
                    separation="raise", separation_check=FE, backend="duckdb")  # fmt: skip


def test_unsupported_options_are_refused_with_the_fix(frame):
    backend = DuckDBBackend(memory_limit=CAP)
    with pytest.raises(SpecificationError, match=r"ReLU.*separation_check=\('fe',\)"):
        PoissonHDFE("y ~ x1", frame, absorb=["firm"], backend=backend)
    bad_exposure = r"exposure must be positive.*\(firm, exposure\) = \(0, 0\.0\)"
    with pytest.raises(SpecificationError, match=bad_exposure):
        PoissonHDFE("y ~ x1", frame.assign(exposure=0.0), absorb=["firm"], exposure="exposure",
                    separation_check=FE, backend=backend)  # fmt: skip
    with pytest.raises(SpecificationError, match="absorbs effects"):
        PoissonHDFE("y ~ x1", frame, separation_check=FE, backend=backend)
    negative = frame.assign(y=frame["y"].where(frame.index != 5, -1.0))
    with pytest.raises(SpecificationError, match=r"non-negative.*-1\.0"):
        PoissonHDFE("y ~ x1", negative, absorb=["firm"], separation_check=FE, backend=backend)
    with pytest.raises(SpecificationError, match="whole numbers"):
        PoissonHDFE("y ~ x1", frame.assign(w=1.5), absorb=["firm"], separation_check=FE,
                    weights="w", weight_type="frequency", backend=backend)  # fmt: skip
