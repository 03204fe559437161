"""The path structure of a mediation model and its equation-by-equation OLS fit.

A model with treatment ``x``, mediators ``m1 .. mk``, outcome ``y`` and covariates ``C`` has
one equation per mediator, the outcome equation and the total-effect equation:

* parallel: ``m_j = i_j + a_j x + C g_j + e_j``
* serial (Hayes' PROCESS model 6): ``m_j = i_j + a_j x + sum_{l<j} d_jl m_l + C g_j + e_j``
* outcome: ``y = i_y + c' x + sum_j b_j m_j + C g_y + e_y``
* total: ``y = i + c x + C g + e``

Arrays in, arrays out: the model turns the data frame into a matrix once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, pairwise

import numpy as np

from spillover._typing import FloatArray

#: Label of the total-effect equation in parameter names (``"y (total) ~ Intercept"``).
TOTAL = " (total)"


@dataclass(frozen=True)
class Equation:
    """One regression: the dependent column, the regressor columns and their labels."""

    dependent: str
    label: str
    regressors: tuple[str, ...]
    names: tuple[str, ...]


@dataclass(frozen=True)
class PathModel:
    """Variables and kind of a mediation model, with its equations and indirect paths."""

    x: str
    mediators: tuple[str, ...]
    y: str
    covariates: tuple[str, ...]
    kind: str

    @property
    def columns(self) -> tuple[str, ...]:
        """Data columns in matrix order: x, mediators, y, covariates."""
        return (self.x, *self.mediators, self.y, *self.covariates)

    def equations(self) -> tuple[Equation, ...]:
        """Mediator equations in order, then the outcome and the total-effect equations."""
        eqs = []
        for j, m in enumerate(self.mediators):
            earlier = self.mediators[:j] if self.kind == "serial" else ()
            eqs.append(self._equation(m, m, (self.x, *earlier), ("a", *["d"] * len(earlier))))
        mids = self.mediators
        eqs.append(self._equation(self.y, self.y, (self.x, *mids), ("c'", *["b"] * len(mids))))
        eqs.append(self._equation(self.y, self.y + TOTAL, (self.x,), ("c",)))
        return tuple(eqs)

    def _equation(
        self, dep: str, label: str, sources: Sequence[str], letters: Sequence[str]
    ) -> Equation:
        names = [f"{k}: {s} -> {dep}" for k, s in zip(letters, sources, strict=True)]
        names += [f"{label} ~ {c}" for c in ("Intercept", *self.covariates)]
        regs = (*sources, "Intercept", *self.covariates)
        return Equation(dep, label, regs, tuple(names))

    def paths(self) -> tuple[tuple[str, ...], ...]:
        """Indirect paths as the mediators they pass through, in causal order.

        Parallel: one path per mediator. Serial: every ordered non-empty subset of the
        mediators (``2**k - 1`` paths), as PROCESS model 6.
        """
        if self.kind == "parallel":
            return tuple((m,) for m in self.mediators)
        k = len(self.mediators)
        return tuple(combo for r in range(1, k + 1) for combo in combinations(self.mediators, r))

    def path_name(self, path: Sequence[str]) -> str:
        """``"x -> m1 -> m2 -> y"``."""
        return " -> ".join((self.x, *path, self.y))

    def path_terms(self, path: Sequence[str]) -> tuple[str, ...]:
        """Parameter names whose product is the indirect effect along ``path``."""
        a = f"a: {self.x} -> {path[0]}"
        d = [f"d: {s} -> {t}" for s, t in pairwise(path)]
        return (a, *d, f"b: {path[-1]} -> {self.y}")


def design(eq: Equation, values: FloatArray, position: dict[str, int]) -> FloatArray:
    """Regressor matrix of ``eq`` from the data matrix (an ``Intercept`` column of ones)."""
    cols = [
        np.ones(len(values)) if r == "Intercept" else values[:, position[r]] for r in eq.regressors
    ]
    return np.column_stack(cols)


def fit_all(
    model: PathModel, values: FloatArray, position: dict[str, int]
) -> list[tuple[FloatArray, FloatArray, FloatArray]]:
    """OLS of every equation: (regressors, coefficients, residuals) in equation order."""
    out = []
    for eq in model.equations():
        x = design(eq, values, position)
        y = values[:, position[eq.dependent]]
        b = np.linalg.lstsq(x, y, rcond=None)[0]
        out.append((x, b, y - x @ b))
    return out


def coefficients(model: PathModel, values: FloatArray, position: dict[str, int]) -> FloatArray:
    """All equations' OLS coefficients stacked in parameter order (used by the bootstrap).

    NaN throughout if an equation's regressors are rank deficient in ``values`` (a
    bootstrap sample can repeat too few distinct rows or lose a covariate's variation).
    """
    out = []
    for eq in model.equations():
        x = design(eq, values, position)
        b, _, rank, _ = np.linalg.lstsq(x, values[:, position[eq.dependent]], rcond=None)
        if rank < x.shape[1]:
            return np.full(sum(len(e.names) for e in model.equations()), np.nan)
        out.append(b)
    return np.concatenate(out)


def indirect_effects(model: PathModel, params: FloatArray, names: Sequence[str]) -> FloatArray:
    """Specific indirect effects (products along each path), then their sum (total indirect).

    ``params`` may be one vector or a matrix with one row per bootstrap draw.
    """
    p = np.atleast_2d(params)
    where = {n: i for i, n in enumerate(names)}
    effects = [
        np.prod(p[:, [where[t] for t in model.path_terms(path)]], axis=1) for path in model.paths()
    ]
    out = np.column_stack([*effects, np.sum(effects, axis=0)])
    return out[0] if np.ndim(params) == 1 else out


def joint_raw_cov(
    fits: Sequence[tuple[FloatArray, FloatArray, FloatArray]], groups: np.ndarray | None
) -> FloatArray:
    """Joint covariance of all equations' coefficients without small-sample factors.

    ``groups`` None: the iid covariance, block (j, k) ``(X_j'X_j)^-1 X_j'X_k (X_k'X_k)^-1
    * e_j'e_k / N``. Otherwise the stacked sandwich of Stata's ``suest``: block (j, k)
    ``(X_j'X_j)^-1 (sum_g s_jg s_kg') (X_k'X_k)^-1``, s_jg the score sum of equation j in
    group g (one group per row gives the HC0 sandwich).
    """
    breads = [np.linalg.inv(x.T @ x) for x, _, _ in fits]
    n = len(fits[0][2])
    if groups is None:
        xs = [x for x, _, _ in fits]
        es = [e for _, _, e in fits]
        blocks = [
            [
                bj @ (xj.T @ xk) @ bk * (ej @ ek) / n
                for xk, ek, bk in zip(xs, es, breads, strict=True)
            ]
            for xj, ej, bj in zip(xs, es, breads, strict=True)
        ]
        return np.block(blocks)
    codes = np.unique(groups, return_inverse=True)[1].ravel()
    scores = np.column_stack([x * e[:, None] for x, _, e in fits])
    sums = np.zeros((codes.max() + 1, scores.shape[1]))
    np.add.at(sums, codes, scores)
    bread = _block_diag(breads)
    return bread @ (sums.T @ sums) @ bread


def _block_diag(blocks: Sequence[FloatArray]) -> FloatArray:
    size = sum(b.shape[0] for b in blocks)
    out = np.zeros((size, size))
    at = 0
    for b in blocks:
        k = b.shape[0]
        out[at : at + k, at : at + k] = b
        at += k
    return out
