"""Shared pieces of the specification tests: the result type and panel arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spillover._calendar import period_numbers
from spillover._typing import FloatArray, IntArray
from spillover._validate import preview
from spillover.errors import PanelError, SpecificationError
from spillover.inference import kernels

_INTERCEPTS = frozenset({"Intercept", "(Intercept)", "const", "Const", "constant", "_cons"})


@dataclass(frozen=True)
class TestResult:
    """Outcome of a specification test.

    Attributes
    ----------
    name : str
        Test name, e.g. ``"Hausman (FE vs RE)"``.
    statistic : float
        Test statistic.
    df : float, tuple of float, or None
        Degrees of freedom of the reference distribution (None for the normal).
    pvalue : float
        P-value under the null.
    distribution : str
        Reference distribution: ``"chi2"``, ``"F"``, ``"normal"`` (two-sided) or
        ``"normal, one-sided"``.
    null : str
        The null hypothesis in words.
    note : str
        Caveats, e.g. a generalised inverse was used.
    """

    __test__ = False  # not a pytest class

    name: str
    statistic: float
    df: float | tuple[float, float] | None
    pvalue: float
    distribution: str
    null: str
    note: str = ""

    def __getitem__(self, key: str) -> Any:
        """``result["statistic"]``, ``["df"]``, ``["pvalue"]``, ``["note"]``: the fields by
        name, as the Series some tests returned before."""
        if key not in ("statistic", "df", "pvalue", "note", "name"):
            raise KeyError(key)
        return getattr(self, key)

    def __str__(self) -> str:
        df = "" if self.df is None else f", df = {self.df}"
        lines = [
            self.name,
            f"  statistic = {self.statistic:.6g} ({self.distribution}{df}), "
            f"p-value = {self.pvalue:.4g}",
            f"  H0: {self.null}",
        ]
        return "\n".join(lines + ([f"  Note: {self.note}"] if self.note else []))


# ---------------------------------------------------------------------- Hausman
@dataclass(frozen=True)
class _PanelArrays:
    """y, x, entity and time codes, sorted by (entity, time)."""

    y: FloatArray
    x: FloatArray
    entity: IntArray
    time: IntArray
    calendar: IntArray  # calendar period numbers (spillover._calendar), same order

    @classmethod
    def build(cls, y: Any, x: Any, entity: Any, time: Any) -> _PanelArrays:
        if isinstance(y, pd.Series) and entity is None:
            if y.index.nlevels != 2:
                raise SpecificationError(
                    "y needs a (entity, time) MultiIndex or entity/time codes."
                )
            entity, time = y.index.get_level_values(0), y.index.get_level_values(1)
            if isinstance(x, (pd.DataFrame, pd.Series)):
                x = pd.DataFrame(x).reindex(y.index)
        if entity is None or time is None:
            raise SpecificationError("pass entity and time codes with array inputs.")
        yy = np.asarray(y, dtype=float).reshape(-1)
        xx = np.asarray(x, dtype=float).reshape(len(yy), -1)
        ent = pd.factorize(np.asarray(entity), sort=True)[0]
        per = pd.factorize(np.asarray(time), sort=True)[0]
        number = period_numbers(np.asarray(time))
        if (
            not (len(ent) == len(per) == len(yy))
            or not np.isfinite(xx).all()
            or not np.isfinite(yy).all()
        ):
            raise SpecificationError("y, x, entity and time must have equal length and no NaN.")
        order = np.lexsort((per, ent))
        ent, per = ent[order], per[order]
        dup = np.flatnonzero((ent[1:] == ent[:-1]) & (per[1:] == per[:-1]))
        if len(dup):
            raise PanelError(
                f"{len(dup)} (entity, time) pairs are duplicated, e.g. rows "
                f"{preview(order[dup].tolist())}."
            )
        return cls(yy[order], xx[order], ent.astype(np.intp), per.astype(np.intp), number[order])

    def means(self, v: FloatArray) -> FloatArray:
        """Unit means of ``v`` (vector or matrix), broadcast back to observations."""
        counts = np.bincount(self.entity)
        if v.ndim == 1:
            return (np.bincount(self.entity, weights=v) / counts)[self.entity]
        cols = [np.bincount(self.entity, weights=c) / counts for c in v.T]
        return np.column_stack(cols)[self.entity]


def _theta(data: _PanelArrays) -> FloatArray:
    """Swamy-Arora quasi-demeaning weight per observation, from linearmodels' RandomEffects."""
    from linearmodels.panel import RandomEffects

    index = pd.MultiIndex.from_arrays([data.entity, data.time])
    x = pd.DataFrame(np.column_stack([np.ones(len(data.y)), data.x]), index=index)
    theta = RandomEffects(pd.Series(data.y, index=index), x).fit().theta
    return theta.to_numpy().reshape(-1)[data.entity]


def _broadcast_theta(theta: Any, data: _PanelArrays) -> FloatArray:
    th = np.asarray(theta, dtype=float).reshape(-1)
    if th.size == 1:
        return np.full(len(data.y), float(th[0]))
    if th.size == data.entity.max() + 1:
        return th[data.entity]
    raise SpecificationError(
        f"theta must be a number or one value per entity ({data.entity.max() + 1}), got {th.size}."
    )


def _ols(z: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    coef, _, rank, _ = np.linalg.lstsq(z, y, rcond=None)
    if rank < z.shape[1]:
        raise SpecificationError(f"collinear regressors: rank {rank} < {z.shape[1]} columns.")
    return coef, y - z @ coef


def _cluster_cov(z: FloatArray, u: FloatArray, groups: IntArray) -> FloatArray:
    """CR0 cluster-robust covariance (Z'Z)^-1 (sum_g Z_g'u_g u_g'Z_g) (Z'Z)^-1."""
    meat = kernels.cluster_meat(z * u[:, None], kernels.codes(groups)[0])
    return kernels.sandwich(np.linalg.inv(z.T @ z), meat)


def _quadratic_form(d: FloatArray, v: FloatArray) -> tuple[float, int, str]:
    v = (v + v.T) / 2
    eig = np.linalg.eigvalsh(v)
    tol = max(v.shape) * np.finfo(float).eps * max(np.abs(eig).max(), 1e-300)
    if eig.min() > tol:
        return float(d @ np.linalg.solve(v, d)), len(d), ""
    rank = int(np.sum(np.abs(eig) > tol))
    note = (
        f"the covariance difference is not positive definite (eigenvalues "
        f"{np.array2string(eig, precision=3)}); a Moore-Penrose inverse is used, df = rank "
        f"{rank} (Stata's convention)."
    )
    return float(d @ np.linalg.pinv(v) @ d), rank, note


def _params_vcov(res: Any, *, need_vcov: bool = True) -> tuple[pd.Series, pd.DataFrame | None]:
    params = getattr(res, "params", None)
    vcov = getattr(res, "vcov", None)
    if vcov is None or callable(vcov):
        vcov = getattr(res, "cov", None)
    if not isinstance(params, pd.Series) or (need_vcov and not isinstance(vcov, pd.DataFrame)):
        raise SpecificationError(
            f"expected fitted results with params (Series) and vcov (DataFrame), got "
            f"{type(res).__name__}."
        )
    return params, vcov


def _residual_series(obj: Any) -> pd.Series:
    r = obj if isinstance(obj, pd.Series) else getattr(obj, "residuals", None)
    if r is None:
        r = getattr(obj, "resids", None)  # linearmodels
    if not isinstance(r, pd.Series) or r.index.nlevels != 2:
        raise SpecificationError(
            "expected residuals as a pandas Series indexed by (entity, time), or results "
            f"with such a residuals attribute; got {type(obj).__name__}."
        )
    if r.isna().any():
        raise SpecificationError(
            f"residuals have {int(r.isna().sum())} missing values, e.g. at "
            f"{preview(r.index[r.isna()])}; pass the residuals of the estimation sample only."
        )
    if r.index.has_duplicates:
        raise PanelError(
            f"residual index has duplicated keys, e.g. {preview(r.index[r.index.duplicated()])}."
        )
    return r
