"""What each standard panel estimator refuses before it estimates (see ``_checks``).

One function per estimator of :mod:`spillover.models.panel`, called on its design (and,
for the within and first-difference estimators, on the transformed arrays it then
estimates from), so that degenerate inputs never reach linearmodels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spillover.models._checks import (
    effects_phrase,
    require_repeated,
    require_residual_df,
    require_variation,
)
from spillover.models._fit import entity_codes, time_codes
from spillover.models._formula import Design, check_rank, require_observations
from spillover.panel import Panel

_WITHIN_FIXES = {"entity": "use RandomEffects or Between", "time": "use effects='entity'"}


def require_y_varies(d: Design, y: np.ndarray) -> None:
    """The dependent variable must vary (around its mean, with an intercept)."""
    kept = y - y.mean() if d.has_intercept else y
    require_variation(
        d.dependent,
        (y, kept),
        where=effects_phrase("none", "", ""),
        fix="use a dependent variable that varies",
    )


def check_within(
    d: Design, panel: Panel, effects: str, xt: np.ndarray, yt: np.ndarray, absorbed: int
) -> None:
    """FixedEffects: effects with repeated levels, variation left, residual df.

    ``xt``, ``yt`` are the demeaned regressors and dependent variable; ``absorbed`` the
    rank of the effect dummies.
    """
    entity, time = panel.entity_name, panel.time_name
    idx = panel.data.index
    if effects != "time":
        fix = "Use Pooled, or effects='time', for a cross-section."
        require_repeated(entity_codes(idx), level=entity, other=f"{time}s", fix=fix)
    if effects != "entity":
        fix = "Use effects='entity' for a single entity."
        require_repeated(time_codes(idx), level=time, other=f"{entity}s", fix=fix)
    require_variation(
        d.dependent,
        (d.y.to_numpy(), yt),
        (d.x.to_numpy(), xt),
        list(d.x.columns),
        where=effects_phrase(effects, entity, time),
        fix=_WITHIN_FIXES.get(effects, "use fewer effects"),
    )
    slopes = [c for c in d.x.columns if c != "Intercept"]
    require_residual_df(panel.nobs, absorbed, slopes, effects=f"{effects} effects")


def check_random(d: Design, panel: Panel) -> None:
    """RandomEffects: both variance components need residual df (linearmodels' rule)."""
    require_y_varies(d, d.y.to_numpy())
    require_repeated(
        entity_codes(panel.data.index),
        level=panel.entity_name,
        other="periods",
        fix="Use Pooled or Between for a cross-section.",
        why="their variance cannot be told apart from the error's",
    )
    terms = list(d.x.columns)
    what = f"entities ({panel.entity_name} means)"
    require_observations(panel.n_entities, terms, what=what)
    varying = [c for c in terms if d.x[c].groupby(level=0).nunique().max() > 1]
    require_residual_df(panel.nobs, panel.n_entities, varying, effects=f"{panel.entity_name} means")


def check_differences(
    d: Design, panel: Panel, levels: tuple[np.ndarray, np.ndarray], diffs: tuple, names: list
) -> None:
    """FirstDifference: enough differences, variation left in them, full rank.

    ``levels`` and ``diffs`` are the (x, y) arrays before and after differencing.
    """
    (xa, ya), (dx, dy) = levels, diffs
    require_observations(len(dy), names, what="first differences (consecutive periods)")
    require_variation(
        d.dependent,
        (ya, dy),
        (xa, dx),
        names,
        where=effects_phrase("first difference", panel.entity_name, panel.time_name),
        fix="use Pooled, RandomEffects or Between",
    )
    check_rank(pd.DataFrame(dx, columns=names), what="first-differenced regressors")


def check_between(d: Design, panel: Panel, xm: pd.DataFrame, ym: pd.Series) -> None:
    """Between: more entities than parameters, full-rank entity means, varying y."""
    entity = panel.entity_name
    require_observations(len(ym), list(xm.columns), what=f"entities ({entity} means)")
    check_rank(xm, what=f"the {entity} means of the regressors")
    require_y_varies(d, ym.to_numpy())
