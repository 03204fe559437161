"""Item statistics, scale reliability and sampling adequacy of questionnaire items.

Every number follows R's psych (2.2.9) so that published tables can be matched:
:func:`item_statistics` is ``describe(type = 3)``, :func:`reliability` is ``alpha`` (raw and
standardized alpha, Feldt's interval, alpha if item deleted, ``r.drop``) plus omega total
from a one-factor model (``omega(nfactors = 1)``), :func:`kmo` is ``KMO`` and
:func:`bartlett_sphericity` is ``cortest.bartlett``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import linalg, stats

from spillover._typing import FloatArray
from spillover._validate import preview
from spillover.errors import SpecificationError
from spillover.survey._data import (
    Missing,
    check_constructs,
    check_items,
    check_missing,
    correlation,
    correlations,
    covariance,
)
from spillover.survey._extract import principal_axis
from spillover.survey._reliability_results import (
    KMO,
    Bartlett,
    ConstructReliability,
    Reliability,
)

__all__ = [
    "KMO",
    "Bartlett",
    "ConstructReliability",
    "Reliability",
    "bartlett_sphericity",
    "item_statistics",
    "kmo",
    "reliability",
]


def item_statistics(items: pd.DataFrame) -> pd.DataFrame:
    """Descriptive statistics per item, each from that item's non-missing answers.

    Returns
    -------
    pandas.DataFrame
        One row per item: ``n``, ``missing``, ``mean``, ``sd`` (ddof 1), ``min``, ``max``,
        ``skew`` and ``kurtosis``.

    Notes
    -----
    Skew and (excess) kurtosis are psych's ``describe`` default, type 3 (also SAS/SPSS's
    b1 and b2): skew = m3 / s^3 and kurtosis = m4 / s^4 - 3, with m_k = mean((x - xbar)^k)
    and s the ddof-1 standard deviation. SPSS and Stata print other types.

    Examples
    --------
    >>> import pandas as pd
    >>> stats = item_statistics(pd.DataFrame({"q1": [1, 2, 3, 4, None]}))
    >>> stats.loc["q1", ["n", "missing", "mean", "skew"]].tolist()
    [4.0, 1.0, 2.5, 0.0]
    """
    frame = check_items(items)
    centred = frame - frame.mean()
    sd = frame.std(ddof=1)
    return pd.DataFrame(
        {
            "n": frame.count(),
            "missing": frame.isna().sum(),
            "mean": frame.mean(),
            "sd": sd,
            "min": frame.min(),
            "max": frame.max(),
            "skew": (centred**3).mean() / sd**3,
            "kurtosis": (centred**4).mean() / sd**4 - 3.0,
        }
    ).rename_axis("item")


def _alpha(cov: FloatArray) -> float:
    """Cronbach's alpha k/(k - 1) (1 - tr(C) / 1'C1)."""
    k = cov.shape[0]
    return float(k / (k - 1) * (1.0 - np.trace(cov) / cov.sum()))


def _feldt(alpha: float, n: int, k: int, level: float) -> tuple[float, float]:
    """Feldt's (1965) interval from (1 - alpha_hat)/(1 - alpha) ~ F(n - 1, (n - 1)(k - 1))."""
    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1.0 - level) / 2
    lower = 1.0 - (1.0 - alpha) * stats.f.ppf(1.0 - tail, df1, df2)
    return float(lower), float(1.0 - (1.0 - alpha) * stats.f.ppf(tail, df1, df2))


def _omega_total(r: FloatArray, tol: float, max_iter: int) -> float:
    """Omega total (sum(R) - sum(u2)) / sum(R), u2 from a converged one-factor PA fit."""
    if r.shape[0] < 3:
        return float("nan")
    fit = principal_axis(r, 1, tol=tol, max_iter=max_iter)
    if not fit.converged:
        return float("nan")
    return float((r.sum() - (1.0 - fit.communalities).sum()) / r.sum())


def _construct(
    name: str, frame: pd.DataFrame, missing: Missing, level: float
) -> ConstructReliability:
    k = frame.shape[1]
    if k < 2:
        raise SpecificationError(
            f"construct {name!r} has {k} item ({preview(frame.columns)}); alpha and the "
            "other reliability coefficients need at least 2."
        )
    cov, n = covariance(frame, missing)
    r = correlation(cov)
    alpha = _alpha(cov)
    drop_alpha, drop_std, r_drop = [], [], []
    for i in range(k):
        keep = np.delete(np.arange(k), i)
        sub = cov[np.ix_(keep, keep)]
        drop_alpha.append(_alpha(sub) if k > 2 else np.nan)
        drop_std.append(_alpha(r[np.ix_(keep, keep)]) if k > 2 else np.nan)
        r_drop.append((cov[i].sum() - cov[i, i]) / np.sqrt(cov[i, i] * sub.sum()))
    idx = pd.Index(frame.columns, name="item")
    return ConstructReliability(
        construct=name,
        items=tuple(frame.columns),
        n_obs=n,
        alpha=alpha,
        alpha_ci=_feldt(alpha, n, k, level),
        std_alpha=_alpha(r),
        omega_total=_omega_total(r, tol=1e-12, max_iter=10000),
        alpha_if_deleted=pd.Series(drop_alpha, index=idx, name="alpha_if_deleted"),
        std_alpha_if_deleted=pd.Series(drop_std, index=idx, name="std_alpha_if_deleted"),
        item_total=pd.Series(r_drop, index=idx, name="item_total"),
    )


def reliability(
    items: pd.DataFrame,
    constructs: Mapping[str, Sequence[str]] | None = None,
    *,
    missing: Missing = "listwise",
    level: float = 0.95,
) -> Reliability:
    """Cronbach's alpha, its Feldt interval, standardized alpha and omega per construct.

    Parameters
    ----------
    items : pandas.DataFrame
        Rows respondents, numeric item columns. Reverse-keyed items must already be
        recoded (e.g. 6 - x on a 1-5 scale): nothing is reversed here.
    constructs : mapping of str to list of str, optional
        Items of each construct; all columns as one construct ``"all"`` when omitted.
    missing : {"listwise", "pairwise"}, default "listwise"
        ``listwise``: per construct, respondents missing any of its items are dropped.
        ``pairwise``: each covariance from the respondents answering both items (psych's
        ``alpha`` default); n is then all rows, as psych counts it for Feldt's interval.
    level : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    Reliability

    Raises
    ------
    SpecificationError
        A construct with fewer than 2 items, an unknown item, an item without variance.

    Notes
    -----
    - alpha = k/(k - 1) (1 - tr(C)/1'C1) from the item covariances C; standardized alpha is
      the same formula on the correlation matrix (psych ``raw_alpha``, ``std.alpha``).
    - Feldt's interval: [1 - (1 - alpha) F_{1-a/2}, 1 - (1 - alpha) F_{a/2}] with F on
      (n - 1, (n - 1)(k - 1)) df (psych's ``alpha.ci``, printed as "Feldt"; cocron's
      Feldt interval). The Duhachek interval is not given.
    - Omega total is psych's ``omega(R, nfactors = 1)$omega.tot``,
      (1'R1 - sum u2) / 1'R1, with u2 from a one-factor unweighted least squares fit of
      the correlation matrix (iterated principal axis to convergence, tol 1e-12 = psych's
      minres). It is NaN for two-item constructs (one factor is not identified).
      ``omegaFromSem`` (a lavaan CFA) differs.
    - ``alpha_if_deleted`` is raw alpha without the item (NaN for two-item constructs);
      ``item_total`` is the corrected item-total correlation, psych's ``r.drop``:
      cov(x_i, sum of the others) / sqrt(var x_i var(sum of the others)).

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> data = holzinger39.get_data()
    >>> rel = reliability(data, {"visual": ["x1", "x2", "x3"], "speed": ["x7", "x8", "x9"]})
    >>> round(rel["visual"].alpha, 3), round(rel["speed"].alpha, 3)
    (0.626, 0.688)
    """
    check_items(items, [])  # a DataFrame
    groups = check_constructs(items, constructs)
    frame = check_items(items, list(dict.fromkeys(c for g in groups.values() for c in g)))
    missing = check_missing(missing)
    if not 0 < level < 1:
        raise SpecificationError(f"level must lie between 0 and 1, got {level!r}.")
    results = tuple(_construct(name, frame[cols], missing, level) for name, cols in groups.items())
    return Reliability(constructs=results, missing=missing, level=level)


def _correlations(items: pd.DataFrame, missing: str) -> tuple[FloatArray, int, pd.Index]:
    frame = check_items(items)
    r, n = correlations(frame, check_missing(missing))
    return r, n, frame.columns


def _require_invertible(r: FloatArray, names: pd.Index, what: str) -> None:
    values, vectors = linalg.eigh(r)
    if values[0] > 1e-10 * values[-1]:
        return
    involved = names[np.abs(vectors[:, 0]) > 0.1]
    raise SpecificationError(
        f"the item correlation matrix is singular (smallest eigenvalue {values[0]:.2g}), so "
        f"{what} does not exist: items {preview(involved)} are linearly dependent (a sum "
        "score, a duplicated item, or fewer respondents than items). Drop one of them."
    )


def kmo(items: pd.DataFrame, *, missing: Missing = "listwise") -> KMO:
    """Kaiser-Meyer-Olkin measure of sampling adequacy, overall and per item (MSA).

    KMO = sum r_ij^2 / (sum r_ij^2 + sum q_ij^2) over i != j, q_ij the partial correlations
    from R^-1 (the anti-image); per item the sums run over j only. As psych's ``KMO``.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> round(kmo(holzinger39.get_data()[[f"x{i}" for i in range(1, 10)]]).overall, 3)
    0.752
    """
    r, n, names = _correlations(items, missing)
    _require_invertible(r, names, "KMO")
    inv = linalg.inv(r)
    d = 1.0 / np.sqrt(np.diag(inv))
    q = inv * d[:, None] * d[None, :]
    r2, q2 = r**2, q**2
    np.fill_diagonal(r2, 0.0)
    np.fill_diagonal(q2, 0.0)
    overall = r2.sum() / (r2.sum() + q2.sum())
    per_item = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    msa = pd.Series(per_item, index=pd.Index(names, name="item"), name="msa")
    return KMO(overall=float(overall), items=msa, n_obs=n, missing=missing)


def bartlett_sphericity(items: pd.DataFrame, *, missing: Missing = "listwise") -> Bartlett:
    """Bartlett's (1951) test that the item correlation matrix is the identity.

    chi2 = -(n - 1 - (2p + 5)/6) log|R| on p(p - 1)/2 df, as psych's
    ``cortest.bartlett`` (n = all rows under pairwise deletion, as psych counts them).

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> test = bartlett_sphericity(holzinger39.get_data()[[f"x{i}" for i in range(1, 10)]])
    >>> round(test.statistic, 2), test.df
    (904.1, 36)
    """
    r, n, names = _correlations(items, missing)
    _require_invertible(r, names, "Bartlett's test")
    p = r.shape[0]
    _, logdet = np.linalg.slogdet(r)
    statistic = -(n - 1 - (2 * p + 5) / 6) * logdet
    df = p * (p - 1) // 2
    return Bartlett(
        statistic=float(statistic),
        df=df,
        pvalue=float(stats.chi2.sf(statistic, df)),
        n_obs=n,
        missing=missing,
    )
