"""Linear regression absorbing any number of fixed-effect sets (reghdfe, fixest, pyfixest).

``HDFE("y ~ x + W(x)", panel, absorb=["firm", "year", "region:year"])`` sweeps the
listed effects out of y and X without building dummies (see
:mod:`spillover.models._demean`), then runs OLS on the residuals. Covariances come from
the shared registry, with reghdfe's degrees-of-freedom conventions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from spillover._validate import preview, warn_dropped
from spillover.backends import (
    DaskBackend,
    DuckDBBackend,
    refuse_parquet_in_memory,
    resolve_backend,
)
from spillover.errors import SpecificationError
from spillover.inference.vcov import LEAST_SQUARES
from spillover.models._checks import (
    require_residual_df,
    require_rows_left,
    require_variation,
)
from spillover.models._demean import Absorber, factorize, singleton_mask
from spillover.models._estimator import About, Estimator
from spillover.models._fit import Transformed, finish, labelled, ols
from spillover.models._formula import Design, check_rank, design
from spillover.models._hdfe_dask import DaskHDFE
from spillover.models._hdfe_duckdb import DuckDBHDFE
from spillover.models._hdfe_out_of_core import PROVIDES
from spillover.models._regweights import (
    WeightType,
    regression_weights,
    rows_weights,
    scaled,
    weight_fields,
    weight_info,
    weighted_mean,
)
from spillover.models._results import Results
from spillover.panel import Panel, as_panel
from spillover.weights import Weights

__all__ = ["HDFE", "effect_codes"]


def effect_codes(frame: pd.DataFrame, spec: str) -> np.ndarray:
    """Integer codes of an effect given as a column / index level or ``"a:b"`` interaction."""
    parts = [p.strip() for p in spec.split(":")]
    code = np.zeros(len(frame), dtype=np.int64)
    for part in parts:
        if part in frame.columns:
            values = frame[part].to_numpy()
        elif part in (frame.index.names or []):
            values = frame.index.get_level_values(part).to_numpy()
        else:
            raise SpecificationError(
                f"cannot absorb {spec!r}: {part!r} is not a column or index level; "
                f"available: {preview(list(frame.index.names) + list(frame.columns), 12)}."
            )
        missing = pd.isna(values)
        if missing.any():
            raise SpecificationError(
                f"effect {part!r} is missing in {int(missing.sum())} rows, e.g. at "
                f"{preview(frame.index[missing])}. Fill it, or drop those rows explicitly "
                f"(panel.dropna([{part!r}]))."
            )
        c, g = factorize(values)
        code = code * g + c
    return factorize(code)[0] if len(parts) > 1 else code


class HDFE(Estimator):
    """OLS with absorbed high-dimensional fixed effects.

    Parameters
    ----------
    formula : str
        e.g. ``"log_wage ~ geo_pool + tech_pool"``; ``log(x)`` and ``W(x)`` terms allowed.
    panel : Panel or DataFrame indexed by (entity, time)
    absorb : sequence of str
        Effect sets: column or index-level names, or interactions ``"region:year"``.
    singletons : {"drop", "keep"}, default "drop"
        Drop observations that are alone in a level of any effect set (repeatedly, until
        none remain), as reghdfe and fixest do: their effect fits them exactly, so they
        carry no information but would inflate N in the degrees of freedom. The count
        is reported in a DroppedRowsWarning and in ``info["singletons dropped"]``.
    w : Weights, optional
        Weights for ``W(x)`` terms.
    tol, max_iter :
        Convergence settings of the iterative demeaning (used when the effect sets other
        than the largest have more than 3,000 levels in total); ConvergenceError if not met.
    weights : str, optional
        Column of regression weights (positive and finite; zero weights are refused).
    weight_type : {"analytic", "frequency"}, default "analytic"
        ``"analytic"``: Stata ``aweight``, pyfixest ``weights_type="aweights"``, fixest
        ``weights=``; N is the number of rows. ``"frequency"``: Stata ``fweight``, pyfixest
        ``"fweights"``; whole numbers, row i standing for w_i identical observations, and N
        is ``sum(w)``.
    backend : None, "memory", "duckdb", "dask", DuckDBBackend or DaskBackend, default None
        ``"duckdb"``/``DuckDBBackend(path, memory_limit="4GB", temp_directory=...)`` keeps
        the rows in DuckDB, out of core (:mod:`spillover.backends`); ``panel`` may then be a
        DataFrame, a :class:`~spillover.backends.ParquetPanel`, a Parquet file or folder, or
        a DuckDB relation, the formula takes plain column names and ``W(x)`` terms (with
        ``w``; the panel's entity and time columns must be known, the panel balanced, as in
        memory; W x is a join and grouped sum in DuckDB), ``vcov`` is unadjusted, robust,
        hc0, Cluster (one- or two-way), DriscollKraay or Conley (both need the time column:
        a ParquetPanel, Panel or DataFrame indexed by (entity, time); Conley reads
        ``coords=`` columns or a Panel's geometry), and ``weights`` work as in memory.
        Results equal the in-memory ones (same conventions); residuals and fitted values
        stay in DuckDB (``residuals``/``fitted`` are None).
        ``"dask"``/``DaskBackend(client_or_address, ...)`` does the same on a Dask cluster
        (local or remote), with a pandas or dask DataFrame, a ParquetPanel, or a Parquet
        file or folder; ``W(x)`` terms as on DuckDB (the same checks and errors; W x per
        period on the workers, the rows shuffled once by period), ``vcov`` is unadjusted,
        robust, hc0, Cluster, DriscollKraay or Conley (the time column, and for Conley the
        entity column and coordinates, known as on DuckDB), ``weights`` as on DuckDB.
        ``model.close()`` or ``with HDFE(...) as model:`` releases the DuckDB tables or the
        Dask partitions.

    Notes
    -----
    An intercept in the formula is reported as ``mean(y) - mean(X) b`` over the sample
    (reghdfe's ``_cons``) and counted in K. Absorbed degrees of freedom A: levels of all
    sets minus the redundant ones (exact rank of the dummies when the smaller sets are
    small, otherwise reghdfe's count), minus one for the intercept. With
    ``Cluster(...)``, effect sets nested in a cluster variable are left out of A
    (reghdfe). Regressors that are constant within an absorbed level are named in a
    SpecificationError. fixest and pyfixest (default ``fixef.K = "nested"``, without
    ``fixef.force_exact``) instead count one redundant level per further set, so where a
    set is nested in another (year within region x year) they count its levels again: with
    firm + year + region x year effects and firm clusters their K exceeds this A by the
    years minus one and their clustered SEs are larger by ``sqrt((N - K) / (N - K_fixest))``
    (about 0.2% at 2,000 rows and 8 years; tested). With one or two sets, or sets not
    nested in each other, the counts agree.

    With weights w: the effects are swept out by weighted least squares (weighted group
    means on every effect set, exact and iterative paths), the intercept is the weighted
    ``mean(y) - mean(X) b``, and ``sqrt(w) y`` is regressed on ``sqrt(w) X`` (WLS), so the
    scores of the sandwich are ``w x e``. Small-sample factors and df use N = rows for
    analytic and N = sum(w) for frequency weights, K and A unchanged, cluster counts
    unchanged; the robust meat of frequency weights is ``sum w e^2 x x'``. These are
    pyfixest's ``feols(weights=, weights_type=)`` conventions, and the frequency-weighted fit
    equals the unweighted fit on the rows repeated w times (nobs then reports sum(w)).
    Stata agrees for ``fweight``; for ``aweight`` Stata rescales w to sum to the rows, which
    changes no estimate, standard error or df. Singletons are counted in rows, not weights.

    Examples
    --------
    >>> from spillover.models import HDFE
    >>> from spillover.models.panel import _example_panel
    >>> res = HDFE("y ~ x", _example_panel(), absorb=["firm", "year"]).fit()
    >>> round(float(res.params["x"]), 3), res.fixed_effects
    (2.0, ('firm', 'year'))
    """

    vcov_provides = LEAST_SQUARES

    def __init__(
        self,
        formula: str,
        panel: Panel | pd.DataFrame,
        *,
        absorb: Sequence[str],
        singletons: Literal["drop", "keep"] = "drop",
        w: Weights | None = None,
        tol: float = 1e-10,
        max_iter: int = 10_000,
        weights: str | None = None,
        weight_type: WeightType = "analytic",
        backend: str | DuckDBBackend | DaskBackend | None = None,
    ) -> None:
        if isinstance(absorb, str) or not absorb:
            raise SpecificationError(
                "absorb must be a non-empty list of effects, e.g. absorb=['firm', 'year']."
            )
        if singletons not in ("drop", "keep"):
            raise SpecificationError(f"singletons must be 'drop' or 'keep', got {singletons!r}.")
        self.formula = formula
        self._out_of_core = None
        if (out := resolve_backend(backend)) is not None:
            kind = DaskHDFE if isinstance(out, DaskBackend) else DuckDBHDFE
            self.absorb, self.vcov_provides = tuple(absorb), PROVIDES
            self._out_of_core = kind(
                formula,
                panel,
                self.absorb,
                out,
                singletons=singletons,
                tol=tol,
                max_iter=max_iter,
                weights=weights,
                weight_type=weight_type,
                w=w,
            )
            self.n_singletons = self._out_of_core.n_singletons
            return
        refuse_parquet_in_memory(panel)
        self.panel = as_panel(panel)
        self.absorb = tuple(absorb)
        self.w = w
        self.tol, self.max_iter = tol, max_iter
        self.design: Design = design(formula, self.panel, w=w)
        if self.design.x.shape[1] == 0:
            raise SpecificationError(
                f"formula {formula!r} has no regressors; add at least one (or the intercept, "
                "'y ~ 1')."
            )
        self.weights = regression_weights(self.panel, weights, weight_type)
        codes = [effect_codes(self.panel.data, a) for a in self.absorb]
        keep = singleton_mask(codes) if singletons == "drop" else np.ones(len(codes[0]), bool)
        self.n_singletons = int((~keep).sum())
        require_rows_left(int(keep.sum()), reason=SINGLETONS_LEFT_NOTHING, fix=FEWER_EFFECTS)
        warn_dropped(self.n_singletons, "singleton observations of an absorbed effect")
        self._keep = keep
        self._codes = [c[keep] for c in codes]

    def __repr__(self) -> str:
        return f"HDFE({self.formula!r}, absorb={list(self.absorb)!r})"

    def demeaned(self) -> tuple[np.ndarray, np.ndarray, Absorber]:
        """Dependent and regressors with the effects swept out (intercept columns zero)."""
        keep = self._keep
        yx = np.column_stack([self.design.y.to_numpy()[keep], self.design.x.to_numpy()[keep]])
        absorber = Absorber(
            self._codes,
            tol=self.tol,
            max_iter=self.max_iter,
            weights=rows_weights(self.weights, keep),
        )
        out = absorber.demean(yx)
        return out[:, 0], out[:, 1:], absorber

    def _fit(self, spec: Any) -> Results:
        if self._out_of_core is not None:
            return self._out_of_core.fit(spec)
        d = self.design
        keep = self._keep
        y = d.y.to_numpy()[keep]
        x = d.x.to_numpy()[keep]
        yt, xt, absorber = self.demeaned()
        icpt = int(d.has_intercept)
        slopes = [j for j, c in enumerate(d.x.columns) if c != "Intercept"]
        self._check(y, x, yt, xt, absorber)
        _check_absorbed_rank(xt[:, slopes], d.x.columns[slopes])
        wk = rows_weights(self.weights, keep)
        if icpt:
            xt, yt = xt + weighted_mean(x, wk), yt + weighted_mean(y, wk)
        xs, ys, root = scaled(xt, yt, wk)
        b = ols(xs, ys)
        frame = self.panel.data if keep.all() else self.panel.data.loc[keep]
        t = Transformed(
            xs,
            ys - xs @ b,
            list(d.x.columns),
            b,
            frame,
            absorbed=absorber.rank() - icpt,
            effects=dict(zip(self.absorb, self._codes, strict=True)),
            absorbed_without=self._absorbed_without,
            **weight_fields(self.weights, keep),
        )
        resid, fitted = labelled(replace(t, resid=yt - xt @ b), y)
        about = About(
            model="OLS, absorbed effects",
            dependent=d.dependent,
            fixed_effects=self.absorb,
            fit_stats=_r2_stats(t.resid, yt * root, y, root)
            | {"mean_y": float(weighted_mean(y, wk))},
            info={"singletons dropped": self.n_singletons, **weight_info(self.weights)},
            residuals=resid,
            fitted=fitted,
        )
        return finish(t, spec, self.panel, about)

    def _check(self, y, x, yt, xt, absorber: Absorber) -> None:
        """Refuse what the absorbed effects leave nothing of (:mod:`.._checks`)."""
        d = self.design
        require_variation(
            d.dependent,
            (y, yt),
            (x, xt),
            list(d.x.columns),
            where=f"once the absorbed effects ({', '.join(self.absorb)}) are removed",
            fix="absorb fewer or coarser effects",
        )
        slopes = [c for c in d.x.columns if c != "Intercept"]
        require_residual_df(len(y), absorber.rank(), slopes, effects="absorbed effects")

    def _absorbed_without(self, names: Sequence[str]) -> int:
        rest = [c for a, c in zip(self.absorb, self._codes, strict=True) if a not in set(names)]
        icpt = int(self.design.has_intercept)
        return max(Absorber(rest).rank() - icpt, 0) if rest else 0


SINGLETONS_LEFT_NOTHING = (
    "every observation is alone in its level of an absorbed effect, and singletons are "
    "dropped (their effect fits them exactly)"
)
FEWER_EFFECTS = "Absorb fewer or coarser effects: with these, the data identify no slope."


def _r2_stats(
    resid: np.ndarray, ys: np.ndarray, y: np.ndarray, root: np.ndarray
) -> dict[str, float]:
    """R-squared and within R-squared (weighted when ``root = sqrt(w)`` is not all ones).

    ``resid`` and ``ys`` are the scaled residuals and within-transformed y; ``y`` raw.
    """
    w = root**2
    ssr = float(resid @ resid)
    y_within = ys / root
    tss_within = float(w @ (y_within - weighted_mean(y_within, w)) ** 2)
    tss = float(w @ (y - weighted_mean(y, w)) ** 2)
    return {"r2": 1 - ssr / tss, "r2_within": 1 - ssr / tss_within}


def _check_absorbed_rank(xt: np.ndarray, names: pd.Index) -> None:
    """Name regressors absorbed by the effects; the cheap Gram test runs first."""
    if xt.shape[1] == 0:
        return
    gram = xt.T @ xt
    scale = np.sqrt(np.clip(np.diag(gram), 1e-300, None))
    eig = np.linalg.eigvalsh(gram / np.outer(scale, scale))
    if np.diag(gram).min() > 0 and eig.min() > 1e-9:
        return
    check_rank(pd.DataFrame(xt, columns=names), what="regressors after absorbing the effects")
