"""Horn's parallel analysis and the eigenvalues of a scree plot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg
from tqdm import tqdm

from spillover._typing import FloatArray
from spillover._validate import as_rng
from spillover.errors import SpecificationError
from spillover.survey._data import Missing, check_items, check_missing, correlations
from spillover.survey._extract import smc


def _eigenvalues(r: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Descending eigenvalues of R (components) and of R with the SMC on its diagonal."""
    reduced = r.copy()
    np.fill_diagonal(reduced, smc(r))
    pc = linalg.eigvalsh(r, check_finite=False)[::-1]
    return pc, linalg.eigvalsh(reduced, check_finite=False)[::-1]


def _correlations(items: pd.DataFrame, missing: Missing) -> tuple[FloatArray, int, list[str]]:
    frame = check_items(items)
    r, n = correlations(frame, check_missing(missing))
    return r, n, list(frame.columns)


def scree(items: pd.DataFrame, *, missing: Missing = "listwise") -> pd.DataFrame:
    """Eigenvalues for a scree plot: of the correlation matrix and of the reduced one.

    Parameters
    ----------
    items : pandas.DataFrame
        Rows respondents, numeric item columns.
    missing : {"listwise", "pairwise"}, default "listwise"
        How missing answers enter the correlations.

    Returns
    -------
    pandas.DataFrame
        Indexed 1..p (``number``): ``components`` (eigenvalues of R, principal components)
        and ``factors`` (eigenvalues of R with squared multiple correlations on the
        diagonal, as psych's ``fa.parallel(SMC = TRUE)``), both descending.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> scree(holzinger39.get_data()[[f"x{i}" for i in range(1, 10)]]).round(3).iloc[0]
    components    3.216
    factors       2.712
    Name: 1, dtype: float64
    """
    r, _, _ = _correlations(items, missing)
    pc, fa = _eigenvalues(r)
    index = pd.RangeIndex(1, len(pc) + 1, name="number")
    return pd.DataFrame({"components": pc, "factors": fa}, index=index)


@dataclass(frozen=True)
class ParallelAnalysis:
    """Observed and simulated eigenvalues (see :func:`parallel_analysis`).

    Attributes
    ----------
    eigenvalues : pandas.DataFrame
        Indexed 1..p: ``observed_components``, ``mean_components``,
        ``percentile_components`` and the same three for ``factors`` (reduced matrix).
    n_factors, n_components : int
        Leading observed eigenvalues above the simulated percentile (factors: reduced
        matrix; components: R), counted until the first one that is not.
    n_obs, n_iter, percentile, seed, missing :
        The settings used.
    """

    eigenvalues: pd.DataFrame
    n_factors: int
    n_components: int
    n_obs: int
    n_iter: int
    percentile: float
    seed: int | None
    missing: str

    def to_frame(self) -> pd.DataFrame:
        """The eigenvalue table."""
        return self.eigenvalues

    def summary(self) -> str:
        """The eigenvalue table and the suggested numbers, as text."""
        head = (
            f"Parallel analysis (Horn 1965): {self.n_iter} simulated normal data sets of "
            f"n = {self.n_obs} ({self.missing} deletion), {self.percentile:g}th percentile"
        )
        tail = f"Suggested: {self.n_factors} factors, {self.n_components} components"
        body = self.eigenvalues.to_string(float_format=lambda v: f"{v:.3f}")
        return "\n".join([head, body, tail])

    def __str__(self) -> str:
        return self.summary()


def _leading_above(observed: FloatArray, threshold: FloatArray) -> int:
    above = observed > threshold
    return int(len(above) if above.all() else np.argmin(above))


def parallel_analysis(
    items: pd.DataFrame,
    *,
    n_iter: int = 500,
    seed: int | None = None,
    percentile: float = 95,
    missing: Missing = "listwise",
    progress: bool = False,
) -> ParallelAnalysis:
    """Horn's (1965) parallel analysis for the number of factors and components.

    Parameters
    ----------
    items : pandas.DataFrame
        Rows respondents, numeric item columns.
    n_iter : int, default 500
        Simulated data sets: n x p independent standard normals, n the respondents the
        observed correlations rest on (psych ``fa.parallel(sim = TRUE)``).
    seed : int, optional
        Seed of the generator (``numpy.random.default_rng``); never global state.
    percentile : float, default 95
        Threshold percentile of the simulated eigenvalues (Glorfeld 1995); 50 is close to
        Horn's mean criterion.
    missing : {"listwise", "pairwise"}, default "listwise"
        How missing answers enter the observed correlations.
    progress : bool, default False
        Show a progress bar over the simulated data sets.

    Returns
    -------
    ParallelAnalysis

    Notes
    -----
    Observed eigenvalues are those of :func:`scree`; for factors the reduced matrix has the
    SMC on its diagonal in observed and simulated data alike (psych's ``SMC = TRUE``).

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> items = holzinger39.get_data()[[f"x{i}" for i in range(1, 10)]]
    >>> pa = parallel_analysis(items, n_iter=100, seed=1)
    >>> pa.n_factors, pa.n_components
    (3, 3)
    """
    if not (0 < percentile < 100) or int(n_iter) < 1:
        raise SpecificationError(
            f"need 0 < percentile < 100 and n_iter >= 1, got {percentile!r} and {n_iter!r}."
        )
    r, n, _ = _correlations(items, missing)
    obs_pc, obs_fa = _eigenvalues(r)
    rng = as_rng(seed)
    p = r.shape[0]
    sims = np.empty((int(n_iter), 2, p))
    for i in tqdm(range(int(n_iter)), desc="parallel analysis", disable=not progress):
        sims[i] = _eigenvalues(np.corrcoef(rng.standard_normal((n, p)), rowvar=False))
    mean, pct = sims.mean(axis=0), np.percentile(sims, percentile, axis=0)
    table = pd.DataFrame(
        {
            "observed_components": obs_pc,
            "mean_components": mean[0],
            "percentile_components": pct[0],
            "observed_factors": obs_fa,
            "mean_factors": mean[1],
            "percentile_factors": pct[1],
        },
        index=pd.RangeIndex(1, p + 1, name="number"),
    )
    return ParallelAnalysis(
        table,
        n_factors=_leading_above(obs_fa, pct[1]),
        n_components=_leading_above(obs_pc, pct[0]),
        n_obs=n,
        n_iter=int(n_iter),
        percentile=float(percentile),
        seed=seed,
        missing=missing,
    )
