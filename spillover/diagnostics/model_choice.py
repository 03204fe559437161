"""Which W, which model: Bayesian posterior model probabilities beside LR, AIC and BIC.

:func:`compare_models` fits every candidate (weights matrix x family) on the same panel and
returns a :class:`ModelComparison`: LeSage's log marginal likelihoods and the posterior
model probabilities they imply, the maximised log-likelihoods, information criteria and
likelihood-ratio tests of the nested pairs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from spillover._validate import preview
from spillover.diagnostics._comparison import lr_tests
from spillover.diagnostics._marginal import Normalisation, candidate
from spillover.errors import SpecificationError
from spillover.models.spatial import (
    SAC,
    SpatialDurbin,
    SpatialDurbinError,
    SpatialError,
    SpatialLag,
)
from spillover.models.spatial._model import SpatialModel
from spillover.panel import Panel

FAMILIES = ("slx", "sar", "sem", "sdm", "sdem")
#: Every family compare_models knows; SAC (two spatial parameters) is opt-in.
ALL_FAMILIES = (*FAMILIES, "sac")
_CLASSES: dict[str, type[SpatialModel]] = {
    "slx": SpatialDurbin,  # its design (X, W X); rho is not used
    "sar": SpatialLag,
    "sem": SpatialError,
    "sdm": SpatialDurbin,
    "sdem": SpatialDurbinError,
    "sac": SAC,
}
_SPATIAL = {
    "slx": "",
    "sar": "rho",
    "sdm": "rho",
    "sem": "lambda",
    "sdem": "lambda",
    "sac": "rho, lambda",
}
_COLUMNS = (
    "log_marginal",
    "probability",
    "probability_within_weights",
    "probability_within_family",
    "loglik",
    "n_params",
    "aic",
    "bic",
    "spatial_parameter",
    "rho",
    "lambda",
    "prior_lower",
    "prior_upper",
)

_SUMMARY = (
    "weights",
    "family",
    "log_marginal",
    "probability",
    "probability_within_weights",
    "probability_within_family",
    "loglik",
    "aic",
    "bic",
    "rho",
    "lambda",
)


@dataclass(frozen=True)
class ModelComparison:
    """Candidates ranked by posterior model probability, with ML-based comparisons.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (weights, family), indexed by those two names, with columns

        - ``log_marginal``: log marginal likelihood log p(y | W, family) (see
          :func:`compare_models` for the expression);
        - ``probability``: posterior probability over all candidates (equal prior
          probabilities), ``exp(log_marginal - max) / sum``;
        - ``probability_within_weights``: normalised over the families of the same W;
        - ``probability_within_family``: normalised over the weights of the same family;
        - ``loglik``: maximised log-likelihood of the transformed model (as
          ``SpatialResults.loglik``);
        - ``n_params``: p = design columns + spatial parameters + sigma^2, fixed effects
          not counted (they are eliminated by the transformation; see
          :mod:`spillover.diagnostics._comparison` for how this matches R and spreg);
        - ``aic``, ``bic``: ``-2 loglik + 2 p`` and ``-2 loglik + p log(n)``, n effective;
        - ``spatial_parameter``: "rho", "lambda", "rho, lambda" (SAC) or "" (SLX);
        - ``rho``, ``lambda``: their ML estimates (NaN where the family has none);
        - ``prior_lower``, ``prior_upper``: the interval of the uniform prior on each.
    lr_tests : pandas.DataFrame
        Likelihood-ratio tests of the nested pairs within each W, from the same fits (SDM
        against SAR, SEM (common factor) and SLX; SDEM against SEM and SLX; SAC against SAR
        and SEM): columns ``weights, model, restricted, restriction, statistic, df,
        pvalue``, ``statistic = 2 (loglik_model - loglik_restricted)``, ``df`` the number
        of restrictions (``p_model - p_restricted``), ``pvalue`` from chi-squared(df).
    effects : str
        Fixed effects removed before comparing.
    nobs : float
        Effective observations n (after the fixed-effects transformation).
    periods : int
        Log-determinant multiplier m (effective periods).
    normalisation : str
        Constant of the marginal likelihood, ``"lesage"`` or ``"flat"``.
    standardise : bool
        Whether y and the design columns were standardised (scale-free probabilities).
    """

    table: pd.DataFrame
    lr_tests: pd.DataFrame
    effects: str
    nobs: float
    periods: int
    normalisation: str
    standardise: bool

    @property
    def best(self) -> tuple[str, str]:
        """(weights, family) with the highest posterior probability."""
        return tuple(self.table["probability"].idxmax())  # type: ignore[return-value]

    def probabilities(self) -> pd.DataFrame:
        """Posterior probabilities over all candidates as a weights x family table."""
        return self.table["probability"].unstack("family")

    def to_frame(self) -> pd.DataFrame:
        """Tidy long table: one row per candidate, columns as :attr:`table`, best first."""
        return self.table.sort_values("probability", ascending=False).reset_index()

    def summary(self) -> str:
        """Text report: probabilities (weights x family), then the full table and LR tests."""
        fmt = {"float_format": lambda v: f"{v:.4f}"}
        probs = self.probabilities()
        w, fam = self.best
        parts = [
            "Bayesian comparison of spatial models (LeSage flat priors; uniform prior on "
            "rho/lambda over the feasible interval)",
            f"Effects removed: {self.effects}; effective n = {self.nobs:g}, "
            f"log-determinant periods m = {self.periods}; constant: {self.normalisation}"
            + ("; y and X standardised" if self.standardise else ""),
            f"Highest posterior probability: {fam.upper()} with W = {w} "
            f"({self.table.loc[(w, fam), 'probability']:.4f})",
            "",
            "Posterior model probabilities (all candidates):",
            probs.to_string(**fmt),
            "",
            "Candidates:",
            self.to_frame()[list(_SUMMARY)].to_string(index=False, **fmt),
        ]
        if len(self.lr_tests):
            parts += ["", "Likelihood-ratio tests of nested models:"]
            parts.append(self.lr_tests.to_string(index=False, **fmt))
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.summary()


def compare_models(
    formula: str,
    panel: Panel | pd.DataFrame,
    *,
    weights: Mapping[str, Any],
    families: Sequence[str] = FAMILIES,
    effects: Literal["entity", "time", "twoway", "none"] = "entity",
    priors: Literal["uniform"] = "uniform",
    grid: int | None = None,
    normalisation: Normalisation = "lesage",
    standardise: bool = True,
    logdet: Literal["auto", "eigen", "lu", "chebyshev", "mc"] = "auto",
    seed: int = 0,
) -> ModelComparison:
    """Posterior probabilities of candidate weights matrices and spatial model families.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2"`` without ``W(x)`` terms: SLX, SDM and SDEM add ``W x`` for every
        regressor.
    panel : Panel or DataFrame indexed by (entity, time)
        Balanced panel.
    weights : mapping of str to weights
        Candidate W by name (Weights, libpysal W/Graph), each matched to the panel by id.
    families : sequence of {"slx", "sar", "sem", "sdm", "sdem", "sac"}
        Candidate families (case-insensitive), default the five one-parameter-or-less
        families; ``"sac"`` (spatial lag and spatial error with the same W) is opt-in:
        its marginal is a two-dimensional integral over (rho, lambda).
    effects : {"entity", "time", "twoway", "none"}, default "entity"
        Fixed effects, removed by the Lee-Yu transformation as in the static models.
    priors : {"uniform"}
        Prior of rho (lambda): uniform on the feasible interval of each W (SAC: on its
        square, rho and lambda independent). The only one.
    grid : int, optional
        Integration over rho: adaptive quadrature (default) or the trapezoid rule on
        ``grid`` equally spaced points (LeSage's code: a 0.001 step); SAC uses a
        ``grid x grid`` lattice, so keep it a few hundred there.
    normalisation : {"lesage", "flat"}, default "lesage"
        Constant of the marginal likelihood (see Notes).
    standardise : bool, default True
        Compute on y and design columns scaled to unit root mean square (after the
        transformation), which makes every probability invariant to the units of y and x
        (see Notes). ``False`` gives LeSage's expressions on the data as given.
    logdet : str, default "auto"
        Log-determinant method, as in the spatial models.
    seed : int, default 0
        Seed of Monte Carlo log-determinant traces (large N only).

    Returns
    -------
    ModelComparison

    Raises
    ------
    SpecificationError
        Unknown family or prior, empty ``weights``, bad ``grid``.
    AlignmentError
        A W that does not match the panel's entities.

    Notes
    -----
    Data: the transformed (Lee-Yu) model of the static families with ``n`` effective
    observations (N(T-1) entity, (N-1)T time, (N-1)(T-1) two-way effects), ``m`` periods in
    the Jacobian ``J(r) = m [log|I - r W| - k log(1 - r)]`` (m = T-1 with entity effects,
    k = 1 with time effects): the ``loglik`` of :class:`~spillover.models.spatial.SpatialLag`.
    LeSage's ``log_marginal_panelprob`` uses the same n (Elhorst's ``dofadj``) but T
    log-determinants on demeaned data; the Lee-Yu likelihood is an exact density of the
    transformed data, so its marginal is exact. With ``p(beta, sigma^2) ∝ 1/sigma^2`` and
    ``p(r) = 1/(r_max - r_min)`` on ``(r_min, r_max) = (1/lambda_min, 1/lambda_max)``, and
    ``d = (n - k_x)/2``, ``k_x`` columns of the design X (with W X for SLX/SDM/SDEM)::

        SLX:     log p = C(d) - log|X'X|/2 - d log(e'e)
        SAR/SDM: log p = C(d) - log|X'X|/2 - log(r_max - r_min)
                         + log int exp(-d log Q(r) + J(r)) dr,  Q(r) = |M (y - r W y)|^2
        SEM/SDEM: log p = C(d) - log(r_max - r_min)
                         + log int exp(-d log Q(r) - log|X_r' X_r|/2 + J(r)) dr,
                  X_r = X - r W X,  Q(r) = |M_r (y - r W y)|^2,
        SAC:     log p = C(d) - 2 log(r_max - r_min)
                         + log int int exp(-d log Q(r, l) - log|X_l' X_l|/2 + J(r) + J(l)) dr dl,
                  Q(r, l) = |M_l (I - l W)(I - r W) y|^2,

    M (M_r) the residual maker of X (X_r) (LeSage and Pace 2009, ch. 6; LeSage
    2014; LeSage 2015; LeSage's MATLAB ``log_marginal_panelprob``, 2013, with
    Elhorst's fixed-effects adjustment). ``C(d) = log Gamma(d) - d log(2 pi)`` as LeSage's
    code (``normalisation="lesage"``), or ``log Gamma(d) - d log(pi)``, what
    ``1/sigma^2`` integrates to exactly (``"flat"``); they differ by ``d log 2``, which
    changes the odds of families with different k_x (the flat prior on beta is improper,
    so their constant is a convention). Differences from LeSage's code: the prior interval
    is the feasible interval of each W (his ``1 - 1/r_min`` is its length only when
    r_max = 1); where W is not similar to a symmetric matrix (kNN) or the log-determinant
    is approximate, it is the models' search interval ``(-1/r, 1/r)``, r the spectral
    radius (``prior_lower``/``prior_upper`` in the table say which). The integral is
    adaptive quadrature; the 2013 ``log_marginal_panelprob`` adds its trapezoid sum to the
    log scale without taking its log, so its values are not reproduced. SAC's double
    integral is iterated adaptive quadrature (:func:`~spillover.diagnostics._marginal.
    sac_log_integral`, about 1e-9 relative), tested against ``scipy.integrate.dblquad``.
    Log-likelihoods, AIC, BIC and LR tests come from the ML fits made in the same pass
    (:mod:`spillover.diagnostics._comparison` states the parameter count and LR df).
    Posterior probabilities assume equal prior probabilities of the candidates.

    Units: with the improper flat prior on beta, ``p(c y) = c^-(n - k_x) p(y)`` and scaling
    a regressor by c scales ``|X'X|^-1/2`` by ``c^-1`` per column it enters (twice in the
    Durbin designs), so LeSage's odds between families with different k_x (SAR against
    SDM, SEM against SDEM) change with the units of y and x; comparisons of W within a
    family, and of SAR with SEM or SDM with SDEM and SLX, do not. ``standardise=True`` adds
    ``(n - k_x) log s_y + sum_j log s_j`` (s the root mean square of the transformed y and
    design columns), which is the marginal under flat priors on the standardised
    coefficients ``beta_j s_j / s_y`` and on ``log(sigma / s_y)``: every probability is then
    unit-free.

    Examples
    --------
    >>> from spillover.diagnostics import compare_models
    >>> from spillover.simulate import grid_weights, spatial_panel
    >>> queen = grid_weights(6, contiguity="queen").row_standardize()
    >>> rook = grid_weights(6, contiguity="rook").row_standardize()
    >>> sim = spatial_panel(queen, 4, model="sar", rho=0.5, beta=[1.0], seed=1)
    >>> res = compare_models("y ~ x1", sim.panel, weights={"queen": queen, "rook": rook},
    ...                      families=["sar", "sem", "sdm", "sac"])
    >>> round(float(res.table["probability"].sum()), 12)
    1.0
    >>> res.lr_tests[["weights", "model", "restricted", "df"]].head(3)
      weights model restricted  df
    0   queen   sdm        sar   1
    1   queen   sdm        sem   1
    2   queen   sac        sar   1
    """
    families = _check_inputs(formula, weights, families, priors, grid)
    rows = []
    for name, w in weights.items():
        models: dict[type[SpatialModel], SpatialModel] = {}
        for fam in families:
            cls = _CLASSES[fam]
            if cls not in models:
                models[cls] = cls(formula, panel, w=w, effects=effects, logdet=logdet)
            got = candidate(models[cls], _SPATIAL[fam], (normalisation, standardise), grid, seed)
            rows.append({"weights": str(name), "family": fam, **got})
    model = next(iter(models.values()))
    table = _probabilities(pd.DataFrame(rows).set_index(["weights", "family"]))
    return ModelComparison(
        table=table[list(_COLUMNS)],
        lr_tests=lr_tests(table),
        effects=effects,
        nobs=model.transform.nobs,
        periods=model.transform.periods,
        normalisation=normalisation,
        standardise=standardise,
    )


def _check_inputs(
    formula: str, weights: Any, families: Sequence[str], priors: str, grid: Any
) -> list[str]:
    """The checked families, lower case."""
    if re.search(r"\bW\(", formula):
        raise SpecificationError(
            f"formula {formula!r} has W(x) terms; compare_models adds W x for every "
            "regressor in SLX, SDM and SDEM and none in SAR and SEM, so give x only."
        )
    if not isinstance(weights, Mapping) or not len(weights):
        raise SpecificationError(
            "weights must be a non-empty mapping of names to weights matrices, e.g. "
            "{'queen': w_queen, 'knn6': w_knn}."
        )
    families = list(families) if not isinstance(families, str) else [families]
    families = [str(f).lower() for f in families]
    unknown = [f for f in families if f not in ALL_FAMILIES]
    if unknown or not families or len(set(families)) != len(families):
        raise SpecificationError(
            f"families must be distinct names among {preview(ALL_FAMILIES)}; got "
            f"{preview(families)}" + (f" (unknown: {preview(unknown)})." if unknown else ".")
        )
    if priors != "uniform":
        raise SpecificationError(
            f"priors={priors!r} is not available; use 'uniform' (flat priors on beta and "
            "sigma, uniform on rho/lambda over the feasible interval)."
        )
    if grid is not None and (not isinstance(grid, int | np.integer) or grid < 3):
        raise SpecificationError(f"grid must be None or an integer >= 3, got {grid!r}.")
    return families


def _softmax(values: pd.Series) -> pd.Series:
    z = np.exp(values - values.max())
    return z / z.sum()


def _probabilities(table: pd.DataFrame) -> pd.DataFrame:
    lm = table["log_marginal"]
    return table.assign(
        probability=_softmax(lm),
        probability_within_weights=lm.groupby(level="weights", group_keys=False).apply(_softmax),
        probability_within_family=lm.groupby(level="family", group_keys=False).apply(_softmax),
    )
