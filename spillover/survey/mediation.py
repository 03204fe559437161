"""Mediation analysis: single, parallel and serial mediators with covariates.

``Mediation(data, x=..., mediators=[...], y=..., covariates=[...], kind=...)`` configures
the model once; ``fit()`` estimates every equation by OLS (the regression framework:
a, b, c, c' paths, Baron-Kenny steps, Sobel tests) and the indirect effects with
bootstrap intervals (the modern framework, as Hayes' PROCESS models 4 and 6), or the same
model as a path model by maximum likelihood on semopy (``engine="sem"``, as lavaan).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from spillover._validate import as_rng
from spillover.errors import SpecificationError
from spillover.inference.registry import Need, compute_vcov, resolve_vcov
from spillover.inference.vcov import Cluster, VcovInputs, frame_groups
from spillover.models import Estimator
from spillover.survey import _bootstrap, _mediation_inputs, _sem, _tables
from spillover.survey._mediation_results import MediationResults
from spillover.survey._paths import (
    PathModel,
    coefficients,
    fit_all,
    indirect_effects,
    joint_raw_cov,
)

__all__ = ["Mediation", "MediationResults"]


class Mediation(Estimator):
    """Mediation model of x on y through one or more mediators, with covariates.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent or firm.
    x, y : str
        Columns of the antecedent (treatment) and the outcome.
    mediators : sequence of str
        One or more mediator columns; for ``kind="serial"`` in causal order.
    covariates : sequence of str, default ()
        Columns entered in every equation (mediators, outcome and total effect).
    kind : {"parallel", "serial"}, default "parallel"
        Parallel: each mediator depends on x and the covariates (PROCESS model 4).
        Serial: mediator j also depends on mediators 1..j-1 (PROCESS model 6).
    cluster : str, optional
        Column of cluster labels (firms within clusters). Sets the default covariance to
        ``Cluster(cluster)`` and makes the bootstrap resample whole clusters.
    missing : {"raise", "listwise"}, default "raise"
        Rows with a missing value are refused, naming them, unless "listwise" is passed
        (they are then dropped with a DroppedRowsWarning).

    Notes
    -----
    Equations, each by OLS with an intercept (parameter names in quotes)::

        m_j = i_j + a_j x + sum_{l<j} d_jl m_l + C g_j   "a: x -> m_j", "d: m_l -> m_j"
        y   = i_y + c' x + sum_j b_j m_j + C g_y         "c': x -> y", "b: m_j -> y"
        y   = i + c x + C g                              "c: x -> y"

    (the ``d`` terms only for serial models); intercepts and covariates are named
    ``"m1 ~ Intercept"``, ``"y ~ age"``, ``"y (total) ~ age"``. An indirect effect is the
    product of the coefficients along its path (``a1 b1``, ``a1 d21 b2``, ...); the total
    indirect effect is their sum and equals ``c - c'`` exactly.

    Examples
    --------
    >>> from spillover.survey import Mediation
    >>> from spillover.survey.mediation import example_survey
    >>> model = Mediation(example_survey(), x="environment", mediators=["transfer"],
    ...                   y="spillover", covariates=["size"])
    >>> res = model.fit(bootstrap=500, seed=1)
    >>> round(float(res.params["a: environment -> transfer"]), 3)
    0.542
    >>> table = res.indirect[["estimate", "lower", "upper"]].rename_axis(None)
    >>> print(table.round(3).to_string())
                                          estimate  lower  upper
    environment -> transfer -> spillover     0.222  0.145  0.314
    total indirect                           0.222  0.145  0.314
    """

    vcov_provides = frozenset({Need.SCORES, Need.GROUPS})

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        x: str,
        mediators: Sequence[str],
        y: str,
        covariates: Sequence[str] = (),
        kind: Literal["parallel", "serial"] = "parallel",
        cluster: str | None = None,
        missing: Literal["raise", "listwise"] = "raise",
    ) -> None:
        _mediation_inputs.check_roles(x, mediators, y, covariates, kind)
        self.paths = PathModel(x, tuple(mediators), y, tuple(covariates), kind)
        cols = self.paths.columns
        if cluster is not None and cluster in cols:
            raise SpecificationError(f"cluster column {cluster!r} is also a model variable.")
        self.data, keep = _mediation_inputs.clean_frame(data, cols, cluster, missing)
        self._labels = data.loc[keep]
        self.cluster = cluster
        _mediation_inputs.check_variation(self.data, cols)
        outcome = (x, *mediators, *covariates)
        _mediation_inputs.check_size(self.data, len(outcome) + 1, cluster)
        _mediation_inputs.check_rank(self.data, outcome)
        self.default_vcov = Cluster(cluster) if cluster is not None else "unadjusted"

    def __repr__(self) -> str:
        p = self.paths
        return (
            f"Mediation(x={p.x!r}, mediators={list(p.mediators)!r}, y={p.y!r}, "
            f"covariates={list(p.covariates)!r}, kind={p.kind!r}, cluster={self.cluster!r})"
        )

    def fit(  # type: ignore[override]
        self,
        vcov: Any = None,
        *,
        bootstrap: int = 5000,
        ci: Literal["percentile", "bc"] = "percentile",
        level: float = 0.95,
        seed: int | np.random.Generator | None = None,
        progress: bool = False,
        engine: Literal["ols", "sem"] = "ols",
    ) -> MediationResults:
        """Estimate the paths and the indirect, direct and total effects.

        Parameters
        ----------
        vcov : str or option object, optional
            Covariance of the OLS paths: ``"unadjusted"`` (default), ``"robust"`` (HC1),
            ``"hc0"`` or ``Cluster(col)`` (CR1; the default when ``cluster`` is set).
            With ``engine="sem"`` only ``"ml"`` (inverse expected information).
        bootstrap : int, default 5000
            Bootstrap draws for the indirect effects (OLS engine); 0 skips the bootstrap
            (the indirect table then has no interval).
        ci : {"percentile", "bc"}, default "percentile"
            Bootstrap interval: percentile or bias-corrected (see Notes).
        level : float, default 0.95
            Confidence level of every interval.
        seed : int or numpy.random.Generator, optional
            Seed of ``numpy.random.default_rng``; the same seed gives the same draws.
        progress : bool, default False
            Show a tqdm bar over the draws.
        engine : {"ols", "sem"}, default "ols"
            "sem": the path model by maximum likelihood on semopy, indirect effects with
            first-order delta-method standard errors and Wald intervals.

        Returns
        -------
        MediationResults

        Notes
        -----
        *Path covariance.* Each equation's block is the registry covariance of that OLS
        regression alone (as ``regress, vce(...)`` per equation, with its own N - K). The
        blocks between equations are the stacked sandwich of Stata's ``suest`` (iid:
        ``(X_j'X_j)^-1 X_j'X_k (X_k'X_k)^-1 e_j'e_k``), scaled by ``sqrt(f_j f_k)``, f the
        small-sample factors of the two equations. ``df_resid`` is the smallest equation
        df (the outcome equation's; G - 1 when clustered).

        *Sobel test* of a_j b_j (first-order delta method, Sobel 1982):
        ``z = a b / sqrt(b^2 se_a^2 + a^2 se_b^2)``, standard normal p-value, se with the
        chosen covariance.

        *Bootstrap.* Each draw resamples N rows with replacement (or G clusters, with all
        their rows, when ``cluster`` is set), re-estimates every equation by OLS and
        recomputes the indirect effects; a sample with collinear regressors is replaced
        by a new draw (counted in ``info["Bootstrap"]``), as in PROCESS. ``std_error`` is
        the standard deviation of the draws (ddof=1), ``alpha = 1 - level``.

        * Percentile: the quantiles of the draws at ``alpha/2`` and ``1 - alpha/2``.
        * BC (Efron 1987; PROCESS): ``z0 = Phi^-1(#{draws < estimate} / B)``, then the
          quantiles at ``Phi(2 z0 + z_{alpha/2})`` and ``Phi(2 z0 + z_{1-alpha/2})``
          (NaN if every draw is on one side of the estimate).

        Quantiles interpolate linearly between order statistics (Hyndman-Fan type 7,
        numpy's and R's default): with ``h = (B - 1) q``, ``x_(floor h) + (h - floor h)
        (x_(floor h + 1) - x_(floor h))`` on the sorted draws counted from 0. PROCESS
        takes a neighbouring order statistic instead; the two differ by less than the
        gap between adjacent sorted draws.
        """
        if engine == "sem":
            if vcov not in (None, "ml"):
                raise SpecificationError(f"engine='sem' takes vcov='ml' only; got {vcov!r}.")
            return _sem.fit_sem(self.paths, self.data, level=level)
        if engine != "ols":
            raise SpecificationError(f"engine must be 'ols' or 'sem'; got {engine!r}.")
        if ci not in ("percentile", "bc"):
            raise SpecificationError(f"ci must be 'percentile' or 'bc'; got {ci!r}.")
        if not 0 < level < 1:
            raise SpecificationError(f"level must be in (0, 1), e.g. 0.95; got {level}.")
        if int(bootstrap) < 0:
            raise SpecificationError(f"bootstrap must be a count of draws >= 0; got {bootstrap}.")
        spec = resolve_vcov(self.default_vcov if vcov is None else vcov, self.supported_vcov)
        boot = {"draws": int(bootstrap), "ci": ci, "seed": seed, "progress": progress}
        return self._fit(spec, level=level, **boot)

    def _fit(self, spec: Any, *, level: float, **boot: Any) -> MediationResults:
        values = self.data[list(self.paths.columns)].to_numpy()
        position = {c: i for i, c in enumerate(self.paths.columns)}
        fits = fit_all(self.paths, values, position)
        names = [n for eq in self.paths.equations() for n in eq.names]
        params = pd.Series(np.concatenate([b for _, b, _ in fits]), index=names)
        cov, vcov_name, df = self._covariance(spec, fits)
        vcov = pd.DataFrame(cov, index=names, columns=names)
        estimate = indirect_effects(self.paths, params.to_numpy(), names)
        draws, boot["replaced"] = self._draws(values, position, names, boot)
        return _tables.build(self, params, vcov, vcov_name, df, fits, estimate, draws, level, boot)

    def _covariance(
        self, spec: Any, fits: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, str, int | None]:
        """Joint covariance: registry blocks per equation, suest blocks between them."""
        groups = frame_groups(self._labels)
        blocks, factors, dfs = [], [], []
        for x, _, e in fits:
            inputs = VcovInputs(
                x=x,
                resid=e,
                scores=x * e[:, None],
                bread=np.linalg.inv(x.T @ x),
                absorbed=0,
                effects={},
                groups=groups,
                time=np.zeros(0, np.intp),
                entity=np.zeros(0, np.intp),
            )
            result = compute_vcov(spec, inputs)
            blocks.append(result.matrix)
            dfs.append(result.df_resid)
        by = _cluster_labels(spec, groups, len(fits[0][2]))
        raw = joint_raw_cov(fits, by)
        at = np.cumsum([0] + [b.shape[0] for b in blocks])
        for j, block in enumerate(blocks):
            sl = slice(at[j], at[j + 1])
            factors.append(np.trace(block) / np.trace(raw[sl, sl]))
        scale = np.concatenate(
            [np.full(b.shape[0], np.sqrt(f)) for b, f in zip(blocks, factors, strict=True)]
        )
        cov = raw * np.outer(scale, scale)
        for j, block in enumerate(blocks):
            cov[at[j] : at[j + 1], at[j] : at[j + 1]] = block
        df = None if any(d is None for d in dfs) else min(dfs)
        return cov, result.name, df

    def _draws(
        self,
        values: np.ndarray,
        position: dict[str, int],
        names: list[str],
        boot: dict[str, Any],
    ) -> tuple[np.ndarray | None, int]:
        """Bootstrap draws of the indirect effects (None if none asked) and the replaced."""
        if boot["draws"] == 0:
            return None, 0
        clusters = None
        if self.cluster is not None:
            clusters = pd.factorize(self.data[self.cluster], sort=True)[0]

        def statistic(rows: np.ndarray) -> np.ndarray:
            b = coefficients(self.paths, values[rows], position)
            return indirect_effects(self.paths, b, names)

        return _bootstrap.resample(
            statistic,
            boot["draws"],
            as_rng(boot["seed"]),
            clusters=clusters,
            n_rows=len(values),
            progress=boot["progress"],
        )


def _cluster_labels(spec: Any, groups: Any, n: int) -> np.ndarray | None:
    """Group labels of the stacked sandwich: none (iid), one per row (HC) or clusters."""
    if isinstance(spec, Cluster):
        if len(spec.by) != 1:
            raise SpecificationError("Mediation takes one-way clustering, e.g. Cluster('cluster').")
        return pd.factorize(groups(spec.by[0]))[0]
    if spec.name == "unadjusted":
        return None
    return np.arange(n)


def example_survey(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Simulated survey for the examples: environment -> transfer -> harvest -> spillover.

    Returns a DataFrame of ``n`` firms with columns environment, transfer, harvest,
    spillover, size and cluster, drawn from ``numpy.random.default_rng(seed)``. Paths:
    transfer = 0.5 environment + 0.2 size + e; harvest = 0.3 environment + 0.4 transfer
    + e; spillover = 0.2 environment + 0.3 transfer + 0.4 harvest + 0.1 size + e, all
    errors standard normal; 30 clusters of firms (column ``cluster``).
    """
    rng = np.random.default_rng(seed)
    env, size = rng.normal(size=n), rng.normal(size=n)
    transfer = 0.5 * env + 0.2 * size + rng.normal(size=n)
    harvest = 0.3 * env + 0.4 * transfer + rng.normal(size=n)
    spill = 0.2 * env + 0.3 * transfer + 0.4 * harvest + 0.1 * size + rng.normal(size=n)
    return pd.DataFrame(
        {
            "environment": env,
            "transfer": transfer,
            "harvest": harvest,
            "spillover": spill,
            "size": size,
            "cluster": np.arange(n) % 30,
        }
    )
