"""Validated parameters of :func:`spillover.inference.impacts.impacts`.

``_Spec`` aligns beta, theta and the covariance block to the x names and maps parameter
draws back to (rho, beta, theta).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spillover._typing import FloatArray
from spillover._validate import preview
from spillover.errors import SpecificationError

_MODELS = ("sar", "sdm", "sac", "sdem", "slx")
_WITH_RHO = ("sar", "sdm", "sac")
_WITH_THETA = ("sdm", "sdem", "slx")


class _Spec:
    """Validated parameters: arrays aligned to the x names, and the vcov block."""

    def __init__(self, model, rho, names, beta, theta, theta_names, vcov):
        self.model = model
        self.has_rho = model in _WITH_RHO
        self.rho = float(rho) if self.has_rho else 0.0
        self.names = names
        self.beta = beta
        self.theta = theta
        self.theta_names = theta_names  # x names that carry a W_x term
        labels = (["rho"] if self.has_rho else []) + names + [f"W_{x}" for x in theta_names]
        self.labels = labels
        self.vcov = vcov.loc[labels, labels].to_numpy(dtype=float)
        self.mean = np.concatenate(
            [[self.rho] if self.has_rho else [], beta, [theta[names.index(x)] for x in theta_names]]
        )

    @classmethod
    def build(cls, model, rho, beta, theta, vcov) -> _Spec:
        if model not in _MODELS:
            raise SpecificationError(f"model must be one of {_MODELS}, got {model!r}.")
        if model in _WITH_RHO and (rho is None or not np.isfinite(rho)):
            raise SpecificationError(f"model {model!r} needs a finite rho, got {rho!r}.")
        if not isinstance(beta, pd.Series) or beta.empty:
            raise SpecificationError("beta must be a non-empty pandas Series keyed by x names.")
        names = [str(x) for x in beta.index]
        theta = pd.Series(dtype=float) if theta is None else theta
        if model in ("sar", "sac") and len(theta):
            raise SpecificationError(f"model {model!r} has no W_x terms; use model='sdm'.")
        if model in _WITH_THETA and not len(theta):
            raise SpecificationError(f"model {model!r} needs theta, the W_x coefficients.")
        extra = [x for x in theta.index if x not in names]
        if extra:
            raise SpecificationError(
                f"theta has names not in beta: {preview(extra)}; key theta by the x names."
            )
        th_names = [x for x in names if x in theta.index]
        th = np.array([float(theta[x]) if x in theta.index else 0.0 for x in names])
        labels = (["rho"] if model in _WITH_RHO else []) + names + [f"W_{x}" for x in th_names]
        missing = [lab for lab in labels if lab not in vcov.index or lab not in vcov.columns]
        if missing:
            raise SpecificationError(
                f"vcov lacks rows/columns {preview(missing)}; it must be labelled by 'rho', "
                "the x names and 'W_<x>' names, as in the estimator's params."
            )
        return cls(model, rho, names, beta.to_numpy(float), th, th_names, vcov)

    def effects(self, m: FloatArray, beta: FloatArray, theta: FloatArray) -> FloatArray:
        """Effects (rows: draws) ordered variable-major: x1 direct/indirect/total, x2 ..."""
        direct = beta * m[:, [0]] + theta * m[:, [1]]
        total = beta * m[:, [2]] + theta * m[:, [3]]
        return np.stack([direct, total - direct, total], axis=2).reshape(len(m), -1)

    def split(self, params: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(rho, beta, theta) columns from draws over ``labels``."""
        k = len(self.names)
        start = 1 if self.has_rho else 0
        rho = params[:, 0] if self.has_rho else np.zeros(len(params))
        beta = params[:, start : start + k]
        theta = np.zeros_like(beta)
        for j, x in enumerate(self.theta_names):
            theta[:, self.names.index(x)] = params[:, start + k + j]
        return rho, beta, theta
