"""The estimation sample of an out-of-core estimator, on any backend.

:class:`OutOfCoreSample` is what the out-of-core HDFE (:mod:`._hdfe_out_of_core`) and 2SLS
(:mod:`._iv_out_of_core`) share, whatever holds the rows: it opens the source, stages the value
columns, drops singletons, absorbs the effects once (exactly, or by alternating
projections run by the backend; see :mod:`._hdfe_out_of_core` for the algebra), counts the
absorbed df, and builds the covariance registry's inputs from score sums computed by the
backend: per cluster cell, per period (Driscoll-Kraay), or a K x K root of the HC meat.
``close()`` releases what the backend holds. A subclass says how to open the data and
stage the rows (a table with the transforms and reductions of
:class:`spillover.backends.Staged`: DuckDB in :mod:`._duckdb_sample`, Dask in
:mod:`._dask_sample`), how the backend's failures read, and where the time column is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from functools import partial
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.linalg import cho_solve
from tqdm import tqdm

from spillover._calendar import period_numbers
from spillover._validate import preview, warn_dropped
from spillover.errors import ConvergenceError, SpecificationError
from spillover.inference.registry import Named, Need
from spillover.inference.vcov import Cluster, Conley, DriscollKraay, VcovInputs, absorbed_df
from spillover.models import _demean
from spillover.models._checks import require_rows_left
from spillover.models._conley_out_of_core import CellScores, conley_meat_out_of_core
from spillover.models._fit import _wald_f
from spillover.models._ooc_algebra import normal_matrix_part
from spillover.models._regweights import INFO_KEY, check_weight_type
from spillover.panel import Panel

#: What the out-of-core fit hands the covariance kernels (HDFE adds coordinates: the
#: backend sums the Conley meat, :mod:`._conley_out_of_core`).
PROVIDES = frozenset({Need.SCORES, Need.GROUPS, Need.TIME})
#: The constant column staged as the one effect set of a model without absorbed effects.
CONSTANT = "__spx_constant"


class OutOfCoreSample(ABC):
    """An estimation sample held by a backend: the source, the value columns (dependent
    first), singletons dropped, effects absorbed once on demand (:meth:`_sweep`), and the
    covariance inputs built from the backend's score sums. ``close()`` releases it.

    With regression weights (``weights``, ``weight_type``: the in-memory conventions of
    :mod:`._regweights`) the staged table carries them and every reduction is weighted;
    ``nobs`` stays the rows, ``df_nobs`` is the N of df and small-sample factors (``sum w``
    for frequency weights).

    A subclass sets ``label`` (and ``takes_weights``) and implements ``_open`` (data to the
    backend; the column names), ``_stage`` (the staged rows, weighted by
    ``self.weights``), ``_errors`` (a context translating the backend's failures),
    ``_time_column`` (the period column of Driscoll-Kraay) and ``_release``.
    """

    label: ClassVar[str] = "out-of-core"
    #: Whether the backend stages regression weights (``weights=``).
    takes_weights: ClassVar[bool] = False

    def __init__(
        self,
        data: Any,
        columns: Sequence[str],
        absorb: Sequence[str],
        backend: Any,
        *,
        intercept: bool,
        singletons: str,
        tol: float,
        max_iter: int,
        weights: str | None = None,
        weight_type: str = "analytic",
    ) -> None:
        self.absorb, self.tol, self.max_iter = tuple(absorb), tol, max_iter
        self.intercept = intercept
        check_weight_type(weight_type)
        if weights is not None and not self.takes_weights:
            raise SpecificationError(
                f"the {self.label} backend takes no regression weights yet; use "
                "backend='duckdb' (out of core) or the in-memory backend for weights=."
            )
        self.weights, self.weight_type = weights, weight_type
        self.progress = bool(getattr(backend, "progress", False))
        self._closed = False
        #: The panel's geometry (one location per entity), read by Conley without coords.
        self.geo = data.geo if isinstance(data, Panel) and data.has_geometry else None
        effects = [[p.strip() for p in a.split(":")] for a in self.absorb]
        with self._errors():
            self.columns = self._open(data, backend)
            needed = [*columns, *(p for e in effects for p in e), *([weights] if weights else [])]
            missing = [c for c in dict.fromkeys(needed) if c not in self.columns]
            if missing:
                raise SpecificationError(
                    f"columns {missing} are not in the data; available: "
                    f"{preview(self.columns, 12)}."
                )
            self.table = self._stage(list(columns), effects, list(self.columns))
            self.n_singletons = self.table.drop_singletons() if singletons == "drop" else 0
            self.nobs = self.table.count()
            self.df_nobs = self.nobs
            if weights is not None and weight_type == "frequency":
                self.df_nobs = round(self.table.weight_total())
        require_rows_left(self.nobs, reason="every row is a singleton", fix="absorb fewer effects")
        warn_dropped(self.n_singletons, "singleton observations of an absorbed effect")
        self._swept: tuple[np.ndarray, np.ndarray, int] | None = None
        self._factors: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
        #: Per cluster variable checked (no missing values): which effect sets nest in it.
        self._nesting: dict[str, list[bool]] = {}

    # ------------------------------------------------------------------ backend hooks
    @abstractmethod
    def _open(self, data: Any, backend: Any) -> list[str]:
        """Hand ``data`` to the backend; return its column names."""

    @abstractmethod
    def _stage(self, columns: list[str], effects: list[list[str]], keep: list[str]) -> Any:
        """The staged rows: the value columns ``columns`` (dependent first), one code per
        effect set, the source columns ``keep`` carried (cluster variables)."""

    @abstractmethod
    def _errors(self) -> AbstractContextManager[None]:
        """A context turning the backend's failures into BackendError."""

    @abstractmethod
    def _time_column(self) -> str:
        """The panel's time column (Driscoll-Kraay), or a SpecificationError saying why
        there is none."""

    def _cell_scores(
        self, resid: Any, entity: str, time: str, coords: tuple[str, str], places: Any
    ) -> CellScores:
        """The backend's placed scores of the fit with residual handle ``resid``
        (:class:`._conley_out_of_core.CellScores`; arguments after ``resid`` as there); a
        backend that sums Conley meats overrides this."""
        raise SpecificationError(f"Conley(...) is not available on the {self.label} backend.")

    def _panel_keys(self) -> tuple[str | None, str | None]:
        """The panel's entity and time columns (None where the data does not name them)."""
        return None, None

    def _conley_meat(self, spec: Conley, resid: Any, project: np.ndarray | None) -> np.ndarray:
        """The Conley meat of the scores ``e x' project`` (k x k), summed by the backend's
        :meth:`_cell_scores` (:mod:`._conley_out_of_core`)."""
        entity, time = self._panel_keys()
        with self._errors():
            meat = conley_meat_out_of_core(
                spec,
                partial(self._cell_scores, resid, entity, time),
                entity=entity,
                time=time,
                columns=list(self.columns),
                geo=self.geo,
            )
        return meat if project is None else project.T @ meat @ project

    @abstractmethod
    def _release(self) -> None:
        """Drop what the backend holds for this sample."""

    def close(self) -> None:
        """Release what the backend holds for this sample (DuckDB: the working TEMP tables,
        and the connection if the backend opened it; Dask: the staged partitions).
        Idempotent; a closed sample cannot be fitted again."""
        if not self._closed:
            self._release()
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise SpecificationError(
                f"this model's {self.label} data was released by close(); build the model again."
            )

    # ------------------------------------------------------------------ absorbing
    def _split(self, sets: Sequence[int]) -> tuple[int, list[int], list[int], int, bool]:
        """Largest set, the others, their code offsets, size and whether exact applies
        (the in-memory rule of :class:`._demean.Absorber`)."""
        levels = [self._levels[i] for i in sets]
        order = np.argsort(levels)[::-1]
        big, small = sets[int(order[0])], [sets[int(i)] for i in order[1:]]
        offsets = list(np.cumsum([0] + [self._bounds[i] for i in small])[:-1].astype(int))
        size = int(sum(self._bounds[i] for i in small))
        exact = bool(small) and sum(self._levels[i] for i in small) <= _demean.EXACT_MAX_LEVELS
        return big, small, offsets, size, exact

    def _rank(self, sets: Sequence[int]) -> int:
        """Rank of the dummies of the effect sets ``sets`` (intercept included)."""
        if not sets:
            return 0
        big, small, offsets, size, exact = self._split(sets)
        if not small:
            return self._levels[big]
        if exact and len(small) > 1:
            return self._levels[big] + len(self._factor(big, small, offsets, size)[0])
        # two sets: levels minus the connected components of the distinct level pairs,
        # exact and far cheaper than a pass over the rows sorted by the larger set
        a, b = self.table.edges(sets[0], sets[1])
        rest = [np.arange(self._levels[i]) for i in sets[2:]]
        return absorbed_df([a, b, *rest], intercept=False)

    def _sweep(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Absorb once (cached): centred sums of squares and means of the raw columns
        (y first), and the absorbed df A."""
        self._check_open()
        if self._swept is None:
            with self._errors():
                self._levels, self._bounds = self.table.levels(), self.table.code_bounds()
                k = self.table.k
                raw = np.array([self.table.centred_square_sum(j) for j in range(k)])
                means = self.table.means()
                rank = self._rank(list(range(len(self.absorb))))
                self._absorb(self.tol)
            self._swept = (raw, means, rank - int(self.intercept))
        return self._swept

    def _absorb(self, tol: float) -> None:
        """Sweep every effect set out of the staged value columns, weighted by the staged
        weights if any (exactly, or by alternating projections to ``tol``); needs
        ``_levels`` and ``_bounds``."""
        sets = list(range(len(self.absorb)))
        big, small, offsets, size, exact = self._split(sets)
        if not small:
            self.table.sweep(big)
        elif exact:
            self._exact(big, small, offsets, size)
        else:
            self._alternate(sets, tol)

    def _factor(
        self, big: int, small: list[int], offsets: list[int], size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Independent levels and Cholesky factor of C (cached: rank and solve share it)."""
        key = (big, *small)
        if key not in self._factors:
            c = self._normal_matrix(big, small, offsets, size)
            self._factors[key] = _demean._pivoted_cholesky((c + c.T) / 2)
        return self._factors[key]

    def _normal_matrix(self, big: int, small: list[int], offsets: list[int], size: int):
        """``C = S'S - (F'S)' diag(1/n_g) (F'S)``, summed by the backend over pieces of
        whole F levels (C is a sum over F levels: chunks streamed from DuckDB sorted by F,
        or the Dask partitions), each by :func:`normal_matrix_part`."""
        part = partial(normal_matrix_part, size=size)
        return self.table.sum_by_group(big, small, offsets, part, np.zeros((size, size)))

    def _exact(self, big: int, small: list[int], offsets: list[int], size: int) -> None:
        idx, chol = self._factor(big, small, offsets, size)
        rhs = self.table.projected_sums(big, small, offsets, size)
        gamma = np.zeros_like(rhs)
        if len(idx):
            gamma[idx] = cho_solve((chol, False), rhs[idx])
        self.table.sweep(big, small, offsets, gamma)

    def _alternate(self, sets: list[int], tol: float) -> None:
        scale = np.maximum(self.table.column_scale(), 1e-300)
        change = np.inf
        passes = tqdm(
            range(self.max_iter),
            desc=f"demeaning passes ({self.label})",
            disable=not self.progress,
        )
        for _ in passes:
            change = float((sum(self.table.sweep(i) for i in sets) / scale).max())
            passes.set_postfix(change=f"{change:.1e}", tol=f"{tol:g}", refresh=False)
            if change < tol:
                passes.close()
                return
        passes.close()
        raise ConvergenceError(
            f"absorbing {len(sets)} effect sets in {self.label} did not converge in "
            f"{self.max_iter} passes (last relative change {change:.2e} > tol {tol:g}); "
            "raise max_iter or tol, or check for weakly connected effects."
        )

    # ------------------------------------------------------------------ covariance
    def vcov_inputs(
        self,
        spec: Any,
        resid: Any,
        *,
        bread: np.ndarray,
        ssr: float,
        absorbed: int,
        project: np.ndarray | None = None,
        extra_absorbed: int = 0,
        k: int | None = None,
        known_scale: bool = False,
    ) -> VcovInputs:
        """Covariance inputs of a regression with residual and score regressors ``resid``
        (the backend's handle, e.g. :meth:`Staged.residual`): scores ``e x' project``
        (``project`` (len(x) x K), default the identity; 2SLS maps instruments to fitted
        regressors with it), compressed to cluster cells, periods, or a K x K root of the
        HC meat; ``ssr`` the residual sum of squares; ``extra_absorbed`` is added to every
        recount of A (partialled regressors); ``k`` the K of the df and factors when it is
        not that of ``bread`` or ``project``; ``known_scale`` for a likelihood of known scale
        (Poisson: ``bread`` the inverse Hessian)."""
        k = k or (bread.shape[0] if project is None else project.shape[1])

        def projected(scores: np.ndarray) -> np.ndarray:
            return scores if project is None else scores @ project

        common = dict(
            x=np.zeros((0, k)),
            resid=np.array([np.sqrt(ssr)]),
            bread=bread,
            absorbed=absorbed,
            entity=np.zeros(0, np.intp),
            nobs=self.df_nobs,
            known_scale=known_scale,
        )
        if isinstance(spec, Cluster):
            return self._cluster_inputs(spec, resid, projected, extra_absorbed, common)
        if isinstance(spec, DriscollKraay):
            time = self._time_column()
            labels, sums = self.table.score_sums(resid, [time])
            periods = period_numbers(labels[0], name=time)
            return VcovInputs(
                scores=projected(sums), effects={}, groups=_no_groups, time=periods, **common
            )
        if isinstance(spec, Conley):  # the backend sums the meat (k x k) itself
            return VcovInputs(
                scores=np.zeros((1, k)),
                effects={},
                groups=_no_groups,
                time=np.zeros(0, np.intp),
                spatial_meat=partial(self._conley_meat, resid=resid, project=project),
                **common,
            )
        needs_meat = isinstance(spec, Named) and spec.name in ("robust", "hc0")
        scores = projected(_root(self.table.hc_meat(resid))) if needs_meat else np.zeros((1, k))
        return VcovInputs(
            scores=scores, effects={}, groups=_no_groups, time=np.zeros(0, np.intp), **common
        )

    def _cluster_inputs(
        self,
        spec: Cluster,
        resid: Any,
        projected: Any,
        extra_absorbed: int,
        common: dict,
    ) -> VcovInputs:
        missing = [c for c in spec.by if c not in self.columns]
        if missing:
            raise SpecificationError(
                f"cannot cluster by {missing}: not columns of the data; available: "
                f"{preview(self.columns, 12)}. Add the column to the data (frame, Parquet "
                "files or relation)."
            )
        for c in spec.by:  # once per variable: the rows do not change between fits
            if c in self._nesting:
                continue
            if n := self.table.null_count(c):
                raise SpecificationError(
                    f"cluster variable {c!r} has {n} missing values; fill or drop those rows "
                    "in the source."
                )
            self._nesting[c] = self.table.nested(c)
        labels, sums = self.table.score_sums(resid, spec.by)
        cells = dict(zip(spec.by, labels, strict=True))
        effects = {}
        nested = {c: self._nesting[c] for c in spec.by}
        for i, name in enumerate(self.absorb):
            home = next((c for c in spec.by if nested[c][i]), None)
            # Per cell: the cluster the effect is nested in, else one level across cells
            # (not nested), which is what the kernel's nesting test reads.
            effects[name] = pd.factorize(cells[home])[0] if home else np.zeros(len(sums), np.intp)

        def without(names: Sequence[str]) -> int:
            return self._absorbed_without(names) + extra_absorbed

        return VcovInputs(
            scores=projected(sums),
            effects=effects,
            groups=cells.__getitem__,
            time=np.zeros(0, np.intp),
            absorbed_without=without,
            **common,
        )

    def results(
        self,
        results_class: type,
        coef: np.ndarray,
        cov: np.ndarray,
        names: Sequence[str],
        *,
        df_resid: int | None,
        vcov_name: str,
        model: str,
        fit_stats: dict[str, Any],
        info: dict[str, Any],
        **extra: Any,
    ) -> Any:
        """The fit as ``results_class``, with what every out-of-core fit reports: N of the df
        (``df_nobs``), the absorbed effects, the Wald F after ``fit_stats``, and after
        ``info`` the backend and the regression weights."""
        params = pd.Series(coef, index=list(names), name="parameter")
        weights = {INFO_KEY: f"{self.weight_type} ({self.weights})"} if self.weights else {}
        return results_class(
            params=params,
            vcov=pd.DataFrame(cov, index=list(names), columns=list(names)),
            nobs=self.df_nobs,
            df_resid=df_resid,
            vcov_name=vcov_name,
            model=f"{model} ({self.label})",
            dependent=self.y,
            fixed_effects=self.absorb,
            fit_stats={**fit_stats, **_wald_f(params, cov, df_resid)},
            info={**info, "backend": self.label, **weights},
            **extra,
        )

    def _absorbed_without(self, names: Sequence[str]) -> int:
        """A recounted without the effect sets ``names`` (those nested in a cluster): the
        exact rank of the other sets' dummies, less the intercept."""
        rest = [i for i, a in enumerate(self.absorb) if a not in set(names)]
        return max(self._rank(rest) - int(self.intercept), 0) if rest else 0


def effect_columns(effects: Sequence[Sequence[str]]) -> list[str]:
    """The source columns of the effect sets, the staged constant left out (the columns
    naming rows in errors where the entity and time columns are not known)."""
    return [c for c in dict.fromkeys(p for e in effects for p in e) if c != CONSTANT]


def cluster_count(spec: Any, inputs: VcovInputs) -> dict[str, int]:
    """``n_clusters`` (the fewest of two-way clusters) for a Cluster covariance, else none."""
    if getattr(spec, "name", "") != "cluster":
        return {}
    return {"n_clusters": min(len(pd.unique(inputs.groups(c))) for c in spec.by)}


def _no_groups(name: str) -> np.ndarray:  # pragma: no cover - only Cluster reads groups
    raise SpecificationError(f"no groups for {name!r} outside Cluster(...).")


def _root(meat: np.ndarray) -> np.ndarray:
    """R with ``R'R = meat`` (symmetric PSD): rows whose outer products sum to the meat."""
    vals, vecs = np.linalg.eigh((meat + meat.T) / 2)
    return np.sqrt(np.clip(vals, 0, None))[:, None] * vecs.T
