"""The covariance registry: every ``vcov=`` choice is one entry, one kernel.

An entry maps a name to how users choose it (a string such as ``"robust"``, or an option
object such as :class:`~spillover.inference.Cluster`), to its kernel, and to what the
kernel needs from the fit (:class:`Need`). A model declares what its fit can hand over
(``vcov_provides``, see :class:`VcovChoices`); it supports every registered covariance
whose needs it covers, so a new covariance type is one registered kernel::

    @register("hc0-twin", needs={Need.SCORES})
    def hc0_twin(spec, inputs):
        \"\"\"White's HC0, no small-sample factor, normal inference.\"\"\"
        meat = inputs.scores.T @ inputs.scores
        return Covariance(inputs.bread @ meat @ inputs.bread, "HC0 (twin)", None)

A kernel takes the resolved option (for a string choice, an object whose ``name`` is the
entry's name) and the fit's inputs (:class:`~spillover.inference.vcov.VcovInputs` for
least squares, :class:`~spillover.inference.ml_vcov.MLInputs` for maximum likelihood) and
returns a :class:`Covariance`. The least-squares covariances are registered by
:mod:`spillover.inference.vcov`, the ML ones by :mod:`spillover.inference.ml_vcov`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, NamedTuple

from spillover._typing import FloatArray
from spillover.errors import SpecificationError


class Need(StrEnum):
    """What a covariance kernel reads from the fit; a model provides a set of these."""

    #: Least-squares sandwich: regressors, residuals, scores, bread ``(X'X)^-1`` and the
    #: absorbed degrees of freedom of the transformed regression.
    SCORES = "scores"
    #: Labels of observations by column or index level, and the absorbed effect codes.
    GROUPS = "groups"
    #: Calendar-ordered period codes and entity codes.
    TIME = "time"
    #: Coordinates of each observation.
    COORDS = "coords"
    #: Expected (analytic) information matrix at the ML estimates.
    INFORMATION = "information"
    #: Log-likelihood as a function of all parameters, and the estimates.
    LOGLIK = "loglik"


class Covariance(NamedTuple):
    """A kernel's result: the matrix, its display name, and df for inference."""

    matrix: FloatArray
    #: Shown as ``Results.vcov_name``, e.g. ``"cluster (firm), CR1"``.
    name: str
    #: Residual df of the t and F reference distributions; None for normal/chi-squared.
    df_resid: int | None


Kernel = Callable[[Any, Any], Covariance]


@dataclass(frozen=True)
class Named:
    """A covariance chosen by a string (``"unadjusted"``, ``"robust"``, ...)."""

    name: str


@dataclass(frozen=True)
class CovarianceType:
    """One registered covariance: how it is chosen, its kernel and what it needs."""

    name: str
    kernel: Kernel
    needs: frozenset[Need]
    option: type | None = None
    aliases: tuple[str, ...] = ()
    usage: str = ""


_entries: dict[str, CovarianceType] = {}


def register(
    name: str,
    *,
    needs: Iterable[Need],
    option: type | None = None,
    aliases: Sequence[str] = (),
    usage: str | None = None,
) -> Callable[[Kernel], Kernel]:
    """Register the decorated kernel under ``name``.

    Parameters
    ----------
    name : str
        Canonical name; with ``option=None`` users pass it (or an alias) as a string,
        case-insensitively.
    needs : iterable of Need
        What the kernel reads from the fit.
    option : type, optional
        Option class chosen by instance (e.g. ``Cluster``); its instances are passed to
        the kernel. Such entries are not chosen by a string.
    aliases : sequence of str
        Other strings for the same covariance (e.g. ``"hc1"`` for ``"robust"``).
    usage : str, optional
        How the choice is written in error messages; default the name, or
        ``Option(...)``.

    Raises
    ------
    SpecificationError
        If the name, an alias or the option class is registered already.
    """
    keys = [name.lower(), *(a.lower() for a in aliases)]
    if option is None:
        taken = [k for k in keys if _find_string(k) is not None]
    else:
        taken = [e.name for e in _entries.values() if e.option is option]
    if name in _entries or taken:
        raise SpecificationError(
            f"covariance {name!r} clashes with the registered {taken or [name]}."
        )

    def add(kernel: Kernel) -> Kernel:
        shown = usage or (name if option is None else f"{option.__name__}(...)")
        _entries[name] = CovarianceType(
            name, kernel, frozenset(needs), option, tuple(keys[1:]), shown
        )
        return kernel

    return add


def unregister(name: str) -> None:
    """Remove a registered covariance (e.g. one a test added)."""
    if _entries.pop(name, None) is None:
        raise SpecificationError(f"no covariance {name!r} is registered.")


def covariance_types() -> tuple[CovarianceType, ...]:
    """Every registered covariance, in order of registration."""
    return tuple(_entries.values())


def supported_by(provides: Iterable[Need]) -> tuple[str, ...]:
    """Names of the registered covariances whose needs ``provides`` covers.

    Examples
    --------
    >>> from spillover.inference.registry import Need, supported_by
    >>> supported_by({Need.SCORES})
    ('unadjusted', 'robust', 'hc0')
    """
    have = frozenset(provides)
    return tuple(e.name for e in _entries.values() if e.needs <= have)


def lookup(spec: Any) -> CovarianceType:
    """The entry of a resolved ``vcov`` choice (a :class:`Named` or an option object)."""
    if isinstance(spec, Named) and spec.name in _entries:
        return _entries[spec.name]
    for entry in _entries.values():
        if entry.option is not None and isinstance(spec, entry.option):
            return entry
    raise SpecificationError(f"no registered covariance takes {spec!r}.")


def resolve_vcov(spec: Any, supported: Sequence[str]) -> Any:
    """Resolve ``vcov=`` into an option object and check the model supports it.

    Raises
    ------
    SpecificationError
        Unknown name, or an estimator the model does not support; the message lists the
        model's valid choices (and, for an unknown name, every registered one).
    """
    if isinstance(spec, str):
        entry = _find_string(spec.lower())
        if entry is None and spec.lower() in _entries:
            raise SpecificationError(
                f"vcov {spec!r} has options: pass {_entries[spec.lower()].usage} instead."
            )
        if entry is None:
            raise SpecificationError(
                f"unknown vcov {spec!r}; valid choices for this model: {_usage(supported)}."
                f"{_others(supported)}"
            )
        return _check_supported(spec, Named(entry.name), supported)
    if isinstance(spec, Named) and spec.name in _entries:
        return _check_supported(spec, spec, supported)
    if any(e.option is not None and isinstance(spec, e.option) for e in _entries.values()):
        return _check_supported(spec, spec, supported)
    raise SpecificationError(
        f"vcov must be a name or an option object ({_usage(supported)}); got {spec!r}."
    )


def compute_vcov(spec: Any, inputs: Any) -> Covariance:
    """Run the kernel of a resolved ``vcov`` choice on the fit's inputs."""
    return lookup(spec).kernel(spec, inputs)


class VcovChoices:
    """Base of estimators: ``vcov_provides`` says what ``fit`` hands to kernels."""

    #: What the fit can give a covariance kernel (e.g. scores, groups, time codes).
    vcov_provides: ClassVar[frozenset[Need]] = frozenset()

    @property
    def supported_vcov(self) -> tuple[str, ...]:
        """Names of the registered covariances this model accepts."""
        return supported_by(self.vcov_provides)


def _find_string(key: str) -> CovarianceType | None:
    for entry in _entries.values():
        if entry.option is None and key in (entry.name.lower(), *entry.aliases):
            return entry
    return None


def _check_supported(given: Any, spec: Any, valid: Sequence[str]) -> Any:
    if lookup(spec).name not in valid:
        raise SpecificationError(
            f"vcov={given!r} is not valid for this model; it supports {_usage(valid)}."
        )
    return spec


def _usage(names: Sequence[str]) -> str:
    return ", ".join(_entries[n].usage for n in names if n in _entries) or "none"


def _others(valid: Sequence[str]) -> str:
    rest = [e.name for e in _entries.values() if e.name not in valid]
    text = f" Other registered covariances: {_usage(rest)}." if rest else ""
    ours = [e.option.__name__ for e in _entries.values() if _from_inference(e.option)]
    if ours:
        text += f" Option objects ({', '.join(ours)}) come from spillover.inference."
    return text


def _from_inference(option: type | None) -> bool:
    return option is not None and option.__module__.startswith("spillover.inference")
