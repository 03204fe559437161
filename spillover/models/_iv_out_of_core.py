"""2SLS out of core: :class:`~spillover.models.PanelIV` on a backend, with or without
absorbed effects (:class:`OutOfCoreIV`, the backend-neutral algebra; its DuckDB side is
:mod:`._iv_duckdb`, with ``W(x)`` terms, its Dask side :mod:`._iv_dask`).

The sample is staged and the effects absorbed as for HDFE
(:class:`._out_of_core.OutOfCoreSample`): y, the exogenous regressors, the endogenous
regressors and the excluded instruments are swept by the backend (SQL on DuckDB, tasks on
the Dask partitions). Without absorbed effects the sample is staged with one constant
effect set (a column of zeros the backend side adds to the source), and the sweep removes
the grand means if the formula has an intercept (absorbing a constant is partialling the
intercept out) and nothing otherwise; the absorbed df is then 0, as in memory. Everything
else is algebra on their moment matrix G (one backend aggregate), which is what 2SLS needs
(Frisch-Waugh-Lovell holds for 2SLS; with an intercept every swept column sums to zero):

* first stage ``Pi = (Z'Z)^-1 Z'X`` and slopes ``b = (Pi'Z'X)^-1 Pi'Z'y`` on the swept
  columns (Z = [exog, instruments], X = [exog, endog]); the intercept is
  ``mean(y) - mean(X) b`` and ``(Xhat'Xhat)^-1`` is formed by blocks, as in the out-of-core
  HDFE;
* the scores ``xhat_i u_i`` are ``P' z_i u_i`` with P the first-stage coefficients of X on
  [1, Z] (with the intercept), so the covariance inputs are the backend's score sums of
  the instruments times u (per cluster cell, per period, the HC meat, or the Conley meat
  of :mod:`._conley_out_of_core`), mapped by P;
* first-stage statistics partial the exogenous regressors out of the endogenous ones and
  the instruments by Schur complements of G; their covariances come from the backend's
  score sums of the partialled instruments times the first-stage residuals (both linear in
  the swept columns). Definitions, df and small-sample factors are those of the in-memory
  :class:`~spillover.models.PanelIV`.

Residuals and score regressors reach the backend as coefficients on a constant and the
staged value columns (``table.linear_scores``: SQL expressions on DuckDB, a small handle
the Dask partitions evaluate), so no backend-specific code is needed here.

With regression weights w every moment, mean and score sum is w-weighted (the staged
table's reductions), which is the in-memory weighted 2SLS on ``sqrt(w)``-scaled variables;
N of df and factors is the rows (analytic) or ``sum w`` (frequency).
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from spillover.errors import SpecificationError
from spillover.inference.registry import Need, compute_vcov
from spillover.models._ooc_algebra import bread_with_intercept, check_within, parse_formula
from spillover.models._out_of_core import (
    CONSTANT,
    PROVIDES,
    OutOfCoreSample,
    cluster_count,
)

#: ``[endog ~ instruments]`` in an IV formula.
BRACKET = re.compile(r"\[([^\[\]~]+)~([^\[\]]+)\]")


def parse_iv_formula(
    formula: str, backend: str = "DuckDB"
) -> tuple[str, list[str], list[str], list[str], bool]:
    """``"y ~ x + [p ~ z1 + z2]"`` into (y, exog, endog, instruments, intercept); plain
    column names only (the out-of-core backend, named ``backend`` in the errors, computes
    no transforms)."""
    found = BRACKET.findall(formula)
    if len(found) != 1:
        raise SpecificationError(
            f"IV formula {formula!r} needs one bracket of endogenous regressors and "
            "instruments, e.g. 'y ~ x + [pool ~ z1 + z2]'."
        )
    outer = BRACKET.sub("", formula).strip()
    outer = re.sub(r"\+\s*$", "", re.sub(r"~\s*\+", "~", outer)).strip()
    if outer.endswith("~"):
        outer += " 1"
    y, exog, intercept = parse_formula(outer, backend)
    endog = parse_formula(f"{y} ~ 0 + {found[0][0]}", backend)[1]
    inst = parse_formula(f"{y} ~ 0 + {found[0][1]}", backend)[1]
    if not endog or len(inst) < len(endog):
        raise SpecificationError(
            f"{len(endog)} endogenous regressors need at least as many excluded "
            f"instruments; got {inst}."
        )
    shared = sorted(set(inst) & set(exog) | set(inst) & set(endog))
    if shared:
        raise SpecificationError(f"{shared} appear both as instruments and regressors.")
    return y, exog, endog, inst, intercept


class OutOfCoreIV(OutOfCoreSample):
    """The backend-neutral out-of-core side of :class:`~spillover.models.PanelIV`; a
    subclass adds the backend hooks of :class:`._out_of_core.OutOfCoreSample` and
    :meth:`_add_constant`."""

    #: What the fit hands the covariance kernels (PanelIV's ``vcov_provides``).
    provides: ClassVar[frozenset] = PROVIDES | {Need.COORDS}

    def __init__(
        self,
        formula: str,
        data: Any,
        absorb: Sequence[str],
        backend: Any,
        *,
        singletons: str,
        tol: float,
        max_iter: int,
        weights: str | None = None,
        weight_type: str = "analytic",
    ) -> None:
        self.y, self.exog, self.endog, self.inst, intercept = parse_iv_formula(formula, self.label)
        # Without absorbed effects the sample is staged with one constant effect set, so the
        # staging, reductions and covariance inputs are those of the absorbed case; its sweep
        # removes the grand means if there is an intercept and nothing otherwise (_sweep).
        self._no_effects = not absorb
        icpt = ["Intercept"] if intercept else []
        self.names = [*icpt, *self.exog, *self.endog]
        self.exog_names = [*icpt, *self.exog]
        super().__init__(
            data,
            [self.y, *self.exog, *self.endog, *self.inst],
            absorb or [CONSTANT],
            backend,
            intercept=intercept,
            singletons=singletons,
            tol=tol,
            max_iter=max_iter,
            weights=weights,
            weight_type=weight_type,
        )
        if self._no_effects:
            self.absorb = ()
        # what the sweep removed, for the messages
        self._removed = self.absorb or (("intercept",) if intercept else ("none",))
        ne, nx = len(self.exog), len(self.endog)
        self._e = list(range(1, 1 + ne))  # positions in the value columns (y is 0)
        self._x = list(range(1 + ne, 1 + ne + nx))
        self._z = list(range(1 + ne + nx, self.table.k))

    def _open(self, data: Any, backend: Any) -> list[str]:
        columns = super()._open(data, backend)
        return self._add_constant(CONSTANT) if self._no_effects else columns

    @abstractmethod
    def _add_constant(self, name: str) -> list[str]:
        """Add a column ``name`` of zeros to the opened source (the one effect set of a
        model without absorbed effects); return the source's columns."""

    def _sweep(self) -> tuple[np.ndarray, np.ndarray, int]:
        """As :meth:`OutOfCoreSample._sweep`; without absorbed effects (one constant set)
        the grand means are removed if there is an intercept, nothing otherwise, and the
        absorbed df is 0 (in memory: no effects, the intercept a column of X)."""
        if not self._no_effects:
            return super()._sweep()
        self._check_open()
        if self._swept is None:
            with self._errors():
                self._levels, self._bounds = self.table.levels(), self.table.code_bounds()
                raw = np.array([self.table.centred_square_sum(j) for j in range(self.table.k)])
                means = self.table.means()
                if self.intercept:
                    self.table.sweep(0)
            self._swept = (raw, means, 0)
        return self._swept

    def fit(self, spec: Any, results_class: type) -> Any:
        raw, means, absorbed = self._sweep()
        with self._errors():
            g, _ = self.table.moments(np.zeros_like(means), False)  # swept columns
            self._check(g, raw)
            b, bread, project = self._estimate(g, means, self.table.weight_total())
            shift = means if self.intercept else np.zeros_like(means)
            cols = _columns(shift, self.intercept)  # y, [1], e, x, z
            cut = 1 + int(self.intercept) + len(self._e)  # y, [1], exog | endog | instruments
            regressors = cols[:, 1 : cut + len(self._x)]
            instruments = np.hstack([cols[:, 1:cut], cols[:, cut + len(self._x) :]])
            resid = self.table.linear_scores(cols[:, 0] - regressors @ b, instruments)
            ssr, _ = self.table.sums_of_squares(shift, shift[0], resid)
            inputs = self.vcov_inputs(
                spec, resid, bread=bread, ssr=ssr, absorbed=absorbed, project=project
            )
            cov, name, df_resid = compute_vcov(spec, inputs)
            first, diag = self._first_stage(spec, g, absorbed)
        return self.results(
            results_class, b, cov, self.names, df_resid=df_resid, vcov_name=name,
            model="2SLS", fit_stats={**diag, **cluster_count(spec, inputs)},
            info={"endogenous": ", ".join(self.endog), "instruments": ", ".join(self.inst),
                  "singletons dropped": self.n_singletons},
            first_stage=first,
        )  # fmt: skip

    def _check(self, g: np.ndarray, raw: np.ndarray) -> None:
        if g[0, 0] <= 1e-20 * raw[0]:
            raise SpecificationError(
                f"the dependent variable {self.y!r} has no variation once the absorbed "
                f"effects ({', '.join(self._removed)}) are removed."
            )
        for what, cols, names in (
            ("regressors", [*self._e, *self._x], [*self.exog, *self.endog]),
            ("instruments", [*self._e, *self._z], [*self.exog, *self.inst]),
        ):
            check_within(names, g[np.ix_(cols, cols)], raw[cols], self._removed, what)
        if self.df_nobs - len(self.names) - self._sweep()[2] <= 0:
            raise SpecificationError(
                f"no residual degrees of freedom: {self.df_nobs} observations, "
                f"{len(self.names)} coefficients and {self._sweep()[2]} absorbed effects."
            )

    def _estimate(self, g: np.ndarray, means: np.ndarray, n: float):
        """Coefficients, ``(Xhat'Xhat)^-1`` and the map P from [1, Z] to Xhat (``n`` the
        rows, or ``sum w`` with weights)."""
        ex, zs = [*self._e, *self._x], [*self._e, *self._z]
        pi = np.linalg.solve(g[np.ix_(zs, zs)], g[np.ix_(zs, ex)])  # swept Z -> swept X
        hh = pi.T @ g[np.ix_(zs, ex)]  # Xhat'Xhat of the swept columns
        hh = (hh + hh.T) / 2
        slopes = np.linalg.solve(hh, pi.T @ g[zs, 0])
        if not self.intercept:
            return slopes, np.linalg.inv(hh), pi
        xbar, zbar = means[ex], means[zs]
        b = np.concatenate([[means[0] - xbar @ slopes], slopes])
        project = np.zeros((len(zs) + 1, len(ex) + 1))
        project[0, 0] = 1.0
        project[0, 1:] = xbar - zbar @ pi
        project[1:, 1:] = pi
        return b, bread_with_intercept(hh, xbar, n), project

    def _first_stage(self, spec: Any, g: np.ndarray, absorbed: int):
        """Partial first-stage F per endogenous regressor, Cragg-Donald and KP rk F, as
        :meth:`PanelIV._first_stage` computes them in memory."""
        part, ztz, _, xtx, pi, vv = _first_stage_algebra(g, self._e, self._x, self._z)
        n, n_inst, n_end = self.df_nobs, len(self._z), len(self._x)
        n_exog = len(self.exog_names)
        absorbed_fs = absorbed + n_exog
        df = n - n_inst - absorbed_fs
        # the partialled instruments Z~ and first-stage residuals v = X~ - Z~ pi, as
        # coefficients on [1, swept columns] (no constant term)
        cols = _columns(np.zeros(self.table.k), False)
        zt = cols @ part[:, :n_inst]
        v = cols @ (part[:, n_inst:] - part[:, :n_inst] @ pi)
        bread = np.linalg.inv(ztz)
        common = dict(absorbed=absorbed_fs, extra_absorbed=n_exog)
        rows = []
        for j, name in enumerate(self.endog):
            resid = self.table.linear_scores(v[:, j], zt)
            inputs = self.vcov_inputs(spec, resid, bread=bread, ssr=vv[j, j], **common)
            cov, _, dfr = compute_vcov(spec, inputs)
            f = float(pi[:, j] @ np.linalg.solve(cov, pi[:, j])) / n_inst
            p = stats.f.sf(f, n_inst, dfr) if dfr is not None else stats.chi2.sf(f * n_inst, n_inst)
            rows.append(
                {
                    "endogenous": name,
                    "partial_r2": 1 - vv[j, j] / xtx[j, j],
                    "f_stat": f,
                    "f_pvalue": float(p),
                    "df": dfr,
                }
            )
        sigma = vv / df
        cd = rk_wald(pi, np.kron(sigma, bread), ztz, xtx, n) / n_inst
        diag = {"cragg_donald_f": float(cd)}
        if spec.name != "unadjusted":
            stacked = self.table.linear_scores(v, zt)  # the scores v_j z~_m, j outer
            inputs = self.vcov_inputs(
                spec,
                stacked,
                bread=np.kron(np.eye(n_end), bread),
                ssr=vv[0, 0],
                k=n_inst,
                **common,
            )
            vpi, _, _ = compute_vcov(spec, inputs)
            diag["kleibergen_paap_f"] = float(rk_wald(pi, vpi, ztz, xtx, n) / n_inst)
        return pd.DataFrame(rows).set_index("endogenous"), diag


def _columns(shift: np.ndarray, intercept: bool) -> np.ndarray:
    """The value columns plus ``shift``, a column of ones after the first if ``intercept``
    (the columns of ``table.moments``), as coefficients on [1, v_0, v_1, ...]: one column
    each."""
    k = len(shift)
    cols = np.vstack([shift, np.eye(k)])
    if intercept:
        cols = np.insert(cols, 1, np.eye(k + 1)[0], axis=1)
    return cols


def _first_stage_algebra(g: np.ndarray, e: list[int], x: list[int], z: list[int]):
    """From the moments G of the swept columns: the coefficients expressing the partialled
    instruments and endogenous regressors as combinations of the swept columns (one
    column each), their cross moments, the first-stage coefficients and ``v'v``."""
    m = g.shape[0]
    targets = [*z, *x]
    part = np.zeros((m, len(targets)))
    part[targets, np.arange(len(targets))] = 1.0
    if e:
        part[e] = -np.linalg.solve(g[np.ix_(e, e)], g[np.ix_(e, targets)])
    moments = part.T @ g @ part
    moments = (moments + moments.T) / 2
    nz = len(z)
    ztz, ztx, xtx = moments[:nz, :nz], moments[:nz, nz:], moments[nz:, nz:]
    pi = np.linalg.solve(ztz, ztx)
    vv = xtx - ztx.T @ pi
    return part, ztz, ztx, xtx, pi, (vv + vv.T) / 2


def rk_wald(pi: np.ndarray, v_pi: np.ndarray, ztz: np.ndarray, xtx: np.ndarray, n: int) -> float:
    """Kleibergen-Paap (2006) rk statistic for rank k-1 of pi (L x k), ``v_pi`` the
    covariance of vec(pi), from the moments ``Z~'Z~`` and ``X~'X~`` of the partialled
    instruments and endogenous regressors over ``n`` observations."""
    k = pi.shape[1]
    g = np.linalg.cholesky(ztz / n).T  # G'G = Z'Z/n
    f = np.linalg.cholesky(xtx / n).T
    f_inv = np.linalg.inv(f)
    theta = g @ pi @ f_inv
    u, _, vt = np.linalg.svd(theta)
    vv = vt.T
    q = k - 1
    u12, u22 = u[:q, q:], u[q:, q:]
    v12, v22 = vv[:q, q:], vv[q:, q:]
    a_perp = np.vstack([u12, u22]) @ np.linalg.inv(u22) @ _sqrtm(u22 @ u22.T)
    b_perp = _sqrtm(v22 @ v22.T) @ np.linalg.inv(v22.T) @ np.hstack([v12.T, v22.T])
    kron = np.kron(b_perp, a_perp.T)
    lam = kron @ theta.reshape(-1, order="F")
    trans = np.kron(f_inv.T, g)  # vec(G pi F^-1) = (F^-1' kron G) vec(pi)
    omega = kron @ trans @ v_pi @ trans.T @ kron.T
    return float(lam @ np.linalg.solve(omega, lam))


def _sqrtm(a: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((a + a.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
