"""Nonparametric bootstrap of the indirect effects: resampling and the two intervals.

Arrays in, arrays out. Resampling draws rows (or whole clusters) with replacement from
one ``numpy.random.Generator``; the intervals are computed from the draws alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from scipy import stats
from tqdm.auto import tqdm

from spillover._typing import FloatArray, IntArray
from spillover.errors import SpecificationError

Interval = Literal["percentile", "bc"]


def resample(
    statistic: Callable[[IntArray], FloatArray],
    n_draws: int,
    rng: np.random.Generator,
    *,
    clusters: IntArray | None = None,
    n_rows: int,
    progress: bool = False,
) -> tuple[FloatArray, int]:
    """``statistic(rows)`` on ``n_draws`` bootstrap samples, one row of output per draw.

    Without ``clusters``, each draw takes ``rng.integers(0, N, size=N)`` as its rows.
    With ``clusters`` (codes 0..G-1), each draw takes ``rng.integers(0, G, size=G)`` as
    its clusters and then every row of each drawn cluster, as often as it was drawn.
    A draw whose statistic is not finite (a singular sample) is discarded and replaced
    by the next, as PROCESS does; returns the draws and the number replaced.

    Raises
    ------
    SpecificationError
        If more draws are singular than ``n_draws``: the data are too few for the bootstrap.
    """
    if clusters is None:
        members = None
        size = n_rows
    else:
        order = np.argsort(clusters, kind="stable")
        bounds = np.cumsum(np.bincount(clusters))
        members = np.split(order, bounds[:-1])
        size = len(members)
    out: list[FloatArray] = []
    replaced = 0
    with tqdm(total=n_draws, desc="bootstrap draws", disable=not progress) as bar:
        while len(out) < n_draws:
            pick = rng.integers(0, size, size=size)
            rows = pick if members is None else np.concatenate([members[g] for g in pick])
            value = statistic(rows)
            if np.isfinite(value).all():
                out.append(value)
                bar.update()
                continue
            replaced += 1
            if replaced > n_draws:
                raise SpecificationError(
                    f"{replaced} bootstrap samples had collinear or constant regressors: "
                    "too few observations (or clusters) for the bootstrap of this model."
                )
    return np.asarray(out), replaced


def percentile_interval(draws: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    """Percentile interval: the ``(1-level)/2`` and ``(1+level)/2`` quantiles of the draws.

    Quantiles interpolate linearly between order statistics (Hyndman and Fan type 7,
    numpy's and R's default). ``draws`` has one column per effect.
    """
    alpha = 1 - level
    return _quantiles(
        draws, np.full(draws.shape[1], alpha / 2), np.full(draws.shape[1], 1 - alpha / 2)
    )


def bc_interval(
    draws: FloatArray, estimate: FloatArray, level: float
) -> tuple[FloatArray, FloatArray]:
    """Bias-corrected (BC) interval of Efron (1987), as in PROCESS.

    ``z0 = Phi^-1(p0)``, ``p0`` the share of draws strictly below the estimate; the bounds
    are the type 7 quantiles of the draws at ``Phi(2 z0 + z_{alpha/2})`` and
    ``Phi(2 z0 + z_{1-alpha/2})``, ``alpha = 1 - level``. When every draw lies on one
    side of the estimate, z0 is infinite and the bounds are NaN.
    """
    alpha = 1 - level
    p0 = np.mean(draws < estimate[None, :], axis=0)
    with np.errstate(divide="ignore"):
        z0 = stats.norm.ppf(p0)
    low = stats.norm.cdf(2 * z0 + stats.norm.ppf(alpha / 2))
    high = stats.norm.cdf(2 * z0 + stats.norm.ppf(1 - alpha / 2))
    bad = ~np.isfinite(z0)
    lower, upper = _quantiles(draws, np.where(bad, 0.5, low), np.where(bad, 0.5, high))
    return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)


def interval(
    draws: FloatArray, estimate: FloatArray, level: float, method: Interval
) -> tuple[FloatArray, FloatArray]:
    """The ``method`` interval ("percentile" or "bc") for each column of ``draws``."""
    if method == "percentile":
        return percentile_interval(draws, level)
    if method == "bc":
        return bc_interval(draws, estimate, level)
    raise SpecificationError(f"ci must be 'percentile' or 'bc'; got {method!r}.")


def _quantiles(
    draws: FloatArray, low: FloatArray, high: FloatArray
) -> tuple[FloatArray, FloatArray]:
    cols = range(draws.shape[1])
    lower = np.array([np.quantile(draws[:, j], low[j]) for j in cols])
    upper = np.array([np.quantile(draws[:, j], high[j]) for j in cols])
    return lower, upper
