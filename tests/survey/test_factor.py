"""Exploratory factor analysis, parallel analysis and scree against psych 2.2.9.

Two kinds of comparison, each with the tolerance its convergence criteria allow:

- psych's defaults (``fa(r, 3, fm, rotate)``): PA stops when the sum of communalities moves
  by at most min.err = 0.001 (50 iterations at most) and the rotations stop at eps = 1e-5.
  ``efa`` runs the same algorithms, so with ``tol=1e-3, max_iter=50, rotation_tol=1e-5``
  it stops at the same iterate: atol 1e-10 (rounding only). psych's ML uses optim's
  L-BFGS-B with factr = 1e7 (a relative objective change of about 2e-9), which leaves the
  uniquenesses about 1e-6 from the optimum; ``efa``'s ML goes to a projected gradient of
  1e-8, so the two agree to atol 1e-5.
- converged solutions (psych PA with min.err = 1e-14; factanal with factr = 1, i.e. the ML
  optimum; stats::varimax with eps = 1e-14, which leaves loadings about 1e-8 from the
  optimum; GPArotation::oblimin at its rounding floor, gradient norm about 1e-8) against
  ``efa``'s defaults: atol 1e-7 for loadings, factor correlations and communalities.

Loadings are compared after matching factors by sign and order (psych makes column sums
positive; spillover makes each factor's largest absolute loading positive).
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.errors import ConvergenceError, ImproperSolutionWarning, SpecificationError
from spillover.survey import efa, parallel_analysis, scree

ROTATIONS = [None, "varimax", "promax", "oblimin"]
PSYCH_SETTINGS = {"pa": {"tol": 1e-3, "max_iter": 50}, "ml": {}}


def _aligned(got: pd.DataFrame, ref) -> tuple[np.ndarray, np.ndarray]:
    """Permute and flip psych's columns to spillover's; return (perm, signs)."""
    ref = np.asarray(ref, dtype=float)
    got = got.to_numpy()
    perm = [int(np.argmax(np.abs(got[:, j] @ ref))) for j in range(got.shape[1])]
    assert sorted(perm) == list(range(got.shape[1]))
    signs = np.sign([got[:, j] @ ref[:, perm[j]] for j in range(got.shape[1])])
    return np.array(perm), signs


def _check(res, ref, atol):
    perm, signs = _aligned(res.loadings, ref["loadings"])
    assert_allclose(res.loadings, np.asarray(ref["loadings"])[:, perm] * signs, atol=atol)
    if "phi" in ref:
        phi = np.asarray(ref["phi"])[np.ix_(perm, perm)] * np.outer(signs, signs)
        assert_allclose(res.phi, phi, atol=atol)
    if "structure" in ref:
        assert_allclose(res.structure, np.asarray(ref["structure"])[:, perm] * signs, atol=atol)
    for key in ("communality", "uniquenesses"):
        if key in ref:
            got = res.communalities if key == "communality" else res.uniquenesses
            assert_allclose(got, ref[key], atol=atol)


@pytest.mark.parametrize("method", ["pa", "ml"])
@pytest.mark.parametrize("rotation", ROTATIONS)
def test_psych_defaults_are_reproduced(hs, psych_ref, method, rotation):
    ref = psych_ref["hs"]["efa"]["default"][method][rotation or "none"]
    res = efa(hs, 3, method=method, rotation=rotation, rotation_tol=1e-5, **PSYCH_SETTINGS[method])
    _check(res, ref, atol=1e-10 if method == "pa" else 1e-5)


@pytest.mark.parametrize("method", ["pa", "ml"])
@pytest.mark.parametrize("rotation", ROTATIONS)
def test_converged_solutions_match(hs, psych_ref, method, rotation):
    ref = psych_ref["hs"]["efa"]["converged"][method][rotation or "unrotated"]
    res = efa(hs, 3, method=method, rotation=rotation)
    assert res.converged
    _check(res, ref, atol=1e-7)


def test_pairwise_missing_answers_match_psych(bfi, psych_ref):
    # psych's fa on raw data with NaN: cor(use = "pairwise"), defaults as above
    ref = psych_ref["bfi"]["efa_pairwise"]
    pa = efa(
        bfi, 5, rotation="oblimin", missing="pairwise", tol=1e-3, max_iter=50, rotation_tol=1e-5
    )
    _check(pa, ref["pa_oblimin"], atol=1e-10)
    ml = efa(bfi, 5, method="ml", missing="pairwise", rotation_tol=1e-5)
    _check(ml, ref["ml_varimax"], atol=1e-5)
    assert pa.n_obs == ml.n_obs == len(bfi) and pa.missing == "pairwise"


def test_ml_fit_statistics_match_factanal(hs, psych_ref):
    ref = psych_ref["hs"]["efa"]["converged"]["ml"]["unrotated"]
    res = efa(hs, 3, method="ml", rotation=None)
    assert res.df == ref["df"] == 12
    assert_allclose(res.objective, ref["objective"], rtol=1e-8)  # optimum: F is flat there
    assert_allclose(res.chi2, ref["statistic"], rtol=1e-8)
    assert_allclose(res.uniquenesses, ref["uniquenesses"], atol=1e-7)


def test_ml_agrees_with_statsmodels(hs):
    # an independent ML implementation (statsmodels' Factor, its own optimiser and
    # stopping rule, about 1e-6 from the optimum here)
    from statsmodels.multivariate.factor import Factor

    sm = Factor(hs.to_numpy(), 3, method="ml").fit()
    res = efa(hs, 3, method="ml", rotation=None)
    assert_allclose(res.uniquenesses, sm.uniqueness, atol=1e-5)


def test_pa_heywood_case_is_named():
    # PA converges to an improper solution with h2(a) about 1.34 > 1
    rng = np.random.default_rng(1)
    f = rng.standard_normal((100, 1))
    noise = rng.standard_normal((100, 4)) * [0.05, 0.8, 0.85, 0.9]
    data = pd.DataFrame(f @ [[0.99, 0.6, 0.5, 0.4]] + noise, columns=list("abcd"))
    with pytest.warns(ImproperSolutionWarning, match=r"items 'a' have communality >= 1 \(1\.3"):
        efa(data, 1, rotation=None)


def test_sign_order_and_variance_conventions(hs):
    res = efa(hs, 3, method="pa", rotation="oblimin")
    load = res.loadings.to_numpy()
    assert (load[np.abs(load).argmax(axis=0), range(3)] > 0).all()
    ss = res.variance["ss_loadings"].to_numpy()
    assert (np.diff(ss) <= 0).all()
    assert_allclose(ss, np.diag(res.phi @ load.T @ load))
    assert_allclose(res.variance["cumulative"].iloc[-1], ss.sum() / 9)
    assert_allclose(res.structure, load @ res.phi.to_numpy())
    # an orthogonal rotation leaves the communalities and total SS unchanged
    vm = efa(hs, 3, method="pa", rotation="varimax")
    assert_allclose((vm.loadings**2).sum(axis=1), vm.communalities, atol=1e-12)
    assert_allclose(vm.phi, np.eye(3), atol=0)


def test_scree_and_parallel_analysis_match_psych(hs, psych_ref):
    ref = psych_ref["hs"]["parallel"]
    eig = scree(hs)
    assert_allclose(eig["components"], ref["pc_observed"], rtol=1e-10)
    assert_allclose(eig["factors"], ref["fa_observed"], rtol=1e-10)
    pa = parallel_analysis(hs, n_iter=2000, seed=20240501)
    assert (pa.n_factors, pa.n_components) == (ref["nfact"], ref["ncomp"]) == (3, 3)
    table = pa.eigenvalues
    assert_allclose(table["observed_components"], ref["pc_observed"], rtol=1e-10)
    # simulated means: two independent Monte Carlo means of 2000 draws each; their
    # difference has sd = sd_draw sqrt(2/2000); allow 4.5 of those for every eigenvalue
    for kind in ("components", "factors"):
        key = "pc" if kind == "components" else "fa"
        se = np.asarray(ref[f"{key}_simulated_sd"]) * np.sqrt(2 / 2000)
        diff = table[f"mean_{kind}"].to_numpy() - ref[f"{key}_simulated_mean"]
        assert (np.abs(diff) < 4.5 * se).all(), kind


def test_parallel_analysis_is_seeded(hs):
    a = parallel_analysis(hs, n_iter=20, seed=7)
    b = parallel_analysis(hs, n_iter=20, seed=7)
    assert a.eigenvalues.equals(b.eigenvalues)
    assert "Horn" in str(a) and a.to_frame().shape == (9, 6)


def test_heywood_case_is_named():
    rng = np.random.default_rng(11)
    f = rng.standard_normal(200)
    data = pd.DataFrame(
        {
            "a": f + 0.01 * rng.standard_normal(200),
            "b": f + rng.standard_normal(200),
            "c": f + rng.standard_normal(200),
            "d": rng.standard_normal(200),
        }
    )
    with pytest.warns(ImproperSolutionWarning, match="'a'"):
        efa(data, 1, method="ml", rotation=None)


def test_errors(hs):
    with pytest.raises(SpecificationError, match="at most 5 factors"):
        efa(hs, 6)
    with pytest.raises(SpecificationError, match="rotation"):
        efa(hs, 2, rotation="quartimax")
    with pytest.raises(SpecificationError, match="method"):
        efa(hs, 2, method="minres")
    with pytest.raises(ConvergenceError, match="PA extraction did not converge"):
        efa(hs, 3, max_iter=2)


def test_result_is_frozen_printable_and_pickles(hs):
    res = efa(hs, 3, method="ml", rotation="promax")
    text = str(res)
    assert "Factor correlations" in text and "chi2(12)" in text
    assert list(res.to_frame().columns) == ["F1", "F2", "F3", "h2", "u2"]
    again = pickle.loads(pickle.dumps(res))
    assert again.loadings.equals(res.loadings)
    with pytest.raises(AttributeError):
        res.method = "pa"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        efa(hs, 3, missing="pairwise")
