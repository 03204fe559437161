"""Cross-sectional dependence of residuals: Pesaran CD (and LM) and Moran's I by period."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from spillover._typing import FloatArray
from spillover.diagnostics.specification._common import (
    TestResult,
    _residual_series,
)
from spillover.errors import SpecificationError
from spillover.measures._moran import moran
from spillover.weights import as_weights


def pesaran_cd(residuals: Any, *, test: Literal["cd", "lm", "sclm"] = "cd") -> TestResult:
    """Pesaran (2004) CD test, or the Breusch-Pagan / scaled LM tests, from residuals.

    Parameters
    ----------
    residuals : pandas.Series or results
        Residuals indexed by (entity, time), or a results object with ``residuals``.
    test : {"cd", "lm", "sclm"}, default "cd"
        ``"cd"``: ``sqrt(2/(N(N-1))) sum_{i<j} sqrt(T_ij) rho_ij``, normal, two-sided;
        ``"lm"``: Breusch-Pagan (1980) ``sum T_ij rho_ij^2``, chi2 with N(N-1)/2 df;
        ``"sclm"``: scaled LM ``sqrt(1/(N(N-1))) sum (T_ij rho_ij^2 - 1)``, normal.

    Returns
    -------
    TestResult

    Notes
    -----
    ``rho_ij`` is the Pearson correlation of units i and j over the ``T_ij`` periods both
    are observed (unbalanced panels), pairs with ``T_ij <= 1`` are left out and N(N-1)/2
    is replaced by the number of pairs used: exactly plm's ``pcdtest``. Memory grows
    with N^2 (it is computed in blocks of units); meant for regions, not 10^5 firms.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> idx = pd.MultiIndex.from_product([range(20), range(10)], names=["region", "year"])
    >>> shock = np.tile(rng.normal(size=10), 20)  # a common shock hits every region
    >>> res = pesaran_cd(pd.Series(shock + 0.5 * rng.normal(size=200), index=idx))
    >>> res.statistic > 10, res.pvalue < 0.01
    (True, True)
    """
    r = _residual_series(residuals)
    wide = r.unstack(level=1).to_numpy(dtype=float).T  # periods x units
    t_ij, rho = _pairwise_correlations(wide)
    keep = t_ij > 1
    t_ij, rho = t_ij[keep], rho[keep]
    pairs = len(rho)
    if pairs == 0:
        raise SpecificationError("no pair of units shares two or more periods.")
    if test == "cd":
        stat = float(np.sqrt(1 / pairs) * np.sum(np.sqrt(t_ij) * rho))
        name, df, p, dist = "Pesaran (2004) CD test", None, 2 * stats.norm.sf(abs(stat)), "normal"
    elif test == "lm":
        stat = float(np.sum(t_ij * rho**2))
        name, df, dist = "Breusch-Pagan LM test for cross-sectional dependence", pairs, "chi2"
        p = stats.chi2.sf(stat, pairs)
    elif test == "sclm":
        stat = float(np.sqrt(1 / (2 * pairs)) * np.sum(t_ij * rho**2 - 1))
        name, df, dist = "Scaled LM test for cross-sectional dependence", None, "normal"
        p = 2 * stats.norm.sf(abs(stat))
    else:
        raise SpecificationError(f"test must be 'cd', 'lm' or 'sclm', got {test!r}.")
    return TestResult(name, stat, df, float(p), dist, "no cross-sectional dependence")


def _pairwise_correlations(wide: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(T_ij, rho_ij) for i < j over common periods, in blocks of rows."""
    present = ~np.isnan(wide)
    m, x = present.astype(float), np.where(present, wide, 0.0)
    n = wide.shape[1]
    block = max(1, min(n, 2_000_000 // max(n, 1)))
    out_t, out_r = [], []
    for start in range(0, n, block):
        rows = slice(start, min(n, start + block))
        cnt = m[:, rows].T @ m
        sx, sy = x[:, rows].T @ m, m[:, rows].T @ x
        sxx, syy, sxy = (x[:, rows] ** 2).T @ m, m[:, rows].T @ x**2, x[:, rows].T @ x
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = sxy - sx * sy / cnt
            rho = cov / np.sqrt((sxx - sx**2 / cnt) * (syy - sy**2 / cnt))
        i, j = np.nonzero(np.arange(start, rows.stop)[:, None] < np.arange(n)[None, :])
        out_t.append(cnt[i, j])
        out_r.append(rho[i, j])
    t_ij, rho = np.concatenate(out_t), np.concatenate(out_r)
    return np.where(np.isfinite(rho), t_ij, 0.0), np.nan_to_num(rho)


def moran_by_period(residuals: Any, w: Any, *, row_standardize: bool = True) -> pd.DataFrame:
    """Moran's I of residuals in each period of a (possibly unbalanced) panel, matched by id.

    Parameters
    ----------
    residuals : pandas.Series or results
        Residuals indexed by (entity, time), or a results object with ``residuals``.
    w : Weights or libpysal W/Graph
        Weights whose ids include every entity; matched by id, never by position
        (:func:`spillover.weights.as_weights`; a bare matrix is refused).
    row_standardize : bool, default True
        Restrict W to the units present in the period, then row-standardise (esda's
        ``transformation="r"``); False uses W's values as they are.

    Returns
    -------
    pandas.DataFrame
        Indexed by period: ``n``, ``statistic`` (I), ``expected`` (-1/(n-1)), ``variance``
        and ``z`` under normality, two-sided ``pvalue``.

    Notes
    -----
    ``I = (n / S0) z'Wz / z'z`` with ``z`` the period's residuals centred, moments as
    esda's ``EI``, ``VI_norm``, ``p_norm``, from the kernel shared with
    :func:`spillover.measures.morans_i` and
    :func:`spillover.diagnostics.spatial.moran_by_period_stacked` (balanced,
    stacked arrays). The moments treat residuals as data (no correction for the
    estimated coefficients).
    """
    r = _residual_series(residuals)
    w = as_weights(w, what="entities of the residuals")
    rows = []
    for period, values in r.groupby(level=1, sort=True):
        sub = w.subset(values.index.get_level_values(0))
        m = sub.row_standardize(zero_rows="keep").matrix if row_standardize else sub.matrix
        out = moran(values.to_numpy(dtype=float), m)
        rows.append(
            {
                "period": period,
                "n": out.n,
                "statistic": out.statistic,
                "expected": out.expected,
                "variance": out.variance_norm,
                "z": out.z_norm,
                "pvalue": out.p_norm,
            }
        )
    return pd.DataFrame(rows).set_index("period")
