"""Panel two-stage least squares with absorbed effects and first-stage diagnostics.

``PanelIV("y ~ x_exog + [pool ~ W(z1) + z2]", panel, absorb=["firm", "year"])``: the
bracket names the endogenous regressors and, after ``~``, the excluded instruments (which
may be spatial lags ``W(z)`` of exogenous neighbour characteristics). Effects are swept
out of every variable first (Frisch-Waugh-Lovell holds for 2SLS), then 2SLS runs on the
residuals. Covariances come from the shared registry, with scores ``xhat_i u_i`` (xhat
the first-stage fitted regressors, u the structural residuals) and bread
``(Xhat'Xhat)^-1``, as in linearmodels' ``IV2SLS`` and Stata's ``ivreghdfe``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from spillover._validate import warn_dropped
from spillover.backends import (
    DaskBackend,
    DuckDBBackend,
    refuse_parquet_in_memory,
    resolve_backend,
)
from spillover.errors import SpecificationError
from spillover.inference.registry import compute_vcov
from spillover.inference.vcov import LEAST_SQUARES
from spillover.models._checks import (
    effects_phrase,
    require_residual_df,
    require_rows_left,
    require_variation,
)
from spillover.models._demean import Absorber, singleton_mask
from spillover.models._estimator import About, Estimator
from spillover.models._fit import Transformed, finish, labelled, make_inputs
from spillover.models._formula import check_rank, design
from spillover.models._iv_dask import DaskIV
from spillover.models._iv_duckdb import DuckDBIV
from spillover.models._iv_out_of_core import BRACKET, rk_wald
from spillover.models._regweights import (
    WeightType,
    regression_weights,
    rows_weights,
    weight_fields,
    weight_info,
    weighted_mean,
)
from spillover.models._results import Results
from spillover.models.hdfe import FEWER_EFFECTS, SINGLETONS_LEFT_NOTHING, effect_codes
from spillover.panel import Panel, as_panel
from spillover.weights import Weights

__all__ = ["IVResults", "PanelIV"]


@dataclass(frozen=True, eq=False)
class IVResults(Results):
    """Results of :class:`PanelIV`, with first-stage diagnostics.

    Attributes
    ----------
    first_stage : pandas.DataFrame
        One row per endogenous regressor: ``partial_r2`` of the excluded instruments,
        ``f_stat`` (Wald F that they are jointly zero, with the model's covariance),
        ``f_pvalue`` and ``df``. ``fit_stats`` adds ``cragg_donald_f`` and, unless the
        covariance is ``"unadjusted"``, ``kleibergen_paap_f``.
    """

    first_stage: pd.DataFrame | None = field(default=None, repr=False)


@dataclass(frozen=True)
class _Parts:
    y: np.ndarray
    exog: pd.DataFrame
    endog: pd.DataFrame
    instruments: pd.DataFrame


class PanelIV(Estimator):
    """Two-stage least squares for panels, optionally absorbing effect sets.

    Parameters
    ----------
    formula : str
        ``"y ~ exog1 + exog2 + [endog1 + endog2 ~ z1 + W(z2)]"``.
    panel : Panel or DataFrame indexed by (entity, time)
    absorb : sequence of str, optional
        Effect sets to absorb, as in :class:`~spillover.models.HDFE`.
    singletons : {"drop", "keep"}, default "drop"
        As in :class:`~spillover.models.HDFE` (only with ``absorb``).
    w : Weights, optional
        Weights for ``W(x)`` terms in any part of the formula.
    weights : str, optional
        Column of regression weights: positive and finite (zero weights are refused).
    weight_type : {"analytic", "frequency"}, default "analytic"
        As in :class:`~spillover.models.HDFE` (Stata ``aweight``/``fweight``, pyfixest
        ``"aweights"``/``"fweights"``).
    backend : None, "memory", "duckdb", "dask", DuckDBBackend or DaskBackend, default None
        ``"duckdb"``/``DuckDBBackend(...)`` keeps the rows in DuckDB, out of core
        (:mod:`spillover.backends`), as for :class:`~spillover.models.HDFE`: ``panel`` may be
        a DataFrame, a :class:`~spillover.backends.ParquetPanel`, a Parquet file or folder,
        or a DuckDB relation; with or without ``absorb``; the formula takes plain column
        names and ``W(x)`` terms (with ``w``, in any part; computed in DuckDB, the panel's
        entity and time columns known and the panel balanced, as in memory), ``weights`` as
        in memory; ``vcov`` is unadjusted, robust, hc0, Cluster (one- or two-way),
        DriscollKraay or Conley (the time column known; ``coords=`` columns or a Panel's
        geometry, as in memory). Estimates, covariances and first-stage
        statistics equal the in-memory ones (same definitions); residuals and fitted values
        stay in DuckDB (None). ``model.close()`` or ``with PanelIV(...) as model:``
        releases the DuckDB tables. ``"dask"``/``DaskBackend(...)`` does the same on a Dask
        cluster, as for :class:`~spillover.models.HDFE` (a pandas or dask DataFrame, a
        Panel, a ParquetPanel, or a Parquet file or folder; the same covariances and
        weights, ``W(x)`` terms and Conley errors; to rounding the same results).
    tol, max_iter :
        Convergence settings of the iterative absorbing, as in
        :class:`~spillover.models.HDFE`.

    Notes
    -----
    Degrees of freedom as in :mod:`spillover.inference.vcov`, K counting exogenous and
    endogenous regressors (and the intercept). First-stage statistics partial out the
    exogenous regressors and absorbed effects. The Cragg-Donald Wald F is
    ``mineig(S^-1/2' X'P_Z X S^-1/2) / L`` with ``S = X'M_Z X / (N - K1 - L - A)``
    (L excluded instruments, K1 exogenous regressors, A absorbed df); it equals the
    classical first-stage F when there is one endogenous regressor. The Kleibergen-Paap
    (2006) rk Wald F is the rk statistic for rank ``k - 1`` of the first-stage
    coefficients, divided by L, with their covariance computed by the model's ``vcov``
    (same small-sample factor); with one endogenous regressor it equals that regressor's
    first-stage Wald F, and with ``"unadjusted"`` it reduces to Cragg-Donald.

    With weights w, the effects are swept out by weighted means and every variable is
    scaled by ``sqrt(w)`` before 2SLS (weighted 2SLS, as pyfixest's ``feols`` IV and
    ``ivreghdfe [aw=]``), so the scores are ``w xhat u`` and the first-stage statistics are
    weighted; N is the rows (analytic) or ``sum(w)`` (frequency). Residuals are unscaled.

    Examples
    --------
    >>> import numpy as np
    >>> from spillover.models import PanelIV
    >>> from spillover.models.panel import _example_panel
    >>> p = _example_panel()
    >>> p = p.assign(z=p["x"] + 0.1 * np.cos(np.arange(p.nobs)))
    >>> res = PanelIV("y ~ [x ~ z]", p, absorb=["firm"]).fit(vcov="robust")
    >>> round(float(res.params["x"]), 2)
    2.0
    """

    vcov_provides = LEAST_SQUARES

    def __init__(
        self,
        formula: str,
        panel: Panel | pd.DataFrame,
        *,
        absorb: Sequence[str] | None = None,
        singletons: Literal["drop", "keep"] = "drop",
        w: Weights | None = None,
        weights: str | None = None,
        weight_type: WeightType = "analytic",
        backend: str | DuckDBBackend | DaskBackend | None = None,
        tol: float = 1e-10,
        max_iter: int = 10_000,
    ) -> None:
        self.formula = formula
        self.tol, self.max_iter = tol, max_iter
        self._out_of_core = None
        if (out := resolve_backend(backend)) is not None:
            kind = DaskIV if isinstance(out, DaskBackend) else DuckDBIV
            self.absorb, self.vcov_provides = tuple(absorb or ()), kind.provides
            self.dependent = formula.split("~")[0].strip()
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
            return
        refuse_parquet_in_memory(panel)
        self.panel = as_panel(panel)
        self.absorb = tuple(absorb or ())
        self.w = w
        self.weights = regression_weights(self.panel, weights, weight_type)
        self._parts = _parse(formula, self.panel, w)
        self.dependent = formula.split("~")[0].strip()
        if self.absorb:
            codes = [effect_codes(self.panel.data, a) for a in self.absorb]
            keep = singleton_mask(codes) if singletons == "drop" else np.ones(len(codes[0]), bool)
            require_rows_left(int(keep.sum()), reason=SINGLETONS_LEFT_NOTHING, fix=FEWER_EFFECTS)
            warn_dropped(int((~keep).sum()), "singleton observations of an absorbed effect")
            self._codes = [c[keep] for c in codes]
        else:
            keep = np.ones(self.panel.nobs, dtype=bool)
            self._codes = []
        self._keep = keep

    def __repr__(self) -> str:
        return f"PanelIV({self.formula!r}, absorb={list(self.absorb)!r})"

    def _arrays(self) -> tuple[np.ndarray, ...]:
        """y, exog, endog, instruments: effects swept out (weighted means under regression
        weights), grand means added back."""
        p, keep = self._parts, self._keep
        blocks = [p.y[:, None], p.exog.to_numpy(), p.endog.to_numpy(), p.instruments.to_numpy()]
        stacked = np.column_stack(blocks)[keep]
        w = rows_weights(self.weights, keep)
        if self._codes:
            absorber = Absorber(self._codes, weights=w, tol=self.tol, max_iter=self.max_iter)
            stacked = absorber.demean(stacked) + weighted_mean(stacked, w) * int(
                "Intercept" in p.exog.columns
            )
        cuts = np.cumsum([b.shape[1] for b in blocks])[:-1]
        return tuple(np.split(stacked, cuts, axis=1))

    def _absorbed(self, names: Sequence[str] = ()) -> int:
        rest = [c for a, c in zip(self.absorb, self._codes, strict=True) if a not in set(names)]
        if not rest:
            return 0
        return max(Absorber(rest).rank() - int("Intercept" in self._parts.exog.columns), 0)

    def _fit(self, spec: Any) -> IVResults:
        """Estimate by 2SLS with the resolved covariance ``spec``."""
        if self._out_of_core is not None:
            return self._out_of_core.fit(spec, IVResults)
        y, exog, endog, z = self._arrays()
        self._check(y[:, 0], np.column_stack([exog, endog]))
        if self.weights is not None:  # weighted 2SLS: every variable times sqrt(w)
            root = np.sqrt(rows_weights(self.weights, self._keep))[:, None]
            y, exog, endog, z = (a * root for a in (y, exog, endog, z))
        y = y[:, 0]
        x = np.column_stack([exog, endog])
        inst = np.column_stack([exog, z])
        check_rank(
            pd.DataFrame(inst, columns=[*self._parts.exog, *self._parts.instruments]),
            what="instruments",
        )
        xhat = inst @ np.linalg.lstsq(inst, x, rcond=None)[0]
        b = np.linalg.solve(xhat.T @ xhat, xhat.T @ y)
        resid = y - x @ b
        frame = self.panel.data if self._keep.all() else self.panel.data.loc[self._keep]
        names = [*self._parts.exog.columns, *self._parts.endog.columns]
        t = Transformed(
            xhat,
            resid,
            names,
            b,
            frame,
            absorbed=self._absorbed(),
            effects=dict(zip(self.absorb, self._codes, strict=True)),
            absorbed_without=self._absorbed,
            **weight_fields(self.weights, self._keep),
        )
        first, diag = self._first_stage(spec, exog, endog, z, t)
        resid, fitted = self._labelled(t, y, x)
        about = About(
            model="2SLS",
            dependent=self.dependent,
            fixed_effects=self.absorb,
            fit_stats=diag,
            info={
                "endogenous": ", ".join(self._parts.endog.columns),
                "instruments": ", ".join(self._parts.instruments.columns),
                **weight_info(self.weights),
            },
            residuals=resid,
            fitted=fitted,
        )
        return finish(t, spec, self.panel, about, results_class=IVResults, first_stage=first)

    def _labelled(self, t: Transformed, y: np.ndarray, x: np.ndarray):
        """Residuals and fitted values, unscaled when ``y`` and ``x`` carry ``sqrt(w)``."""
        if self.weights is None:
            return labelled(t, y)
        root = np.sqrt(rows_weights(self.weights, self._keep))
        return labelled(replace(t, resid=t.resid / root), y / root)

    def _check(self, y: np.ndarray, x: np.ndarray) -> None:
        """Refuse a dependent variable or regressors with no variation left, or no df.

        ``y`` and ``x`` come from :meth:`_arrays`: effects swept out and grand means added
        back, so removing the column means leaves what the effects leave.
        """
        p, keep = self._parts, self._keep
        names = [*p.exog.columns, *p.endog.columns]
        icpt = "Intercept" in p.exog.columns
        if self._codes:
            raw = np.column_stack([p.exog.to_numpy(), p.endog.to_numpy()])[keep]
            require_variation(
                self.dependent,
                (p.y[keep], y - y.mean()),
                (raw, x - x.mean(axis=0)),
                names,
                where=f"once the absorbed effects ({', '.join(self.absorb)}) are removed",
                fix="absorb fewer or coarser effects",
            )
        else:
            require_variation(
                self.dependent,
                (p.y, y - y.mean() if icpt else y),
                where=effects_phrase("none", "", ""),
                fix="use a dependent variable that varies",
            )
        slopes = [c for c in names if c != "Intercept"]
        absorbed = self._absorbed() + int(icpt)
        require_residual_df(int(keep.sum()), absorbed, slopes, effects="absorbed effects")
        check_rank(pd.DataFrame(x, columns=names), what="regressors (exogenous and endogenous)")

    def _first_stage(self, spec: Any, exog, endog, z, t: Transformed):
        """Partial first-stage F per endogenous regressor, Cragg-Donald and KP rk F."""

        def partial(a):
            if exog.shape[1] == 0:
                return a
            return a - exog @ np.linalg.lstsq(exog, a, rcond=None)[0]

        xt, zt = partial(endog), partial(z)
        n = len(xt) if t.nobs is None else t.nobs  # sum(w) under frequency weights
        n_inst, n_end = zt.shape[1], xt.shape[1]
        pi = np.linalg.lstsq(zt, xt, rcond=None)[0]
        v = xt - zt @ pi
        absorbed = t.absorbed + exog.shape[1]
        df = n - n_inst - absorbed
        # the first-stage regressions: rows, effects and weights (t's fields) of the fit
        first = replace(
            t,
            x=zt,
            names=list(self._parts.instruments.columns),
            absorbed=absorbed,
            absorbed_without=_shift(t, exog.shape[1]),
        )
        rows = []
        for j, name in enumerate(self._parts.endog.columns):
            sub = replace(first, resid=v[:, j], params=pi[:, j])
            cov, _, dfr = compute_vcov(spec, make_inputs(sub, self.panel, spec))
            f = float(pi[:, j] @ np.linalg.solve(cov, pi[:, j])) / n_inst
            p = stats.f.sf(f, n_inst, dfr) if dfr is not None else stats.chi2.sf(f * n_inst, n_inst)
            r2 = 1 - (v[:, j] @ v[:, j]) / (xt[:, j] @ xt[:, j])
            rows.append(
                {"endogenous": name, "partial_r2": r2, "f_stat": f, "f_pvalue": float(p), "df": dfr}
            )
        sigma = v.T @ v / df
        ztz, xtx = zt.T @ zt, xt.T @ xt
        cd = rk_wald(pi, np.kron(sigma, np.linalg.inv(ztz)), ztz, xtx, len(zt)) / n_inst
        diag = {"cragg_donald_f": float(cd)}
        if spec.name != "unadjusted":
            stacked = np.column_stack([zt * v[:, [j]] for j in range(n_end)])
            bread = np.kron(np.eye(n_end), np.linalg.inv(zt.T @ zt))
            sub = replace(first, resid=v[:, 0], params=pi[:, 0])
            inputs = replace(make_inputs(sub, self.panel, spec), bread=bread, scores=stacked)
            vpi, _, _ = compute_vcov(spec, inputs)
            diag["kleibergen_paap_f"] = float(rk_wald(pi, vpi, ztz, xtx, len(zt)) / n_inst)
        return pd.DataFrame(rows).set_index("endogenous"), diag


def _shift(t: Transformed, extra: int):
    if t.absorbed_without is None:
        return None
    return lambda names: t.absorbed_without(names) + extra


def _parse(formula: str, panel: Panel, w: Weights | None) -> _Parts:
    """Split ``y ~ exog + [endog ~ instruments]`` and build the three designs."""
    found = BRACKET.findall(formula)
    outer = BRACKET.sub("", formula)
    if len(found) != 1 or "~" not in outer or not outer.split("~")[0].strip():
        what = "one bracket of endogenous regressors and instruments"
        if len(found) == 1:
            what = "a dependent variable and a '~' before the regressors"
        raise SpecificationError(
            f"IV formula {formula!r} needs {what}, e.g. 'y ~ x + [pool ~ W(z1) + z2]'."
        )
    endog_terms, inst_terms = (s.strip() for s in found[0])
    if not endog_terms or not inst_terms:
        raise SpecificationError(
            f"the bracket of IV formula {formula!r} needs the endogenous regressors before "
            "its '~' and the excluded instruments after it, e.g. '[pool ~ W(z1) + z2]'."
        )
    lhs, rhs = (s.strip() for s in outer.split("~", 1))
    rhs = re.sub(r"\+\s*$", "", re.sub(r"^\s*\+", "", rhs.strip())).strip() or "1"
    base = design(f"{lhs} ~ {rhs}", panel, w=w)
    endog = design(f"{lhs} ~ 0 + {endog_terms}", panel, w=w).x
    inst = design(f"{lhs} ~ 0 + {inst_terms}", panel, w=w).x
    if inst.shape[1] < endog.shape[1]:
        raise SpecificationError(
            f"{endog.shape[1]} endogenous regressors need at least as many excluded "
            f"instruments; got {list(inst.columns)}."
        )
    shared = set(inst.columns) & set(base.x.columns) | set(inst.columns) & set(endog.columns)
    if shared:
        raise SpecificationError(f"{sorted(shared)} appear both as instruments and regressors.")
    return _Parts(base.y.to_numpy(), base.x, endog, inst)
