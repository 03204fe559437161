"""Poisson pseudo-maximum likelihood with absorbed effects (ppmlhdfe, fixest, pyfixest).

``PoissonHDFE("patents ~ geo_pool + W(rd)", panel, absorb=["firm", "year"])`` fits
E[y | x] = exp(x'b + offset + effects) for counts (or any non-negative outcome) by IRLS,
sweeping the effects out by weighted demeaning in every iteration
(:mod:`spillover.models._ppml`). Observations separated by the effects are dropped first
(Correia, Guimarães and Zylkin 2019). Covariances come from the shared registry with
pyfixest's conventions for ``fepois``. ``weights=`` and ``weight_type=`` take analytic or
frequency regression weights as the linear models do (:mod:`spillover.models._regweights`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import gammaln

from spillover._validate import preview, warn_dropped, warn_dropped_columns
from spillover.backends import (
    DaskBackend,
    DuckDBBackend,
    refuse_parquet_in_memory,
    resolve_backend,
)
from spillover.errors import SpecificationError
from spillover.inference.vcov import LEAST_SQUARES
from spillover.models._checks import require_rows_left
from spillover.models._demean import Absorber
from spillover.models._estimator import About, Estimator
from spillover.models._fit import Transformed, finish, labelled
from spillover.models._formula import Design, check_rank, design
from spillover.models._hdfe_out_of_core import PROVIDES
from spillover.models._poisson_dask import DaskPoisson
from spillover.models._poisson_duckdb import DuckDBPoisson
from spillover.models._poisson_out_of_core import refuse_unsupported
from spillover.models._ppml import final_design, irls
from spillover.models._regweights import (
    WeightType,
    regression_weights,
    rows_weights,
    weight_fields,
    weight_info,
)
from spillover.models._results import Results
from spillover.models._separation import (
    COLLINEAR,
    REASONS,
    check_methods,
    collinear_columns,
    describe,
    separation_sample,
)
from spillover.models.hdfe import _check_absorbed_rank, effect_codes
from spillover.panel import Panel, as_panel
from spillover.weights import Weights

__all__ = ["PoissonHDFE", "PoissonResults"]


class PoissonHDFE(Estimator):
    """Poisson pseudo-maximum likelihood (PPML) with absorbed effects.

    Parameters
    ----------
    formula : str
        e.g. ``"patents ~ geo_pool + tech_pool + W(rd)"``. The outcome must be
        non-negative; it need not be an integer (PPML is consistent for any non-negative
        outcome whose conditional mean is exp(x'b), Santos Silva and Tenreyro 2006). An
        intercept is absorbed by the effects and dropped when ``absorb`` is not empty.
    panel : Panel or DataFrame indexed by (entity, time)
    absorb : sequence of str, default ()
        Effect sets: column or index-level names, or interactions ``"region:year"``.
    offset : str, optional
        Column entering the linear predictor with coefficient one.
    exposure : str, optional
        Positive column whose log enters as an offset (added to ``offset`` if both).
    separation : {"drop", "raise"}, default "drop"
        What to do with separated observations (those whose fitted mean is 0 at the
        maximum, which no finite estimate reaches; see ``separation_check``). "drop"
        removes them (and the singletons left, iterated until none remain) with a
        DroppedRowsWarning giving count and reason, and counts them in the results;
        regressors left collinear by the drop (e.g. a dummy that only separated rows had)
        are then dropped with a DroppedColumnsWarning naming them, as fixest does. "raise"
        refuses the data instead, naming the rows.
    separation_check : sequence of {"fe", "relu"}, default ("fe", "relu")
        Separation checks to run, in this order. ``"fe"``: rows in a level of an absorbed
        effect whose outcome is zero throughout (ppmlhdfe ``sep(fe)``). ``"relu"``: rows
        separated by any combination of the regressors and effects, found by the iterative
        rectifier of Correia, Guimarães and Zylkin (2019) (ppmlhdfe ``sep(relu)``, pyfixest
        ``separation_check=["ir"]``). ``()`` runs neither.
    separation_tol : float, default 1e-4
        Tolerance of the ReLU check: a row with y = 0 is separated when its certificate
        z_i exceeds ``separation_tol`` plus the weighting error n_0 / 2^26 (n_0 the rows
        with y = 0), on the scale where the search starts from z = 1 on those rows (z =
        X gamma + effects, zero where y > 0). ppmlhdfe's ``tol`` and default.
    w : Weights, optional
        Weights for ``W(x)`` terms.
    tol : float, default 1e-8
        IRLS stops when ``|D_r - D_{r-1}| / (0.1 + |D_r|) < tol``, D the deviance
        (ppmlhdfe's and pyfixest's criterion and default).
    max_iter : int, default 100
        IRLS iterations before a ConvergenceError.
    demean_tol : float, default 1e-10
        Tolerance of the weighted demeaning in the final iterations (relative to each
        column's largest value); looser while the deviance still moves.
    weights : str, optional
        Column of regression weights (positive and finite; zero weights are refused, as in
        the linear models).
    weight_type : {"analytic", "frequency"}, default "analytic"
        ``"analytic"``: fixest ``weights=``, pyfixest ``weights_type="aweights"``; N is the
        number of rows. ``"frequency"``: whole numbers, row i standing for w_i identical
        observations; N is ``sum(w)`` (see Notes).
    backend : None, "memory", "duckdb", "dask", DuckDBBackend or DaskBackend, default None
        ``"duckdb"``/``DuckDBBackend(...)`` keeps the rows in DuckDB, out of core
        (:mod:`spillover.backends`), as for :class:`~spillover.models.HDFE`: ``panel`` may
        be a DataFrame, a ParquetPanel, a Parquet file or folder or a DuckDB relation;
        ``absorb`` is required, the formula takes plain column names, and
        ``separation_check=("fe",)`` is needed (the ReLU check runs in memory only and is
        refused out of core); ``W(x)`` terms are computed by the backend as for HDFE;
        regressors
        left collinear by the dropped rows raise a SpecificationError instead of being
        dropped. Each IRLS iteration is a weighted HDFE step in SQL with the in-memory
        algorithm and stopping rule, so estimates, covariances (unadjusted, robust, hc0,
        Cluster, DriscollKraay, Conley) and fit statistics equal the in-memory ones to the IRLS
        tolerance (tested to 1e-8; observed 1e-15 at ``tol=1e-13``); residuals and fitted
        values stay in DuckDB (None). ``"dask"``/``DaskBackend(...)`` does the same with
        the rows as pandas partitions on a Dask cluster's workers (``panel`` a DataFrame,
        Panel, dask DataFrame, ParquetPanel or Parquet path; each IRLS step a task per
        partition; DriscollKraay needs the time column, as for HDFE on Dask), with the
        same results to the same tolerance.

    Notes
    -----
    Covariances (pyfixest ``fepois`` defaults, ``ssc(k_adj=True, k_fixef="nonnested",
    G_adj=True, G_df="min")``): with H = X~' diag(mu) X~ (X~ the design demeaned with
    weights mu at the estimates), scores s_i = x~_i (y_i - mu_i), N observations, K
    coefficients and A = (sum of the levels of the effect sets) - (number of sets - 1):

    * ``"unadjusted"``: H^-1 (N - 1) / (N - K - A);
    * ``"robust"`` (HC1): H^-1 (sum s s') H^-1 N / (N - K - A);
    * ``Cluster(...)`` (CR1): factor G/(G-1) (N-1)/(N-K-A*), A* without effect sets nested
      in a cluster variable (1 if all are), G_min for two-way;
    * ``DriscollKraay`` (factor N / (N - K - A)) and ``Conley`` (no factor) as for the
      linear models (:mod:`spillover.inference.vcov`), from the same scores and bread.

    With weights w: the estimates maximise ``sum w_i (y_i log mu_i - mu_i)``. The IRLS
    working weights (demeaning and Hessian) are ``w_i mu_i``, the scores
    ``w_i x~_i (y_i - mu_i)``, the deviance and log-likelihood are weighted sums, and the
    pseudo R2 compares with the weighted mean of y.

    * Analytic weights: N, K, A and the cluster counts are those of the rows, as in pyfixest
      ``fepois(weights=, weights_type="aweights")``, which these match (its pseudo R2 is
      None with weights). The Poisson scale is known, so the weights act as precisions,
      Var(y_i) = mu_i / w_i: multiplying w by c changes no estimate and no robust, cluster,
      Driscoll-Kraay or Conley SE, but divides the ``"unadjusted"`` SEs (the inverse
      Hessian) by sqrt(c), as in pyfixest. Rescale w to mean one for Stata's ``aweight``
      normalisation.
    * Frequency weights: N = ``sum(w)`` in every factor above and the robust meat is
      ``sum w_i e_i^2 x~_i x~_i'`` (each copy once), so every result equals the unweighted
      fit on the rows repeated w_i times. pyfixest 0.60 ``fepois`` accepts
      ``weights_type="fweights"`` but does not give that fit: it counts N as rows once
      separated rows are dropped, and divides the robust scores by ``sqrt(w mu)`` (its IRLS
      weights) rather than ``sqrt(w)``.

    Separated rows and singletons are found on the rows and counted in rows: zero weights
    are refused, so a level's outcome is zero throughout with or without the weights, and
    the all-zero-outcome check is unchanged; positive weights do not change which rows a
    combination of regressors and effects separates either, so the ReLU check ignores them.

    p-values, confidence intervals and the Wald test use the normal (chi-squared)
    distribution for every covariance (``df_resid`` is None), as pyfixest and fixest do
    for Poisson. Separation (Correia, Guimarães and Zylkin 2019): the ``"fe"`` check runs
    first, then singletons are dropped, then the ReLU check (weighted least squares with
    weight 1 where y = 0 and 2^26 where y > 0, the effects swept out by weighted demeaning,
    iterated until the certificate is non-negative or no residual where y = 0 is negative;
    :mod:`spillover.models._relu`), then the singletons left. ``n_separated`` and
    ``separated_by`` (counts by check) are on the model and the results, and in
    ``summary()``. With ``separation_check=("fe",)`` separation by regressors shows as slow
    IRLS convergence and a ConvergenceError or very large coefficients. Known limit of the
    ReLU check: with more than 3000 levels in the effect sets other than the largest,
    separation in which a combination of effects takes part can be missed
    (:mod:`spillover.models._relu`).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from spillover.models import PoissonHDFE
    >>> rng = np.random.default_rng(0)
    >>> idx = pd.MultiIndex.from_product([range(50), range(6)], names=["firm", "year"])
    >>> x = rng.normal(size=len(idx))
    >>> fe = np.repeat(rng.normal(scale=0.5, size=50), 6)
    >>> df = pd.DataFrame({"x": x, "y": rng.poisson(np.exp(0.5 * x + fe + 2))}, index=idx)
    >>> res = PoissonHDFE("y ~ x", df, absorb=["firm", "year"]).fit(vcov="robust")
    >>> bool(abs(res.params["x"] - 0.5) < 0.1), res.info["iterations"] < 20
    (True, True)
    >>> res.n_separated, res.separated_by.to_dict()
    (0, {'fe': 0, 'relu': 0})

    The same fit out of core, in DuckDB (the "fe" separation check only):

    >>> out = PoissonHDFE("y ~ x", df, absorb=["firm", "year"], separation_check=("fe",),
    ...                   backend="duckdb").fit(vcov="robust")
    >>> bool(abs(out.params["x"] - res.params["x"]) < 1e-6), out.separated_by.to_dict()
    (True, {'fe': 0})
    """

    vcov_provides = LEAST_SQUARES

    def __init__(
        self,
        formula: str,
        panel: Panel | pd.DataFrame,
        *,
        absorb: Sequence[str] = (),
        offset: str | None = None,
        exposure: str | None = None,
        separation: Literal["drop", "raise"] = "drop",
        separation_check: Sequence[SeparationCheck] = ("fe", "relu"),
        separation_tol: float = 1e-4,
        w: Weights | None = None,
        tol: float = 1e-8,
        max_iter: int = 100,
        demean_tol: float = 1e-10,
        weights: str | None = None,
        weight_type: WeightType = "analytic",
        backend: str | DuckDBBackend | DaskBackend | None = None,
    ) -> None:
        if isinstance(absorb, str):
            raise SpecificationError("absorb must be a list of effects, e.g. ['firm', 'year'].")
        if separation not in ("drop", "raise"):
            raise SpecificationError(f"separation must be 'drop' or 'raise', got {separation!r}.")
        if not (0 < tol < 1) or max_iter < 1:
            raise SpecificationError("tol must lie in (0, 1) and max_iter be at least 1.")
        self.separation_check = check_methods(separation_check, separation_tol)
        self._out_of_core = None
        if (out := resolve_backend(backend)) is not None:
            side = DaskPoisson if isinstance(out, DaskBackend) else DuckDBPoisson
            refuse_unsupported(side.label, self.separation_check)
            self.formula, self.absorb, self.vcov_provides = formula, tuple(absorb), PROVIDES
            self.separation = separation
            self._out_of_core = side(
                formula, panel, self.absorb, out, separation=separation, tol=tol,
                max_iter=max_iter, demean_tol=demean_tol, weights=weights,
                weight_type=weight_type, offset=offset, exposure=exposure, w=w,
            )  # fmt: skip
            for name in ("n_separated", "separated_by", "n_singletons"):
                setattr(self, name, getattr(self._out_of_core, name))
            self.collinear_dropped = ()
            return
        refuse_parquet_in_memory(panel)
        self.separation, self.separation_tol = separation, separation_tol
        self.formula, self.panel, self.absorb, self.w = formula, as_panel(panel), tuple(absorb), w
        self.tol, self.max_iter, self.demean_tol = tol, max_iter, demean_tol
        self.weights = regression_weights(self.panel, weights, weight_type)
        self.design: Design = _drop_intercept(design(formula, self.panel, w=w), bool(absorb))
        y = self.design.y.to_numpy(dtype=float)
        _check_outcome(y, self.design.y.index, self.design.dependent)
        self._offset = _offset(self.panel.data, offset, exposure)
        self.offset, self.exposure = offset, exposure
        codes = [effect_codes(self.panel.data, a) for a in self.absorb]
        self._sample(y, codes)
        self._codes = [pd.factorize(c[self._keep])[0].astype(np.intp) for c in codes]
        self.collinear_dropped = self._check_rank(codes)

    def __repr__(self) -> str:
        return f"PoissonHDFE({self.formula!r}, absorb={list(self.absorb)!r})"

    def _sample(self, y: np.ndarray, codes: list) -> None:
        """Rows kept after dropping separated rows and singletons (``separation_check``)."""
        x = self.design.x.to_numpy(dtype=float)
        found = separation_sample(y, x, codes, methods=self.separation_check,
                                  tol=self.separation_tol)  # fmt: skip
        separated = np.zeros(len(y), bool)
        for mask in found.separated.values():
            separated |= mask
        self._keep, self.n_singletons = found.keep, found.n_singletons
        self.n_separated = int(separated.sum())
        self.separated_by = {m: int(v.sum()) for m, v in found.separated.items()}
        if self.n_separated and self.separation == "raise":
            raise SpecificationError(
                f"{self.n_separated} observations are separated ({describe(self.separated_by)}): "
                "their fitted mean is 0 at the maximum, e.g. "
                f"{preview(self.design.y.index[separated])}. Drop them, or use "
                "separation='drop'."
            )
        require_rows_left(int(self._keep.sum()), reason=ALL_SEPARATED, fix="Absorb fewer effects.")
        warn_dropped(self.separated_by.get("fe", 0), REASONS["fe"])
        warn_dropped(self.separated_by.get("relu", 0), REASONS["relu"])
        warn_dropped(self.n_singletons, "singleton observations of an absorbed effect")

    def _check_rank(self, codes: list) -> tuple[str, ...]:
        """Drop regressors left collinear by dropping separated rows (with a warning naming
        them); name regressors collinear on the data as given (SpecificationError)."""
        x = self.design.x.to_numpy(dtype=float)
        names = self.design.x.columns
        if x.shape[1] == 0:
            raise SpecificationError(f"formula {self.formula!r} has no regressors; add one.")
        xk = x[self._keep]
        xt = Absorber(self._codes).demean(xk) if self._codes else xk
        dropped = collinear_columns(xk, xt) if self.n_separated else np.zeros(len(names), bool)
        if dropped.any():  # keep the error below for regressors collinear in the data as given
            dense = [pd.factorize(c)[0] for c in codes]
            dropped &= ~collinear_columns(x, Absorber(dense).demean(x) if codes else x)
        if dropped.any():
            self.design = Design(self.design.y, self.design.x.loc[:, ~dropped],
                                 self.design.dependent, self.design.spatial_lags)  # fmt: skip
            warn_dropped_columns(list(names[dropped]), COLLINEAR)
        if self._codes:
            _check_absorbed_rank(xt[:, ~dropped], names[~dropped])
        else:
            check_rank(pd.DataFrame(xk[:, ~dropped], columns=names[~dropped]))
        return tuple(names[dropped])

    def _fit(self, spec: Any) -> Results:
        if self._out_of_core is not None:
            return self._out_of_core.fit(spec, PoissonResults)
        d, keep = self.design, self._keep
        y = d.y.to_numpy(dtype=float)[keep]
        x = d.x.to_numpy(dtype=float)[keep]
        wk = rows_weights(self.weights, keep)
        w = np.ones(len(y)) if wk is None else wk
        fit = irls(y, x, self._codes, self._offset[keep], tol=self.tol, max_iter=self.max_iter,
                   demean_tol=self.demean_tol, weights=wk)  # fmt: skip
        xt = final_design(x, fit.x_tilde, self._codes, w * fit.mu, self.demean_tol)
        root = np.sqrt(w * fit.mu)
        frame = self.panel.data if keep.all() else self.panel.data.loc[keep]
        t = Transformed(
            xt * root[:, None],
            np.sqrt(w) * (y - fit.mu) / np.sqrt(fit.mu),
            list(d.x.columns),
            fit.params,
            frame,
            absorbed=self._absorbed(self.absorb),
            effects=dict(zip(self.absorb, self._codes, strict=True)),
            absorbed_without=self._absorbed_without,
            known_scale=True,
            **weight_fields(self.weights, keep),
        )
        resid, fitted = labelled(t, y)
        resid = pd.Series(y - fit.mu, index=resid.index, name="residual")
        fitted = pd.Series(fit.mu, index=resid.index, name="fitted")
        about = About(
            model="Poisson PML, absorbed effects" if self.absorb else "Poisson PML",
            dependent=d.dependent,
            fixed_effects=self.absorb,
            fit_stats=_fit_stats(y, fit.mu, fit.deviance, w),
            info=self._info(fit),
            residuals=resid,
            fitted=fitted,
        )
        return finish(
            t, spec, self.panel, about, normal=True, results_class=PoissonResults,
            n_separated=self.n_separated,
            separated_by=pd.Series(self.separated_by, dtype=int, name="separated"),
            collinear_dropped=self.collinear_dropped,
        )  # fmt: skip

    def _info(self, fit: Any) -> dict[str, Any]:
        by_check = {f"separated ({m})": n for m, n in self.separated_by.items()}
        dropped = {"collinear dropped": ", ".join(self.collinear_dropped)}
        return {
            "separated dropped": self.n_separated,
            **by_check,
            "singletons dropped": self.n_singletons,
            **(dropped if self.collinear_dropped else {}),
            "iterations": fit.iterations,
            **weight_info(self.weights),
        }

    def _absorbed(self, names: Sequence[str]) -> int:
        """fixest's count: levels of the sets minus one for each set after the first."""
        sets = [c for a, c in zip(self.absorb, self._codes, strict=True) if a in set(names)]
        levels = [int(c.max()) + 1 for c in sets]
        return sum(levels) - max(sum(g > 1 for g in levels) - 1, 0)

    def _absorbed_without(self, names: Sequence[str]) -> int:
        rest = [a for a in self.absorb if a not in set(names)]
        return self._absorbed(rest) if rest else 1


@dataclass(frozen=True, eq=False)
class PoissonResults(Results):
    """Results of :class:`PoissonHDFE`, with what the separation checks dropped.

    Attributes
    ----------
    n_separated : int
        Rows dropped as separated, all checks together.
    separated_by : pandas.Series
        Rows dropped by each check run, indexed ``"fe"``, ``"relu"``.
    collinear_dropped : tuple of str
        Regressors dropped because they were collinear once the separated rows were gone.
    """

    n_separated: int = 0
    separated_by: pd.Series | None = field(default=None, repr=False)
    collinear_dropped: tuple[str, ...] = ()


SeparationCheck = Literal["fe", "relu"]
ALL_SEPARATED = "every observation is separated or a singleton"


def _drop_intercept(d: Design, absorbed: bool) -> Design:
    if not (absorbed and d.has_intercept):
        return d
    return Design(d.y, d.x.drop(columns="Intercept"), d.dependent, d.spatial_lags)


def _check_outcome(y: np.ndarray, index: pd.Index, name: str) -> None:
    """Refuse negative outcomes and an outcome that is zero throughout."""
    negative = y < 0
    if negative.any():
        raise SpecificationError(
            f"Poisson PML needs a non-negative outcome; {name!r} is negative in "
            f"{int(negative.sum())} rows, e.g. {preview(index[negative])} "
            f"(values {preview(y[negative])})."
        )
    if not (y > 0).any():
        raise SpecificationError(f"{name!r} is zero in every row: there is nothing to fit.")


def _offset(frame: pd.DataFrame, offset: str | None, exposure: str | None) -> np.ndarray:
    """The offset column plus log(exposure), checked to be finite (exposure positive)."""
    out = np.zeros(len(frame))
    for name, is_exposure in ((offset, False), (exposure, True)):
        if name is None:
            continue
        if name not in frame.columns:
            raise SpecificationError(f"offset/exposure column {name!r} is not in the panel.")
        v = frame[name].to_numpy(dtype=float)
        bad = ~np.isfinite(v) | ((v <= 0) if is_exposure else False)
        if bad.any():
            what = "positive and finite" if is_exposure else "finite"
            raise SpecificationError(
                f"{name!r} must be {what}; it is not in {int(bad.sum())} rows, e.g. "
                f"{preview(frame.index[bad])}."
            )
        out += np.log(v) if is_exposure else v
    return out


def _fit_stats(y: np.ndarray, mu: np.ndarray, deviance: float, w: np.ndarray) -> dict:
    """Deviance, log-likelihood, pyfixest's pseudo R2 (McFadden's, against a constant mean)
    and the mean of y, all weighted by the regression weights w (ones without)."""
    loglik = float(w @ (y * np.log(mu) - mu - gammaln(y + 1)))
    m = (w @ y) / w.sum()
    null = float(w @ (y * np.log(m) - m - gammaln(y + 1)))
    return {
        "deviance": deviance,
        "loglik": loglik,
        "pseudo_r2": 1 - loglik / null,
        "mean_y": float(m),
    }
