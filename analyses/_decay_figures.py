"""Figures of a distance decay estimated from pools at several bandwidths.

Private helper of :mod:`analyses.learning_by_doing` (``run_all`` skips modules whose name
starts with ``_``).
"""

from __future__ import annotations

import re
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from spillover.models import Results


def bandwidth_figure(bands: dict[str, Results], term: str, truth: dict[str, Any]) -> plt.Figure:
    """Coefficient of ``term`` with 95% intervals against the bandwidth of each fit
    (keys ``"h = <km> km"``), the true (bandwidth, coefficient) marked."""
    fig, ax = plt.subplots(figsize=(6, 4))
    h = np.array([float(re.findall(r"[\d.]+", name)[0]) for name in bands])
    est = np.array([r.params[term] for r in bands.values()])
    ci = np.array([r.conf_int(0.95).loc[term].to_numpy() for r in bands.values()])
    ax.fill_between(h, ci[:, 0], ci[:, 1], color="C0", alpha=0.2, lw=0)
    ax.plot(h, est, "o-", color="C0", ms=3, label="estimate, 95% interval")
    ax.plot([truth["bandwidth_km"]], [truth["local"]], "x", color="black", ms=7, label="truth")
    ax.axhline(0, color="grey", lw=0.6, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("decay bandwidth h (km)")
    ax.set_ylabel("elasticity of unit cost")
    ax.set_title("Decay-weighted experience pools by bandwidth")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def profile_figure(
    profile: pd.Series, h_hat: float, ci: list[float], truth_km: float
) -> plt.Figure:
    """Residual sum of squares against the bandwidth, with the estimate, its likelihood-
    ratio interval and the true bandwidth."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(profile.index, profile.to_numpy(), "o-", color="C0", ms=3)
    ax.axvline(truth_km, color="black", ls="--", lw=1, label="truth")
    ax.axvline(h_hat, color="C1", lw=1, label=f"estimate {h_hat:.1f} km")
    ax.axvspan(ci[0], ci[1], color="C1", alpha=0.15, label="95% LR interval")
    ax.set_xscale("log")
    ax.set_xlabel("decay bandwidth h (km)")
    ax.set_ylabel("residual sum of squares")
    ax.set_title("Profile of the distance decay")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig
