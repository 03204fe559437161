"""Baltagi, Song and Koh (2003) LM tests for random effects and spatial error correlation.

Model: ``y_t = X_t beta + u_t``, ``u_t = mu + e_t``, ``e_t = lambda W e_t + v_t`` with
``mu ~ N(0, s2_mu I_N)`` (random regional effects) and ``v_t ~ N(0, s2_v I_N)``.
:func:`bsk_tests` returns the five tests R's ``splm::bsktest`` computes: the joint test of
``lambda = s2_mu = 0``, the marginal tests LM1 (``s2_mu = 0`` assuming ``lambda = 0``) and
LM2 (``lambda = 0`` assuming ``s2_mu = 0``) from pooled OLS residuals, and the conditional
tests CLM-lambda (``lambda = 0`` allowing ``s2_mu >= 0``, from the ML random-effects fit) and
CLM-mu (``s2_mu = 0`` allowing any ``lambda``, from the ML pooled spatial-error fit).

B. H. Baltagi, S. H. Song and W. Koh (2003), "Testing panel data regression models with
spatial error correlation", Journal of Econometrics 117, 123-150.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from spillover.diagnostics import _bsk
from spillover.diagnostics.specification import TestResult
from spillover.errors import SpecificationError
from spillover.linalg.logdet import LogdetMethod, single_blas_thread
from spillover.models._formula import design
from spillover.models.spatial import SpatialError
from spillover.models.spatial._data import spatial_weights
from spillover.panel import Panel, as_panel
from spillover.weights import as_weights

_NORMAL = "normal, one-sided"
_CHI_BAR = "chi-bar-squared: 1/4 chi2(0) + 1/2 chi2(1) + 1/4 chi2(2)"


@dataclass(frozen=True)
class BSKTest(TestResult):
    """A :class:`TestResult` with the alternative and splm's two-sided p-value.

    Attributes
    ----------
    alternative : str
        The alternative hypothesis in words.
    pvalue_two_sided : float or None
        ``2 P(Z > |z|)`` for the normal tests: what ``splm::bsktest`` prints (with the
        statistic ``|z|`` for CLM-lambda and CLM-mu). None for the joint test.
    """

    __test__ = False

    alternative: str = ""
    pvalue_two_sided: float | None = None

    def __str__(self) -> str:
        return super().__str__() + f"\n  H1: {self.alternative}"


@dataclass(frozen=True)
class BSKTests:
    """The five Baltagi-Song-Koh LM tests (see :func:`bsk_tests`).

    Attributes
    ----------
    joint, lm1, lm2, clm_lambda, clm_mu : BSKTest
        The joint test (splm's ``"LMH"``), the marginal tests and the conditional tests.
    lambda_sem : float
        ML ``lambda`` of the pooled spatial-error model (the fit CLM-mu rests on).
    phi_re : float
        ML ``s2_mu / s2_v`` of the random-effects model without spatial correlation (the
        fit CLM-lambda rests on; splm's ``errcomp["phi"]``). Not the ``phi`` that spatial
        random effects results report in ``fit_stats`` (the quasi-demeaning parameter
        ``sqrt(s2_v / (T s2_mu + s2_v))``).
    n_entities, n_periods : int
        N and T.
    trace_method : str
        How the traces of ``W (I - lambda W)^-1`` in CLM-mu were computed.
    """

    joint: BSKTest
    lm1: BSKTest
    lm2: BSKTest
    clm_lambda: BSKTest
    clm_mu: BSKTest
    lambda_sem: float
    phi_re: float
    n_entities: int
    n_periods: int
    trace_method: str = "exact"

    def _tests(self) -> list[BSKTest]:
        return [getattr(self, f.name) for f in fields(self)[:5]]

    def to_frame(self) -> pd.DataFrame:
        """One row per test: statistic, df, pvalue, distribution, null, alternative."""
        rows = self._tests()
        cols = ["statistic", "df", "pvalue", "pvalue_two_sided", "distribution", "null"]
        data = {c: [getattr(r, c) for r in rows] for c in cols}
        data["alternative"] = [r.alternative for r in rows]
        return pd.DataFrame(data, index=pd.Index([r.name for r in rows], name="test"))

    def __str__(self) -> str:
        head = (
            "Baltagi, Song and Koh (2003) LM tests: random effects and spatial error "
            f"(N = {self.n_entities}, T = {self.n_periods})"
        )
        frame = self.to_frame()[["statistic", "pvalue", "distribution"]]
        body = frame.to_string(float_format=lambda v: f"{v:.4g}")
        hyp = [f"  {r.name}: H0 {r.null}; H1 {r.alternative}" for r in self._tests()]
        tail = f"Restricted ML fits: lambda (pooled SEM) = {self.lambda_sem:.6g}, "
        tail += f"s2_mu/s2_v (RE, splm's phi) = {self.phi_re:.6g}"
        if self.trace_method != "exact":
            tail += f"\nCLM mu traces: {self.trace_method}"
        return "\n".join([head, body, "Hypotheses:", *hyp, tail])


def _normal(name: str, z: float, null: str, alternative: str) -> BSKTest:
    return BSKTest(
        name,
        float(z),
        None,
        float(stats.norm.sf(z)),
        _NORMAL,
        null,
        alternative=alternative,
        pvalue_two_sided=float(2 * stats.norm.sf(abs(z))),
    )


def bsk_tests(
    formula: str | Any,
    panel: Panel | pd.DataFrame | None = None,
    *,
    w: Any = None,
    logdet: LogdetMethod = "auto",
    probes: int = 200,
    seed: int | np.random.Generator | None = 0,
) -> BSKTests:
    """Baltagi, Song and Koh (2003) joint, marginal and conditional LM tests.

    Parameters
    ----------
    formula : str or spatial model
        ``"y ~ x1 + x2"`` as for the estimators (intercept included unless removed), or a
        configured spillover spatial model (e.g. ``SpatialError(..., effects="random")``),
        whose formula, panel and weights are then used.
    panel : Panel or DataFrame indexed by (entity, time)
        Balanced panel.
    w : Weights or libpysal W/Graph
        N x N spatial weights, matched to ``panel.entities`` by id
        (:func:`spillover.weights.as_weights`). A bare matrix is refused unless stated in
        the panel's sorted entity order, ``Weights.in_panel_order(matrix, panel)``.
    logdet : {"auto", "eigen", "lu", "chebyshev", "mc"}, default "auto"
        Log-determinant kernel of the pooled spatial-error ML fit behind CLM-mu (as in
        :class:`~spillover.models.SpatialError`). Above N of about 10,000 that fit dominates
        the run time; ``"chebyshev"`` is much faster (N = 20,000 k-nearest neighbours:
        6 s against 130 s for ``"lu"``, lambda equal to 2e-8).
    probes, seed : int
        Rademacher probes and their seed for the two traces in CLM-mu when N exceeds
        2,000 (``_bsk.EXACT_TRACE_MAX_N``); up to that the traces are exact and these are
        unused. The Monte Carlo standard errors are reported in ``trace_method``.

    Returns
    -------
    BSKTests

    Raises
    ------
    PanelError
        If the panel is unbalanced (the missing (entity, time) cells are named).
    AlignmentError
        If the ids of ``w`` and the panel's entities differ.
    SpecificationError
        Fewer than two periods, or a bad formula.

    Notes
    -----
    With ``e`` the pooled OLS residuals, ``G = e'(J_T (x) I_N)e / e'e - 1``,
    ``H = e'(I_T (x) W)e / e'e`` and ``b = tr(W^2 + W'W)``:

    * LM1 ``= sqrt(NT / (2(T-1))) G`` (eq. 2.12; Honda's one-sided test, equal to
      ``breusch_pagan_lm(kind="honda")``); LM2 ``= sqrt(N^2 T / b) H`` (eq. 2.16; its
      square is the pooled LM-error test of :func:`lm_tests`). Both one-sided N(0, 1).
    * joint: ``LM1^2 [LM1 > 0] + LM2^2 [LM2 > 0]`` (Gourieroux, Holly and Monfort's
      chi-bar-squared, eq. 2.19, p-value from the mixture of eq. 2.20). This is what splm
      calls ``"LMH"``; the paper's LM_H (2.18) is the Honda form ``(LM1 + LM2)/sqrt(2)``
      and its LM_J (2.11) is ``LM1^2 + LM2^2``, chi2(2): both follow from ``lm1``/``lm2``.
    * CLM-lambda (eq. 2.25): ``D_lambda / sqrt(((T-1) + s2_v^2/s2_1^2) b)`` from the
      residuals ``y - X beta`` of the ML random-effects model without spatial correlation,
      ``s2_v = u'(E_T (x) I)u / N(T-1)``, ``s2_1 = u'(Jbar_T (x) I)u / N``.
    * CLM-mu (eq. 2.31): ``D_mu sqrt(J^mu,mu)`` from the ML pooled spatial-error fit
      (:class:`~spillover.models.SpatialError` with ``effects="none"``), with
      ``tr[(W'B + B'W)(B'B)^-1] = 2 tr(K)`` and its square's trace ``2 tr(K^2) +
      2 tr(K'K)``, ``K = W (I - lambda W)^-1`` (similar matrices), so no inverse is formed.
      The traces are exact (sparse solves) up to N = 2,000; above, the parts in W alone are
      exact and the rest a Hutchinson estimate (standard errors in ``trace_method``). On a
      k-nearest-neighbour W at N = 2,000 with 200 probes, this moved CLM-mu by at most
      4e-5 relative (lambda = 0.5 or 0.9) and 5e-8 (lambda = 0.05).

    All four normal statistics keep their sign and get the paper's one-sided p-value
    ``P(Z > z)``. splm prints the same LM1 and LM2 with ``2 P(Z > z)`` (above 1 when z < 0)
    and ``|z|`` for CLM-lambda and CLM-mu with ``2 P(Z > |z|)``: ``pvalue_two_sided``.
    splm's ML fits (``spreml`` with ``errors="re"`` and ``"sem"``) are the same likelihoods.

    Examples
    --------
    >>> from spillover import datasets, weights
    >>> panel = datasets.us_states()
    >>> w = weights.queen(panel.geo).row_standardize()
    >>> out = bsk_tests("log_gsp ~ log_pcap + log_pc + log_emp + unemp", panel, w=w)
    >>> round(out.lm1.statistic, 3), round(out.clm_mu.statistic, 3)
    (64.304, 60.699)
    """
    formula, panel, weights = _inputs(formula, panel, w)
    with single_blas_thread():  # threaded BLAS thrashes in SuperLU's multi-column solves
        return _tests(formula, panel, weights, logdet=logdet, probes=probes, seed=seed)


def _tests(
    formula: str, panel: Panel, weights: Any, *, logdet: Any, probes: int, seed: Any
) -> BSKTests:
    y, x = _arrays(formula, panel, weights)
    matrix = weights.matrix
    coef = np.linalg.lstsq(x.reshape(-1, x.shape[-1]), y.reshape(-1), rcond=None)[0]
    lm1, lm2 = _bsk.marginal(y - x @ coef, matrix)
    joint = max(lm1, 0.0) ** 2 + max(lm2, 0.0) ** 2
    re_fit = _bsk.random_effects_ml(y, x)
    lam, u_sem = _sem_fit(formula, panel, weights, logdet)
    traces = _bsk.filter_traces(matrix, lam, probes=probes, seed=seed)
    no_re, no_sem = "no random effects (s2_mu = 0)", "no spatial error correlation (lambda = 0)"
    return BSKTests(
        joint=BSKTest(
            "LM joint (GHM)",
            float(joint),
            None,
            _bsk.chi_bar_pvalue(joint),
            _CHI_BAR,
            "lambda = 0 and s2_mu = 0",
            alternative="lambda > 0 or s2_mu > 0",
        ),
        lm1=_normal("LM1", lm1, f"{no_re}, assuming lambda = 0", "s2_mu > 0"),
        lm2=_normal("LM2", lm2, f"{no_sem}, assuming s2_mu = 0", "lambda > 0"),
        clm_lambda=_normal(
            "CLM lambda",
            _bsk.clm_lambda(re_fit.resid, matrix),
            f"{no_sem}, allowing s2_mu >= 0",
            "lambda > 0",
        ),
        clm_mu=_normal(
            "CLM mu",
            _bsk.clm_mu(u_sem, matrix, lam, traces),
            f"{no_re}, allowing any lambda",
            "s2_mu > 0",
        ),
        lambda_sem=lam,
        phi_re=re_fit.phi,
        n_entities=panel.n_entities,
        n_periods=panel.n_periods,
        trace_method=traces.method,
    )


def _inputs(formula: Any, panel: Panel | pd.DataFrame | None, w: Any) -> tuple[str, Panel, Any]:
    """(formula, balanced panel, Weights aligned to it) from either calling form."""
    if not isinstance(formula, str):
        model = formula
        if not all(hasattr(model, a) for a in ("formula", "panel", "weights")):
            raise SpecificationError(
                f"pass a formula string with panel= and w=, or a spillover spatial model; "
                f"got {type(model).__name__}."
            )
        if panel is not None or w is not None:
            raise SpecificationError("with a model, do not pass panel or w again.")
        formula, panel, w = model.formula, model.panel, model.weights
    panel = as_panel(panel)
    if w is None:
        raise SpecificationError("the tests need spatial weights: pass w=...")
    panel.require_balanced()
    if panel.n_periods < 2:
        raise SpecificationError(
            f"the tests need at least two periods; this panel has {panel.n_periods}."
        )
    return formula, panel, spatial_weights(as_weights(w), panel)  # one W, matched by id


def _arrays(formula: str, panel: Panel, weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """y as (N, T) and X as (N, T, k), entities in W's (= the panel's sorted) order."""
    d = design(formula, panel, w=weights)
    return _entity_by_period(d.y, panel, weights), _entity_by_period(d.x, panel, weights)


def _sem_fit(formula: str, panel: Panel, weights: Any, logdet: Any) -> tuple[float, np.ndarray]:
    """ML lambda and residuals ``y - X beta`` (N, T) of the pooled spatial-error model."""
    res = SpatialError(formula, panel, w=weights, effects="none", logdet=logdet).fit()
    return float(res.params["lambda"]), _entity_by_period(res.residuals, panel, weights)


def _entity_by_period(data: pd.Series | pd.DataFrame, panel: Panel, weights: Any) -> np.ndarray:
    """(N, T) for a series, (N, T, k) for a frame: rows in W's entity order, sorted periods."""
    grid = pd.MultiIndex.from_product([weights.ids, panel.periods])
    values = data.reindex(grid).to_numpy(float)
    return values.reshape(panel.n_entities, panel.n_periods, *values.shape[1:])


__all__ = ["BSKTest", "BSKTests", "bsk_tests"]
