"""Global Moran's I per period (shared sparse kernel) and local Moran (LISA, by esda)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from spillover._validate import as_rng, preview
from spillover.errors import AlignmentError, SpecificationError
from spillover.measures._common import period_rows, values
from spillover.measures._moran import (
    Transformation,
    moran,
    moran_permutation_pvalue,
    moran_sums,
    transform_weights,
)
from spillover.measures._pools import weights_by_period
from spillover.panel import Panel
from spillover.weights._base import Weights

QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}


def morans_i(
    panel: Panel,
    column: str,
    w: Weights | Any | Mapping[Any, Weights | Any],
    *,
    permutations: int = 999,
    seed: int | np.random.Generator | None = None,
    transformation: Transformation = "r",
    two_tailed: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """Global Moran's I of ``column`` in each period, with esda's moments and p-values.

    Parameters
    ----------
    panel : Panel
        Entity-period panel.
    column : str
        Variable to test; must be complete.
    w : Weights, libpysal W/Graph, or mapping period -> weights
        Matched to the panel by entity id (see :func:`spillover_pool`). In each period
        the weights are restricted to the entities observed in it.
    permutations : int, default 999
        Random permutations for ``p_sim`` (0: none, ``p_sim`` is NaN).
    seed : int or numpy Generator, optional
        Makes ``p_sim`` reproducible. Permutations are drawn as esda draws them, from
        numpy's legacy generator: period k (0-based) uses ``RandomState(seed + k)``, which
        gives exactly the ``p_sim`` of ``np.random.seed(seed + k); esda.Moran(...)``
        without touching the caller's global state. A Generator supplies the integer
        seed. Without a seed, the integer comes from fresh entropy (never numpy's global
        state): ``p_sim`` then differs between calls.
    transformation : str, default "r"
        esda's weights transformation, applied after the restriction to the period's
        entities (``"r"``: row-standardised; ``"b"``: binary; ``"o"``: as given; ``"v"``:
        variance-stabilising; ``"d"``: divided by the sum of all weights).
    two_tailed : bool, default True
        Two-tailed normal p-values (esda's default).
    progress : bool, default False
        Progress bar over periods.

    Returns
    -------
    pandas.DataFrame
        One row per period: ``n``, ``I``, ``EI`` (-1/(n-1)), ``z_norm``, ``p_norm``
        (normality assumption), ``z_rand``, ``p_rand`` (randomisation assumption),
        ``p_sim`` (pseudo p-value, (larger + 1) / (permutations + 1), one-sided in
        the direction of the observed I, as in esda).

    Notes
    -----
    Each period is one call of the shared kernel
    :func:`spillover.measures._moran.moran` on the sparse weights (never densified):
    ``I = (n / S0) z'Wz / z'z``, ``EI``, ``VI_norm``, ``VI_rand`` and the p-values with
    esda's formulas and order of operations, so ``esda.Moran`` on the same period gives
    the same numbers to rounding and, with the same seed, the same ``p_sim``.

    Examples
    --------
    >>> import numpy as np, pandas as pd, scipy.sparse as sp
    >>> from spillover import Panel
    >>> from spillover.weights import Weights
    >>> from spillover.measures import morans_i
    >>> n = 10
    >>> ring = sp.csr_array(np.roll(np.eye(n), 1, axis=1) + np.roll(np.eye(n), -1, axis=1))
    >>> df = pd.DataFrame({"r": range(n), "year": 2000, "y": np.arange(n, dtype=float)})
    >>> res = morans_i(Panel(df, entity="r", time="year"), "y", Weights(ring, range(n)),
    ...                permutations=99, seed=1)
    >>> round(float(res.loc[2000, "I"]), 4), round(float(res.loc[2000, "EI"]), 4)
    (0.4545, -0.1111)
    """
    x = values(panel, column)
    base = _seed_base(seed)
    rows_out = {}
    periods = list(period_rows(panel))
    last, wm, sums = None, None, None
    for k, (period, y, sub) in enumerate(
        tqdm(
            _cross_sections(panel, x, w, periods),
            total=len(periods),
            desc="Moran's I",
            disable=not progress,
        )
    ):
        if sub is not last:  # static weights on complete periods: transformed once
            last, wm = sub, transform_weights(sub.matrix, transformation)
            sums = moran_sums(wm)
        m = moran(y, wm, sums=sums, two_tailed=two_tailed)
        p_sim = np.nan
        if permutations:
            p_sim = moran_permutation_pvalue(
                y, wm, m.statistic, permutations=permutations, rng=_permuter(base, k), sums=sums
            )
        rows_out[period] = {
            "n": m.n, "I": m.statistic, "EI": m.expected, "z_norm": m.z_norm,
            "p_norm": m.p_norm, "z_rand": m.z_rand, "p_rand": m.p_rand, "p_sim": p_sim,
        }  # fmt: skip
    out = pd.DataFrame.from_dict(rows_out, orient="index")
    out.index.name = panel.time_name
    return out


def lisa(
    panel: Panel,
    column: str,
    w: Weights | Any | Mapping[Any, Weights | Any],
    *,
    period: Any = None,
    permutations: int = 999,
    seed: int | np.random.Generator | None = None,
    alpha: float = 0.05,
    transformation: Transformation = "r",
) -> pd.DataFrame:
    """Local Moran's I (LISA) of one period, computed by ``esda.Moran_Local``.

    Parameters
    ----------
    panel, column, w
        As in :func:`morans_i`.
    period : optional
        The period to analyse; may be omitted when the panel has a single period.
    permutations : int, default 999
        Conditional permutations for ``p_sim``.
    seed : int or numpy Generator, optional
        Passed to esda's own ``seed`` argument (a Generator supplies the integer; without
        one, an integer from fresh entropy, never numpy's global state).
    alpha : float, default 0.05
        Significance level for ``significant`` and ``cluster``.
    transformation : str, default "r"
        esda's weights transformation, after restriction to the period's entities.

    Returns
    -------
    pandas.DataFrame
        Indexed by entity: ``Is`` (local statistics), ``EI`` (expectation under total
        randomisation), ``p_sim`` (esda's pseudo p-value (larger + 1) / (permutations +
        1), larger the number of conditional permutations at least as extreme in the
        direction of the observed I_i: esda's current "directed" alternative),
        ``quadrant`` (``"HH"``, ``"LH"``, ``"LL"``, ``"HL"``: the sign of the standardised
        value, then of its spatial lag; esda's q 1-4), ``significant`` (``p_sim <= alpha``) and
        ``cluster`` (the quadrant if significant, else ``"ns"``). ``attrs`` records
        ``alpha`` and ``permutations`` (read by :func:`spillover.report.figures.lisa_map`).

    Examples
    --------
    >>> import numpy as np, pandas as pd, scipy.sparse as sp
    >>> from spillover import Panel
    >>> from spillover.weights import Weights
    >>> from spillover.measures import lisa
    >>> n = 10
    >>> ring = sp.csr_array(np.roll(np.eye(n), 1, axis=1) + np.roll(np.eye(n), -1, axis=1))
    >>> df = pd.DataFrame({"r": range(n), "year": 2000, "y": np.arange(n, dtype=float)})
    >>> out = lisa(Panel(df, entity="r", time="year"), "y", Weights(ring, range(n)),
    ...            permutations=99, seed=1)
    >>> out["quadrant"].tolist()[:3]
    ['LH', 'LL', 'LL']
    """
    from esda.moran import Moran_Local

    if not 0 < alpha < 1:
        raise SpecificationError(f"alpha must be in (0, 1), got {alpha}.")
    if period is None:
        if panel.n_periods != 1:
            raise SpecificationError(
                f"the panel has {panel.n_periods} periods; choose one with period=..., "
                f"e.g. period={panel.periods[-1]!r}."
            )
        period = panel.periods[0]
    if period not in panel.periods:
        raise AlignmentError(f"period {period!r} is not in the panel ({preview(panel.periods)}).")
    x = values(panel, column)
    periods = [(p, rows) for p, rows in period_rows(panel) if p == period]
    _, y, sub = next(_cross_sections(panel, x, w, periods))
    wt = sub.to_libpysal()
    base = _seed_base(seed)
    with warnings.catch_warnings():
        # esda announces a future change of its default alternative; we keep "directed"
        warnings.filterwarnings("ignore", "The alternative hypothesis", DeprecationWarning)
        m = Moran_Local(y, wt, transformation=transformation, permutations=permutations, seed=base)
    ids = pd.Index(wt.id_order, name=panel.entity_name)
    quadrant = pd.Series(m.q, index=ids).map(QUADRANTS)
    p_sim = m.p_sim if permutations else np.full(len(y), np.nan)
    significant = pd.Series(p_sim <= alpha, index=ids)
    out = pd.DataFrame(
        {
            "Is": m.Is,
            "EI": m.EI,
            "p_sim": p_sim,
            "quadrant": quadrant,
            "significant": significant,
            "cluster": quadrant.where(significant, "ns"),
        },
        index=ids,
    )
    out.attrs = {"alpha": alpha, "permutations": permutations}
    return out


def _cross_sections(
    panel: Panel, x: np.ndarray, w: Any, periods: list[tuple[Any, np.ndarray]]
) -> Iterator[tuple[Any, np.ndarray, Weights]]:
    """Yield (period, y, weights over that period's entities, in y's order).

    A period whose entities are exactly the weights' ids, in order, gets the weights object
    itself (the same object every period for static weights); otherwise the sub-matrix.
    """
    for period, rows, wt, pos in weights_by_period(panel, w, periods):
        if len(pos) == wt.n and (pos == np.arange(wt.n)).all():
            yield period, x[rows], wt
        else:
            yield period, x[rows], Weights(wt.matrix[pos][:, pos], wt.ids[pos], wt.name)


def _seed_base(seed: int | np.random.Generator | None) -> int:
    """The integer behind esda-compatible permutations: the seed, or one drawn afresh."""
    if seed is None or isinstance(seed, np.random.Generator):
        return int(as_rng(seed).integers(0, 2**31 - 1))
    return int(seed)


def _permuter(base: int, k: int) -> Any:
    """Permutations for period k: numpy's legacy generator, as esda.Moran draws them.

    A private ``RandomState(base + k)``: the draws of ``np.random.seed(base + k);
    esda.Moran(...)``, without touching the caller's global state.
    """
    return np.random.RandomState(base + k)
