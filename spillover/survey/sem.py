"""Confirmatory factor analysis and structural equation models by maximum likelihood.

:func:`cfa` fits a measurement model from items and a construct -> items mapping;
:func:`sem` fits any model written in lavaan syntax. Both estimate with semopy and report
what lavaan reports for ``estimator = "ML"`` (its default ``likelihood = "normal"``):
estimates with standard errors from the expected information, the standardized solution
(``std.all``), and the fit indices users cite, each computed here by lavaan's formula.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from spillover._validate import preview, user_stacklevel
from spillover.errors import ImproperSolutionWarning, SpecificationError
from spillover.models import Results, Summary
from spillover.survey import _semcheck, _semfit, _semstats
from spillover.survey.validity import Validity, validity

Estimator = Literal["ML"]
Missing = Literal["listwise"]


@dataclass(frozen=True, eq=False)
class SEMResults(Results):
    """A fitted CFA or SEM: lavaan-style estimates, standardized solution and fit indices.

    ``params``/``vcov`` hold the free parameters, labelled ``"lhs op rhs"`` as lavaan prints
    them (``"visual =~ x2"``, ``"dem65 ~ dem60"``, ``"y1 ~~ y5"``); ``fit_stats`` holds
    ``chisq``, ``df``, ``pvalue``, ``cfi``, ``tli``, ``rmsea``, ``rmsea_lower``,
    ``rmsea_upper``, ``rmsea_pclose``, ``srmr``, ``loglik``, ``aic``, ``bic``, ``npar``,
    ``baseline_chisq``, ``baseline_df``.

    Attributes
    ----------
    estimates : pandas.DataFrame
        Every parameter, free or fixed: ``lhs``, ``op``, ``rhs``, ``estimate``,
        ``std_error``, ``z``, ``pvalue`` (NaN when fixed), ``std_all``, ``free``.
    description : str
        The model in lavaan syntax.
    sample_cov, implied_cov : pandas.DataFrame
        Sample covariance of the items (divisor N) and the model-implied one.
    latent_cov : pandas.DataFrame
        Model-implied covariance of the latent variables.
    missing : str
        The missing-data rule applied (``"listwise"``) and ``nobs`` is what remained.
    """

    estimates: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    description: str = ""
    sample_cov: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    implied_cov: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    latent_cov: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    missing: str = "listwise"

    def to_frame(self) -> pd.DataFrame:
        """All parameters, lavaan's ``parameterEstimates`` with ``std.all`` alongside."""
        return self.estimates.copy()

    def fit_indices(self) -> pd.Series:
        """The fit statistics as a Series (chi-square first), for tables."""
        return pd.Series(dict(self.fit_stats), name="value", dtype=float)

    @property
    def standardized_loadings(self) -> pd.DataFrame:
        """``std.all`` loadings as an item x construct table (0 where an item does not load)."""
        rows = self.estimates[self.estimates["op"] == "=~"]
        table = rows.pivot(index="rhs", columns="lhs", values="std_all")
        table = table.reindex(index=pd.unique(rows["rhs"]), columns=pd.unique(rows["lhs"]))
        return table.fillna(0.0).rename_axis(index="item", columns="construct")

    def validity(self, *, absolute: bool = True) -> Validity:
        """CR, AVE, Fornell-Larcker and HTMT of the factors measured by ``=~`` in the model.

        The latent correlations are model-implied; HTMT uses the sample correlations of the
        items (from ``sample_cov``). See :func:`spillover.survey.validity.validity`.
        """
        rows = self.estimates[self.estimates["op"] == "=~"]
        loadings = {
            name: pd.Series(group["std_all"].to_numpy(), index=group["rhs"].to_numpy())
            for name, group in rows.groupby("lhs", sort=False)
        }
        names = list(loadings)
        sd = np.sqrt(np.diag(self.latent_cov.loc[names, names].to_numpy()))
        latent_corr = self.latent_cov.loc[names, names] / np.outer(sd, sd)
        s = self.sample_cov
        scale = 1 / np.sqrt(np.diag(s.to_numpy()))
        item_corr = s * np.outer(scale, scale)
        return validity(loadings, latent_corr, item_corr, absolute=absolute)

    def summary(self) -> Summary:
        """Fit indices in the header; every parameter with its standardized value below."""
        f = self.fit_stats
        head = {
            "Model": self.model,
            "Estimator": self.vcov_name,
            "Observations": f"{self.nobs:,}",
            "Missing": self.missing,
            "Chi-square (df)": f"{f['chisq']:.3f} ({int(f['df'])}), p = {f['pvalue']:.4f}",
            "CFI / TLI": f"{f['cfi']:.3f} / {f['tli']:.3f}",
            "RMSEA [90% CI]": f"{f['rmsea']:.3f} [{f['rmsea_lower']:.3f}, "
            f"{f['rmsea_upper']:.3f}], p-close = {f['rmsea_pclose']:.3f}",
            "SRMR": f"{f['srmr']:.3f}",
            "AIC / BIC": f"{f['aic']:.3f} / {f['bic']:.3f}",
            "Parameters": f"{int(f['npar'])}",
        }
        table = self.estimates.drop(columns="free").set_index(["lhs", "op", "rhs"])
        return Summary(head, table)


def cfa(
    items: pd.DataFrame,
    constructs: Mapping[str, Sequence[str]],
    *,
    estimator: Estimator = "ML",
    missing: Missing = "listwise",
) -> SEMResults:
    """Confirmatory factor analysis of Likert or continuous items, as lavaan's ``cfa()``.

    Parameters
    ----------
    items : pandas.DataFrame
        One row per respondent, one numeric column per item (other columns are ignored).
    constructs : Mapping of str to sequence of str
        Each construct and its items, e.g. ``{"trust": ["q1", "q2", "q3"]}``. The first item
        of each construct is the marker (loading fixed to 1); factors covary freely.
    estimator : {"ML"}, default "ML"
        Maximum likelihood, lavaan's ``estimator = "ML"`` with ``likelihood = "normal"``.
    missing : {"listwise"}, default "listwise"
        Respondents with a missing item are dropped, with a DroppedRowsWarning.

    Returns
    -------
    SEMResults

    Raises
    ------
    SpecificationError
        Unknown or non-numeric items, a construct with fewer than two items, names that are
        not identifiers, or a sample covariance that is not positive definite.
    ConvergenceError
        If the optimiser does not reach the ML solution.

    Warns
    -----
    ImproperSolutionWarning
        For a negative variance estimate or a standardized loading above 1 (Heywood case).

    Notes
    -----
    The model is ``f =~ i1 + i2 + ...`` per construct, i.e. lavaan's ``cfa()`` defaults;
    see :func:`sem` for the estimator and the fit indices.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> res = cfa(hs, {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
    ...                "speed": ["x7", "x8", "x9"]})
    >>> round(res.fit_stats["chisq"], 3), int(res.fit_stats["df"])
    (85.306, 24)
    >>> res.standardized_loadings.loc["x1", "visual"].round(3)
    np.float64(0.772)
    """
    if not isinstance(constructs, Mapping) or not constructs:
        raise SpecificationError(
            "constructs must be a non-empty mapping of construct name to its items, e.g. "
            "{'trust': ['q1', 'q2', 'q3']}."
        )
    _semcheck.check_constructs(items, constructs)
    description = "\n".join(f"{name} =~ {' + '.join(cols)}" for name, cols in constructs.items())
    return _fit(description, items, estimator, missing, model="CFA")


def sem(
    description: str,
    data: pd.DataFrame,
    *,
    estimator: Estimator = "ML",
    missing: Missing = "listwise",
    auto_cov_y: bool = True,
) -> SEMResults:
    """Structural equation model in lavaan syntax, as lavaan's ``sem()``.

    Parameters
    ----------
    description : str
        The model: ``f =~ x1 + x2`` (loadings), ``y ~ f + x`` (regressions), ``a ~~ b``
        (covariances), one statement per line.
    data : pandas.DataFrame
        One row per respondent; columns named in ``description`` must be numeric.
    estimator : {"ML"}, default "ML"
        Maximum likelihood with the sample covariance divided by N.
    missing : {"listwise"}, default "listwise"
        Rows with a missing value in a model variable are dropped, with a warning.
    auto_cov_y : bool, default True
        Let the residuals of the outcomes that predict nothing covary, as lavaan's ``sem()``
        (``auto.cov.y``); the added ``a ~~ b`` statements are listed in ``info``. False fits
        the description as written (semopy's behaviour).

    Returns
    -------
    SEMResults

    Raises
    ------
    SpecificationError
        Unparseable description, missing or non-numeric columns, or a sample covariance
        that is not positive definite (names the items involved).
    ConvergenceError
        If the optimiser does not reach the ML solution.

    Warns
    -----
    ImproperSolutionWarning
        For a negative variance estimate or a standardized loading above 1 (Heywood case).

    Notes
    -----
    S is the sample covariance with divisor N, F = log|Sigma| + tr(S Sigma^-1) - log|S| - p,
    and chi-square = N F at the minimum (lavaan, ``likelihood = "normal"``); df = p(p+1)/2
    minus the free parameters and minus the k(k+1)/2 moments of observed exogenous
    covariates, which are held at their sample values (lavaan's ``fixed.x = TRUE``).
    Standard errors: inverse expected information, N/2 tr(Sigma^-1 dSigma_i Sigma^-1
    dSigma_j). CFI and TLI use lavaan's baseline: Sigma = diag(S) but the covariates' block
    kept. RMSEA = sqrt(max(chi2 - df, 0) / (df N)); its 90% interval inverts the noncentral
    chi-square and p-close is P(RMSEA <= 0.05). SRMR is lavaan's ``srmr_bentler``: the root
    mean square of (s_ij - sigma_ij) / sqrt(s_ii s_jj) over i <= j. AIC and BIC are lavaan's,
    -2 logL + 2 k and -2 logL + k log N, with the normal log-likelihood logL conditional on
    the covariates (not semopy's ``calc_stats`` values, which are on another scale).
    ``std_all`` standardizes by the model-implied variances of observed and latent
    variables; for ``a ~~ b`` it is the residual correlation (``standardizedSolution``).

    Examples
    --------
    >>> from semopy.examples import political_democracy
    >>> pd_data = political_democracy.get_data()
    >>> res = sem('''ind60 =~ x1 + x2 + x3
    ...              dem60 =~ y1 + y2 + y3 + y4
    ...              dem60 ~ ind60''', pd_data)
    >>> res.params["dem60 ~ ind60"].round(2)
    np.float64(1.44)
    """
    if not isinstance(description, str) or not description.strip():
        raise SpecificationError("description must be a model in lavaan syntax, e.g. 'f =~ a + b'.")
    added = _semfit.lavaan_auto_cov_y(description) if auto_cov_y else []
    return _fit(description, data, estimator, missing, model="SEM", added=added)


def _fit(
    description: str,
    data: pd.DataFrame,
    estimator: str,
    missing: str,
    *,
    model: str,
    added: Sequence[str] = (),
) -> SEMResults:
    """Validate, fit by ML (``added`` statements appended), compute fit indices, warn on
    improper solutions."""
    if estimator != "ML":
        raise SpecificationError(f"estimator must be 'ML'; got {estimator!r}.")
    if missing != "listwise":
        raise SpecificationError(f"missing must be 'listwise'; got {missing!r}.")
    parsed = _semfit.parse("\n".join([description, *added]))
    observed = list(parsed.vars["observed"])
    complete = _semcheck.complete_rows(data, observed)
    _semcheck.check_positive_definite(complete)
    fitted = _semfit.fit_ml(parsed, complete)
    result = _results(fitted, description, len(complete), model=model, added=added)
    _warn_improper(result.estimates)
    return result


def _results(
    fitted: _semfit.Fitted, description: str, nobs: int, *, model: str, added: Sequence[str]
) -> SEMResults:
    table = fitted.table
    free = table[table["free"]]
    labels = free["lhs"] + " " + free["op"] + " " + free["rhs"]
    estimate = pd.Series(free["estimate"].to_numpy(), index=labels.to_numpy())
    params = estimate[~estimate.index.duplicated()].reindex(fitted.labels).rename("coef")
    obs = fitted.observed
    return SEMResults(
        params=params,
        vcov=pd.DataFrame(fitted.vcov, index=fitted.labels, columns=fitted.labels),
        nobs=nobs,
        df_resid=None,
        vcov_name="ML, expected information",
        model=model,
        fit_stats=_semstats.fit_measures(
            fitted.sample_cov,
            fitted.implied_cov,
            nobs,
            fitted.npar,
            [fitted.observed.index(v) for v in fitted.fixed_x],
        ),
        info={
            "Missing data": "listwise",
            "Iterations": fitted.iterations,
            "Added (lavaan auto.cov.y)": "; ".join(added) or "none",
        },
        estimates=table,
        description=description,
        sample_cov=pd.DataFrame(fitted.sample_cov, index=obs, columns=obs),
        implied_cov=pd.DataFrame(fitted.implied_cov, index=obs, columns=obs),
        latent_cov=fitted.latent_cov,
        missing="listwise",
    )


def _warn_improper(table: pd.DataFrame) -> None:
    """ImproperSolutionWarning naming negative variances and |std.all loading| > 1."""
    variances = table[(table["op"] == "~~") & (table["lhs"] == table["rhs"])]
    negative = variances.loc[variances["estimate"] < 0, "lhs"].tolist()
    loadings = table[table["op"] == "=~"]
    beyond = (loadings.loc[loadings["std_all"].abs() > 1, "rhs"]).tolist()
    if not negative and not beyond:
        return
    parts = []
    if negative:
        parts.append(f"negative variance estimate(s) for {preview(negative, 10)}")
    if beyond:
        parts.append(f"standardized loading(s) above 1 for {preview(beyond, 10)}")
    warnings.warn(
        f"improper solution (Heywood case): {'; '.join(parts)}. Estimates and fit indices "
        "are unreliable; check for too few items per factor, items that are near copies, or "
        "a small sample.",
        ImproperSolutionWarning,
        stacklevel=user_stacklevel(),
    )
