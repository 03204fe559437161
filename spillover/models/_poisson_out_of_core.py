"""Poisson PML with absorbed effects out of core: :class:`~spillover.models.PoissonHDFE`
with its rows held by a backend (DuckDB: :mod:`._poisson_duckdb`; Dask:
:mod:`._poisson_dask`).

The rows are staged with the working columns of IRLS (DuckDB:
:class:`spillover.backends.IrlsStaged`, SQL; Dask: :class:`spillover.backends.DaskIrlsStaged`,
tasks on the partitions; the same methods); each iteration is a weighted HDFE step on them,
with the absorbing of :class:`._out_of_core.OutOfCoreSample` (weighted group means, exact
for small second sets, else alternating projections). :class:`OutOfCorePoisson` is the
backend-neutral driver; a backend side adds the hooks of the sample (open, stage, errors,
time column, release).

1. Separation: rows in a level of an absorbed effect whose outcome is zero throughout are
   dropped, and the singletons that leaves, set by set until neither remains (ppmlhdfe
   ``sep(fe)``, :func:`._separation.fe_separation_mask` in memory). The ReLU check needs
   the rows in memory and is refused (``separation_check=("fe",)`` runs out of core). An
   ``offset`` column and the log of an ``exposure`` column enter the linear predictor as
   in memory.
2. IRLS as :func:`._ppml.irls`: start ``mu = (y + mean_w(y)) / 2``; working response
   ``z = eta + (y - mu) / mu`` and weights ``w mu``; z and the regressors are swept (warm
   start: the previous sweep plus the change of z; the regressors as swept before), WLS on
   the swept columns, ``eta_new = z - (z~ - x~ b)``; step halving on the deviance; stop when
   ``|D_r - D_{r-1}| / (0.1 + |D_r|) < tol`` with a full step and the alternating
   projections (if used) at ``demean_tol``, looser before (0.01 times the deviance change,
   at most 1e-4), as in memory.
3. Covariance as in memory (:class:`~spillover.models.PoissonHDFE` Notes): H = x~' diag(w
   mu) x~ with x~ swept with the final weights, scores ``w x~ (y - mu)`` summed per cluster
   cell or period, or the HC meat ``sum w^2 (y - mu)^2 x~ x~'`` (``sum w (...)`` for
   frequency weights); A is fixest's count (levels minus one per further set); normal
   reference distribution.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from spillover._validate import preview, warn_dropped
from spillover.errors import ConvergenceError, SpecificationError
from spillover.inference.registry import compute_vcov
from spillover.models._checks import require_rows_left
from spillover.models._ooc_algebra import check_within, parse_formula, solve_scaled
from spillover.models._out_of_core import OutOfCoreSample, cluster_count
from spillover.models._separation import REASONS

ALL_SEPARATED = "every observation is separated or a singleton"


def refuse_unsupported(label: str, checks: tuple[str, ...]) -> None:
    """SpecificationError for what PoissonHDFE does not run out of core (on the backend
    ``label``), with the fix."""
    if "relu" in checks:
        raise SpecificationError(
            f"the ReLU separation check needs the rows in memory; on the {label} backend "
            "pass separation_check=('fe',) (rows separated by the effects are dropped; rows "
            "separated by regressors then show as slow convergence or a ConvergenceError), "
            "or use the in-memory backend for the ReLU check."
        )


class OutOfCorePoisson(OutOfCoreSample):
    """The backend-neutral out-of-core side of :class:`~spillover.models.PoissonHDFE`
    (module notes); a subclass adds the backend hooks of :class:`._out_of_core.
    OutOfCoreSample` and stages the rows in a table with the IRLS steps of
    :class:`spillover.backends.IrlsStaged`."""

    def __init__(
        self,
        formula: str,
        data: Any,
        absorb: Sequence[str],
        backend: Any,
        *,
        separation: str,
        tol: float,
        max_iter: int,
        demean_tol: float,
        weights: str | None,
        weight_type: str,
        offset: str | None = None,
        exposure: str | None = None,
    ) -> None:
        if not absorb:
            raise SpecificationError(
                f"PoissonHDFE on the {self.label} backend absorbs effects; pass absorb=[...] (e.g. "
                "['firm', 'year']) or use the in-memory backend."
            )
        self.y, self.xs, _ = parse_formula(formula, self.label)  # the effects hold the constant
        if not self.xs:
            raise SpecificationError(f"formula {formula!r} has no regressors; add one.")
        self.irls_tol, self.irls_max, self.demean_tol = tol, max_iter, demean_tol
        extra = [c for c in (offset, exposure) if c is not None]
        super().__init__(
            data,
            [self.y, *self.xs, *extra],
            absorb,
            backend,
            intercept=False,
            singletons="keep",  # dropped with the separated rows below
            tol=demean_tol,
            max_iter=10_000,
            weights=weights,
            weight_type=weight_type,
        )
        with self._errors():
            keys = self._keys()
            at = 1 + len(self.xs)
            self.table.set_offset(
                at if offset is not None else None,
                at + int(offset is not None) if exposure is not None else None,
                keys,
            )
            self.table.check_outcome(self.y, keys)
            n_sep, examples = self.table.separated_rows(keys)
            if n_sep and separation == "raise":
                raise SpecificationError(
                    f"{n_sep} observations are separated ({n_sep} by the 'fe' check): their "
                    f"fitted mean is 0 at the maximum, e.g. ({', '.join(keys)}) = "
                    f"{preview(examples)}. Drop them, or use separation='drop'."
                )
            self.n_separated, self.n_singletons = self.table.drop_separated()
            self.nobs = self.table.count()
            self.df_nobs = self.nobs
            if weights is not None and weight_type == "frequency":
                self.df_nobs = round(self.table.weight_total())
        self.separated_by = {"fe": self.n_separated}
        require_rows_left(self.nobs, reason=ALL_SEPARATED, fix="Absorb fewer effects.")
        warn_dropped(self.n_separated, REASONS["fe"])
        warn_dropped(self.n_singletons, "singleton observations of an absorbed effect")
        self._estimates: tuple | None = None

    def _keys(self) -> list[str]:
        """Columns naming rows in errors: the effects' (a backend knowing the panel's entity
        and time columns names those instead)."""
        return list(dict.fromkeys(p.strip() for a in self.absorb for p in a.split(":")))

    # ------------------------------------------------------------------ IRLS
    def _estimate(self) -> tuple:
        """IRLS once (cached): estimates, H, deviance, iterations."""
        self._check_open()
        if self._estimates is None:
            with self._errors():
                t = self.table
                self._levels, self._bounds = t.levels(), t.code_bounds()
                raw = np.array([t.centred_square_sum(j) for j in range(1, t.k)])
                beta, dev, iterations = self._iterate(raw)
                t.reweight(working=True)  # the design swept with the final weights w mu
                self._factors.clear()
                self._absorb(self.demean_tol)
                hessian = t.moments(np.zeros(t.k), False)[0][1:, 1:]
                t.reweight(working=False)  # scores w x~ (y - mu)
            self._estimates = (beta, hessian, dev, iterations)
        return self._estimates

    def _iterate(self, raw: np.ndarray) -> tuple[np.ndarray, float, int]:
        t = self.table
        dev = t.start()
        change, inner = np.inf, max(self.demean_tol, 1e-4)
        for it in range(1, self.irls_max + 1):
            t.working(first=it == 1)
            self._factors.clear()  # the exact path's normal matrix depends on the weights
            self._absorb(inner)
            gram = t.moments(np.zeros(t.k), False)[0]
            if it == 1:
                check_within(self.xs, gram[1:, 1:], raw, self.absorb)
            beta = solve_scaled(gram[1:, 1:], gram[1:, 0])
            t.propose(beta)
            alpha, dev_new, full = (1.0, t.deviance(1.0), False) if it == 1 else self._halve(dev)
            t.accept(alpha)
            change, dev = abs(dev_new - dev) / (0.1 + abs(dev_new)), dev_new
            if change < self.irls_tol and inner <= self.demean_tol and full:
                return beta, dev, it
            inner = max(self.demean_tol, min(inner, 0.01 * change))
        raise ConvergenceError(
            f"PPML did not converge in {self.irls_max} IRLS iterations: the relative deviance "
            f"change |D_r - D_r-1| / (0.1 + |D_r|) is {change:.2e}, above tol="
            f"{self.irls_tol:g}. Raise max_iter; if the fitted means of some rows go to zero, "
            "regressors separate them: the ReLU check (in memory) finds those rows."
        )

    def _halve(self, dev: float) -> tuple[float, float, bool]:
        """Full step if the deviance falls (or moves by less than tol), else halve it."""
        alpha = 1.0
        while alpha > 1e-12:
            new = self.table.deviance(alpha)
            if new <= dev or (alpha == 1.0 and abs(new - dev) / (0.1 + abs(new)) < self.irls_tol):
                return alpha, new, alpha == 1.0
            alpha /= 2
        raise ConvergenceError(
            "PPML step halving could not lower the deviance; the design is near-collinear or "
            "regressors separate some rows. Drop collinear regressors."
        )

    # ------------------------------------------------------------------ results
    def _absorbed_without(self, names: Sequence[str]) -> int:
        """fixest's count over the sets not in ``names`` (1 if none is left)."""
        levels = [g for a, g in zip(self.absorb, self._levels, strict=True) if a not in names]
        if not levels:
            return 1
        return sum(levels) - max(sum(g > 1 for g in levels) - 1, 0)

    def fit(self, spec: Any, results_class: type) -> Any:
        beta, hessian, dev, iterations = self._estimate()
        with self._errors():
            resid = self.table.poisson_residual()
            inputs = self.vcov_inputs(
                spec,
                resid,
                bread=np.linalg.inv(hessian),
                ssr=1.0,
                absorbed=self._absorbed_without(()),
                known_scale=True,
            )
            cov, name, _ = compute_vcov(spec, inputs)
            loglik, null, mean_y = self.table.likelihoods()
        fit_stats = {"deviance": dev, "loglik": loglik, "pseudo_r2": 1 - loglik / null,
                     "mean_y": mean_y, **cluster_count(spec, inputs)}  # fmt: skip
        return self.results(
            results_class, beta, cov, self.xs, df_resid=None, vcov_name=name,
            model="Poisson PML, absorbed effects", fit_stats=fit_stats,
            info={"separated dropped": self.n_separated, "separated (fe)": self.n_separated,
                  "singletons dropped": self.n_singletons, "iterations": iterations},
            n_separated=self.n_separated,
            separated_by=pd.Series(self.separated_by, dtype=int, name="separated"),
        )  # fmt: skip
