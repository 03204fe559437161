"""Global Moran's I per period and local Moran (LISA), computed by esda on aligned weights."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import pandas as pd
from tqdm import tqdm

from spillover._validate import preview
from spillover.errors import AlignmentError, SpecificationError
from spillover.measures._common import align_weights, entity_codes, period_rows, values
from spillover.measures._pools import _as_weights, _period_weights
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
    transformation: Literal["r", "b", "o", "v", "d"] = "r",
    two_tailed: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """Global Moran's I of ``column`` in each period, computed by ``esda.Moran``.

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
        Makes ``p_sim`` reproducible. esda draws permutations from numpy's legacy global
        generator; period k (0-based) runs with it seeded by ``seed + k``, exactly as
        ``np.random.seed(seed + k); esda.Moran(...)``. The caller's global state is
        restored afterwards. A Generator supplies the integer seed.
    transformation : str, default "r"
        esda's weights transformation, applied after the restriction to the period's
        entities (``"r"``: row-standardised; ``"b"``: binary; ``"o"``: as given).
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
    from esda.moran import Moran

    x = values(panel, column)
    base = _seed_base(seed)
    rows_out = {}
    periods = list(period_rows(panel))
    for k, (period, y, wt) in enumerate(
        tqdm(
            _cross_sections(panel, x, w, periods),
            total=len(periods),
            desc="Moran's I",
            disable=not progress,
        )
    ):
        with _legacy_seed(None if base is None else base + k):
            m = Moran(
                y,
                wt,
                transformation=transformation,
                permutations=permutations,
                two_tailed=two_tailed,
            )
        rows_out[period] = {
            "n": len(y), "I": m.I, "EI": m.EI, "z_norm": m.z_norm, "p_norm": m.p_norm,
            "z_rand": m.z_rand, "p_rand": m.p_rand,
            "p_sim": m.p_sim if permutations else np.nan,
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
    transformation: Literal["r", "b", "o", "v", "d"] = "r",
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
        Passed to esda's own ``seed`` argument (a Generator supplies the integer).
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
        ``cluster`` (the quadrant if significant, else ``"ns"``).

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
    _, y, wt = next(_cross_sections(panel, x, w, periods))
    base = _seed_base(seed)
    with warnings.catch_warnings():
        # esda announces a future change of its default alternative; we keep "directed"
        warnings.filterwarnings("ignore", "The alternative hypothesis", DeprecationWarning)
        m = Moran_Local(y, wt, transformation=transformation, permutations=permutations, seed=base)
    ids = pd.Index(wt.id_order, name=panel.entity_name)
    quadrant = pd.Series(m.q, index=ids).map(QUADRANTS)
    p_sim = m.p_sim if permutations else np.full(len(y), np.nan)
    significant = pd.Series(p_sim <= alpha, index=ids)
    return pd.DataFrame(
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


def _cross_sections(
    panel: Panel, x: np.ndarray, w: Any, periods: list[tuple[Any, np.ndarray]]
) -> Iterator[tuple[Any, np.ndarray, Any]]:
    """Yield (period, y, libpysal W) with W over that period's entities, in y's order."""
    ent = entity_codes(panel)
    static = None if isinstance(w, Mapping) else align_weights(_as_weights(w), panel.entities)
    full = None
    for period, rows in periods:
        if static is not None and len(rows) == panel.n_entities:
            full = full if full is not None else static.to_libpysal()
            yield period, x[rows][np.argsort(ent[rows])], full
            continue
        wt, pos = (
            (static, ent[rows])
            if static is not None
            else _period_weights(w, period, panel, ent[rows])
        )
        sub = Weights(wt.matrix[pos][:, pos], wt.ids[pos], wt.name)
        yield period, x[rows], sub.to_libpysal()


def _seed_base(seed: int | np.random.Generator | None) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**31 - 1))
    return int(seed)


@contextmanager
def _legacy_seed(seed: int | None) -> Iterator[None]:
    """Seed numpy's legacy global generator for esda, restoring the caller's state."""
    if seed is None:
        yield
        return
    # esda.Moran permutes with np.random.permutation; nothing else here uses global state
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002
