"""Degenerate inputs, refused before estimation with the variable and the fix named.

A model cannot be estimated when there is nothing to estimate from (fewer observations
than parameters, nothing left once the effects are removed) or when the effects leave a
variable without variation: a regressor constant within entities under entity effects has
no coefficient, a dependent variable constant within entities leaves nothing to explain.
Every estimator checks its transformed data here, after the effects are removed and
before anything is estimated, so these cases never reach numpy, scipy or linearmodels.

What those dependencies raise anyway is translated by :func:`translated` into a
:class:`~spillover.errors.SpecificationError` in the estimator's terms (linearmodels'
advice to set ``drop_absorbed=True``, an option of its own, is not passed on).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from linearmodels.panel.utility import AbsorbingEffectError

from spillover._typing import FloatArray
from spillover._validate import preview
from spillover.errors import SpecificationError, SpilloverError

#: A column keeps no variation when what the effects leave of it is below this fraction of
#: its norm: demeaning in floating point leaves ~1e-16 of the norm of an absorbed column
#: (1e-10, the default tolerance, after iterative demeaning), while a real regressor whose
#: within variation is 1e-8 of its level would have lost half its digits anyway.
RELATIVE_TOL = 1e-8


def no_variation(raw: FloatArray, kept: FloatArray) -> np.ndarray:
    """Per column (or for a vector): True where ``kept`` (what the effects leave of
    ``raw``) has norm at most ``RELATIVE_TOL`` times the norm of ``raw``."""
    raw2, kept2 = raw.reshape(len(raw), -1), kept.reshape(len(kept), -1)
    return np.linalg.norm(kept2, axis=0) <= RELATIVE_TOL * np.linalg.norm(raw2, axis=0)


def effects_phrase(effects: str, entity: str, time: str) -> str:
    """Where a variable must vary under ``effects`` ("entity", "time", "twoway", ...)."""
    return {
        "entity": f"within {entity} (over {time})",
        "time": f"within {time} (across {entity})",
        "twoway": f"once {entity} and {time} effects are removed",
        "first difference": f"over {time} within {entity} (its first differences are all zero)",
    }.get(effects, "at all" if effects == "none" else effects)


def require_variation(
    dependent: str,
    y: tuple[FloatArray, FloatArray],
    x: tuple[FloatArray, FloatArray] | None = None,
    names: Sequence[str] = (),
    *,
    where: str,
    fix: str,
) -> None:
    """Refuse a dependent variable or regressors that keep no variation ``where``.

    ``y`` and ``x`` are (raw, transformed) pairs; ``names`` label the columns of ``x``
    (an ``"Intercept"`` column is skipped: the effects absorb it by design).
    """
    if x is not None:
        flat = no_variation(*x)
        bad = [n for n, f in zip(names, flat, strict=True) if f and n != "Intercept"]
        if bad:
            one = len(bad) == 1
            raise SpecificationError(
                f"{preview(bad)} {'does' if one else 'do'} not vary {where}: the effects "
                f"absorb {'it' if one else 'them'} and no coefficient can be estimated. "
                f"Remove {'it' if one else 'them'} from the formula, or {fix}."
            )
    if no_variation(*y).all():
        raise SpecificationError(
            f"the dependent variable {dependent!r} does not vary {where}, so nothing is "
            f"left to explain. Check how it was built, or {fix}."
        )


def require_residual_df(nobs: int, absorbed: int, slopes: Sequence[str], *, effects: str) -> None:
    """Refuse a fit whose effects and slopes leave no residual degree of freedom.

    ``absorbed`` counts the effect levels removed (the intercept among them, if any);
    ``slopes`` the coefficients estimated besides.
    """
    if nobs - absorbed - len(slopes) <= 0:
        coefs = f" for {len(slopes)} coefficients ({preview(slopes)})" if slopes else ""
        raise SpecificationError(
            f"{nobs} observations, of which the {effects} take {absorbed} degrees of freedom, "
            f"leave {nobs - absorbed}{coefs}: nothing is left to estimate the error variance. "
            "Use more periods or entities, fewer regressors, or fewer effects."
        )


def require_rows_left(nobs: int, *, reason: str, fix: str) -> None:
    """Refuse an estimation sample that ``reason`` has emptied."""
    if nobs == 0:
        raise SpecificationError(f"no observations are left: {reason}. {fix}")


@contextmanager
def translated(model: str) -> Iterator[None]:
    """Re-raise what linearmodels, numpy or scipy raise on bad data as SpecificationError.

    The checks above are meant to make this unreachable; it keeps a case they miss from
    reaching the user in a dependency's terms.
    """
    try:
        yield
    except SpilloverError:
        raise
    except AbsorbingEffectError as exc:
        found = re.search(r"removed:\s*(.+?)\s*\n\s*\n", str(exc), re.S)
        names = " ".join(found.group(1).split()) if found else "some regressors"
        raise SpecificationError(
            f"{model}: the effects absorb {names} (they do not vary once the effects are "
            "removed, or are collinear with each other then). Remove them from the formula, "
            "or use effects they vary within."
        ) from exc
    except np.linalg.LinAlgError as exc:
        raise SpecificationError(
            f"{model}: the regressors are collinear on this sample (a singular matrix); "
            "remove the regressors that duplicate others."
        ) from exc
    except ValueError as exc:
        reason = " ".join(str(exc).split())
        raise SpecificationError(f"{model} cannot be estimated on these data: {reason}") from exc


def require_repeated(
    codes: np.ndarray,
    *,
    level: str,
    other: str,
    fix: str,
    why: str = "the effects would absorb every variable",
) -> None:
    """Refuse effects for ``level`` when no level has two observations: they would absorb
    every regressor (entity effects on a cross-section, time effects on one entity)."""
    if len(codes) and np.bincount(codes).max() < 2:
        raise SpecificationError(
            f"{level} effects need some {level} observed more than once (in several "
            f"{other}); here every {level} has a single row, so {why}. {fix}"
        )
