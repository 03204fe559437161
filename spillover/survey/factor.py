"""Exploratory factor analysis, parallel analysis and scree eigenvalues.

:func:`efa` extracts factors from the item correlation matrix by iterated principal axis
(``method="pa"``) or maximum likelihood (``"ml"``) and rotates them (varimax, promax,
oblimin) with the algorithms R's psych ``fa`` uses, so a fit with psych's convergence
settings reproduces psych's numbers; the defaults iterate further (see :func:`efa`).
:func:`parallel_analysis` is Horn's (1965) test for the number of factors and
:func:`scree` gives the eigenvalues for a scree plot.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from spillover._validate import preview, user_stacklevel
from spillover.errors import ConvergenceError, ImproperSolutionWarning, SpecificationError
from spillover.survey import _extract, _rotate
from spillover.survey._data import Missing, check_items, check_missing, correlations
from spillover.survey._parallel import ParallelAnalysis, parallel_analysis, scree

__all__ = ["EFAResult", "ParallelAnalysis", "efa", "parallel_analysis", "scree"]

Method = Literal["pa", "ml"]
RotationName = Literal["varimax", "promax", "oblimin"]


@dataclass(frozen=True)
class EFAResult:
    """An exploratory factor solution (see :func:`efa`).

    Attributes
    ----------
    loadings : pandas.DataFrame
        Pattern loadings, items x factors (``F1``, ``F2``, ...): for orthogonal rotations
        also the item-factor correlations.
    structure : pandas.DataFrame
        Structure matrix, loadings @ phi: item-factor correlations.
    phi : pandas.DataFrame
        Factor correlations (identity unless the rotation is oblique).
    communalities, uniquenesses : pandas.Series
        h2 = diag(L phi L') (ML: 1 - psi at the optimum) and u2 = 1 - h2.
    variance : pandas.DataFrame
        Per factor: ``ss_loadings`` (diag(phi L'L), psych's convention for oblique
        solutions), ``proportion`` (ss / items) and ``cumulative``.
    method, rotation, missing : str
        Extraction, rotation (``"none"`` if None) and missing-data rule.
    n_obs : int
        Respondents the correlations rest on (all rows under pairwise deletion).
    n_iter : int
        Extraction iterations used; ``converged`` whether its criterion was met.
    criterion : float
        PA: last change of the sum of communalities; ML: largest free gradient component.
    objective, chi2, df, pvalue : float or None
        ML only: the discrepancy F, Bartlett's chi-square (n - 1 - (2p + 5)/6 - 2k/3) F on
        df = ((p - k)^2 - (p + k)) / 2, as ``factanal`` and psych's ``STATISTIC``.
    """

    loadings: pd.DataFrame
    structure: pd.DataFrame
    phi: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    variance: pd.DataFrame
    method: str
    rotation: str
    missing: str
    n_obs: int
    n_iter: int
    converged: bool
    criterion: float
    objective: float | None = None
    chi2: float | None = None
    df: int | None = None
    pvalue: float | None = None

    def to_frame(self) -> pd.DataFrame:
        """Loadings with communality h2 and uniqueness u2 columns, one row per item."""
        return self.loadings.assign(h2=self.communalities, u2=self.uniquenesses)

    def summary(self) -> str:
        """Loadings, variance explained, factor correlations and fit as text."""
        head = (
            f"Exploratory factor analysis: {self.method.upper()}, rotation {self.rotation}, "
            f"{self.loadings.shape[1]} factors, n = {self.n_obs} ({self.missing} deletion)"
        )
        parts = [head, self.to_frame().to_string(float_format=lambda v: f"{v:.3f}")]
        parts.append(self.variance.T.to_string(float_format=lambda v: f"{v:.3f}"))
        if self.rotation in ("promax", "oblimin"):
            parts += ["Factor correlations:", self.phi.to_string(float_format="{:.3f}".format)]
        if self.chi2 is not None:
            parts.append(f"chi2({self.df}) = {self.chi2:.3f}, p = {self.pvalue:.4g}")
        parts.append(f"{self.n_iter} iterations, criterion {self.criterion:.2g}")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.summary()


def _check_n_factors(n_factors: int, p: int, method: str) -> None:
    df = ((p - n_factors) ** 2 - (p + n_factors)) / 2
    if not isinstance(n_factors, int | np.integer) or n_factors < 1 or df < 0:
        raise SpecificationError(
            f"n_factors = {n_factors!r} is not identifiable with {p} items ({method}): the "
            "model needs ((p - k)^2 - (p + k)) / 2 >= 0 degrees of freedom, so at most "
            f"{max(k for k in range(p + 1) if (p - k) ** 2 >= p + k)} factors."
        )


def _extract_factors(r, n_factors, method, tol, max_iter, names) -> _extract.Extraction:
    if method == "pa":
        fit = _extract.principal_axis(r, n_factors, tol=tol, max_iter=max_iter)
    elif method == "ml":
        fit = _extract.maximum_likelihood(r, n_factors, tol=tol, max_iter=max_iter)
    else:
        raise SpecificationError(f"method must be 'pa' or 'ml', got {method!r}.")
    if not fit.converged:
        over = [names[i] for i in np.flatnonzero(~(fit.communalities < 1.0))]
        heywood = f"; items {preview(over)} reach communality >= 1 (Heywood)" if over else ""
        raise ConvergenceError(
            f"{method.upper()} extraction did not converge in {fit.n_iter} iterations "
            f"(criterion {fit.criterion:.3g}, tol {tol:g}){heywood}; raise max_iter, "
            "loosen tol or extract fewer factors."
        )
    return fit


def _rotate_factors(a, rotation, rotation_tol) -> _rotate.Rotation:
    k = a.shape[1]
    if rotation is None or k == 1:
        return _rotate.Rotation(a, np.eye(k), np.eye(k), 0, True)
    rotators = {"varimax": _rotate.varimax, "promax": _rotate.promax, "oblimin": _rotate.oblimin}
    if rotation not in rotators:
        raise SpecificationError(
            f"rotation must be one of 'varimax', 'promax', 'oblimin' or None, got {rotation!r}."
        )
    rot = rotators[rotation](a, eps=rotation_tol)
    if not rot.converged:
        raise ConvergenceError(
            f"{rotation} rotation did not converge in {rot.n_iter} iterations "
            f"(tol {rotation_tol:g}); loosen rotation_tol."
        )
    return rot


def _orient(loadings: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip each factor so its largest absolute loading is positive; order by SS loadings."""
    signs = np.sign(loadings[np.abs(loadings).argmax(axis=0), np.arange(loadings.shape[1])])
    signs[signs == 0] = 1.0
    loadings, phi = loadings * signs, phi * np.outer(signs, signs)
    order = np.argsort(-np.diag(phi @ loadings.T @ loadings), kind="stable")
    return loadings[:, order], phi[np.ix_(order, order)]


def _heywood(communalities: pd.Series, method: str) -> None:
    limit = 1.0 - _extract.PSI_LOWER - 1e-8 if method == "ml" else 1.0
    bad = communalities.index[communalities.to_numpy() >= limit]
    if len(bad):
        warnings.warn(
            f"Heywood case: items {preview(bad)} have communality >= {limit:.3g} "
            f"({', '.join(f'{communalities[b]:.4f}' for b in bad[:5])}); the solution is "
            "improper. Extract fewer factors or check these items.",
            ImproperSolutionWarning,
            stacklevel=user_stacklevel(),
        )


def _variance(loadings: np.ndarray, phi: np.ndarray, names: list[str]) -> pd.DataFrame:
    ss = np.diag(phi @ loadings.T @ loadings)
    prop = ss / loadings.shape[0]
    return pd.DataFrame(
        {"ss_loadings": ss, "proportion": prop, "cumulative": np.cumsum(prop)},
        index=pd.Index(names, name="factor"),
    )


def _ml_fit(fit: _extract.Extraction, n: int, p: int, k: int) -> dict[str, float | int]:
    df = int(((p - k) ** 2 - (p + k)) // 2)
    chi2 = (n - 1 - (2 * p + 5) / 6 - 2 * k / 3) * fit.objective
    pvalue = float(stats.chi2.sf(chi2, df)) if df > 0 else float("nan")
    return {"objective": fit.objective, "chi2": float(chi2), "df": df, "pvalue": pvalue}


def efa(
    items: pd.DataFrame,
    n_factors: int,
    *,
    method: Method = "pa",
    rotation: RotationName | None = "varimax",
    missing: Missing = "listwise",
    tol: float | None = None,
    max_iter: int = 1000,
    rotation_tol: float | None = None,
) -> EFAResult:
    """Exploratory factor analysis of the item correlation matrix.

    Parameters
    ----------
    items : pandas.DataFrame
        Rows respondents, numeric item columns; NaN allowed (see ``missing``).
    n_factors : int
        Factors to extract; at most the Ledermann bound ((p - k)^2 >= p + k).
    method : {"pa", "ml"}, default "pa"
        Iterated principal axis (psych ``fm="pa"``, SPSS "principal axis factoring") or
        maximum likelihood (psych ``fm="ml"``, ``factanal``).
    rotation : {"varimax", "promax", "oblimin"} or None, default "varimax"
        As psych's ``rotate=``: varimax (``stats::varimax``, Kaiser-normalised), promax
        (Kaiser-normalised, power 4) or direct oblimin (quartimin, gamma 0, GPArotation).
    missing : {"listwise", "pairwise"}, default "listwise"
        Respondents with any missing item dropped, or each correlation from the pairs
        answering both items.
    tol : float, optional
        PA: stop when the sum of communalities changes by at most ``tol`` (default 1e-12;
        psych's ``min.err`` is 0.001). ML: projected-gradient tolerance of L-BFGS-B
        (default 1e-8; psych and factanal use optim's default ``factr = 1e7``).
    max_iter : int, default 1000
        Iteration limit of the extraction (psych's PA: ``max.iter = 50``).
    rotation_tol : float, optional
        Varimax and promax: stop when the criterion grows by a factor below
        1 + ``rotation_tol`` (``stats::varimax``'s ``eps``; default 1e-14, loadings then
        within about 1e-8 of the optimum). Oblimin: projected-gradient norm (GPArotation's
        ``eps``; default 1e-8, about where rounding stops the line search). psych uses
        1e-5 for both; pass ``rotation_tol=1e-5`` to reproduce psych exactly.

    Returns
    -------
    EFAResult

    Raises
    ------
    SpecificationError
        Too many factors, an unknown method or rotation, too few respondents.
    ConvergenceError
        The extraction or rotation did not meet its criterion.

    Warns
    -----
    ImproperSolutionWarning
        An item's communality reaches 1 (PA) or the ML bound 0.995, named by item.

    Notes
    -----
    Sign and order: each factor's largest absolute loading is made positive (psych makes
    the column sum positive; the two agree unless a factor is bipolar) and factors are
    ordered by decreasing SS loadings diag(phi L'L), as psych. With ``tol=1e-3,
    max_iter=50, rotation_tol=1e-5``, ``method="pa"`` reproduces psych's defaults.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> items = holzinger39.get_data()[[f"x{i}" for i in range(1, 10)]]
    >>> res = efa(items, 3, method="ml", rotation="promax")
    >>> res.loadings.round(2).loc["x4"].tolist()
    [0.84, 0.0, 0.01]
    """
    frame = check_items(items)
    missing = check_missing(missing)
    p = frame.shape[1]
    _check_n_factors(n_factors, p, method)
    r, n = correlations(frame, missing)
    tol = tol if tol is not None else (1e-12 if method == "pa" else 1e-8)
    if rotation_tol is None:
        rotation_tol = 1e-8 if rotation == "oblimin" else 1e-14
    fit = _extract_factors(r, int(n_factors), method, tol, max_iter, list(frame.columns))
    rot = _rotate_factors(fit.loadings, rotation, rotation_tol)
    loadings, phi = _orient(rot.loadings, rot.phi)
    names = [f"F{j + 1}" for j in range(loadings.shape[1])]
    idx = pd.Index(frame.columns, name="item")
    comm = pd.Series(fit.communalities, index=idx, name="h2")
    _heywood(comm, method)
    ml = _ml_fit(fit, n, p, int(n_factors)) if method == "ml" else {}
    return EFAResult(
        loadings=pd.DataFrame(loadings, index=idx, columns=names),
        structure=pd.DataFrame(loadings @ phi, index=idx, columns=names),
        phi=pd.DataFrame(phi, index=names, columns=names),
        communalities=comm,
        uniquenesses=(1.0 - comm).rename("u2"),
        variance=_variance(loadings, phi, names),
        method=method,
        rotation=rotation or "none",
        missing=missing,
        n_obs=n,
        n_iter=fit.n_iter,
        converged=fit.converged,
        criterion=fit.criterion,
        **ml,
    )
