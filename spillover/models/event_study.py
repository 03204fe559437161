"""Event studies of a staggered treatment: Sun and Abraham (2021) and dynamic two-way FE.

``EventStudy("entries", panel, cohort="programme_start")`` regresses the outcome on
relative-period indicators with absorbed unit and period effects (:class:`~.hdfe.HDFE`)
and reports one coefficient per relative period e = t - g (g the period a unit is first
treated), the reference period ``e = -1`` left out:

* ``method="sun_abraham"`` (the interaction-weighted estimator, fixest ``sunab``): one
  indicator per cohort and relative period, then each period's coefficients averaged with
  the cohorts' shares of the treated observations at that period. Robust to effects that
  differ across cohorts.
* ``method="twfe"``: one indicator per relative period, pooled over cohorts (the dynamic
  two-way FE regression). Under staggered adoption with effects that differ across cohorts
  or change with time since treatment, each coefficient mixes in other periods' and
  cohorts' effects with weights that can be negative (Sun and Abraham 2021, Prop. 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from spillover._validate import preview, require_columns, warn_dropped
from spillover.errors import SpecificationError
from spillover.inference.vcov import LEAST_SQUARES, Cluster
from spillover.models._estimator import Estimator
from spillover.models._results import Results
from spillover.models.hdfe import HDFE
from spillover.panel import Panel, as_panel

__all__ = ["EventStudy", "EventStudyResults"]

Method = Literal["sun_abraham", "twfe"]
Control = Literal["never", "last"]


@dataclass(frozen=True, eq=False)
class EventStudyResults(Results):
    """Event-study coefficients, one per relative period (``params`` labelled ``"-3"``,
    ``"+0"``, ``"+2"``, ...), with their covariance.

    Attributes (beyond :class:`~spillover.models.Results`)
    ----------
    event_times : tuple of int
        The relative periods of ``params``, in order.
    reference : int
        The omitted relative period (normalised to zero).
    regression : Results or None
        The underlying regression (cohort-by-period coefficients for Sun-Abraham).
    cohort_shares : pandas.DataFrame or None
        Sun-Abraham weights: rows cohorts, columns relative periods, each column summing
        to one over the cohorts observed at that period.
    """

    event_times: tuple[int, ...] = ()
    reference: int = -1
    regression: Results | None = field(default=None, repr=False)
    cohort_shares: pd.DataFrame | None = field(default=None, repr=False)

    def leads(self) -> list[str]:
        """Labels of the pre-treatment coefficients (e < 0, the reference excluded)."""
        return [label(e) for e in self.event_times if e < 0]

    def pretrend_test(self, min_lead: int | None = None) -> tuple[float, int, float]:
        """Joint Wald test that every lead (e < 0, or ``min_lead <= e < 0``) is zero.

        Returns (chi-squared statistic, df, p-value) from ``params`` and ``vcov``
        (:meth:`~spillover.models.Results.wald_test`).
        """
        low = min(self.event_times) if min_lead is None else min_lead
        terms = [label(e) for e in self.event_times if low <= e < 0]
        if not terms:
            raise SpecificationError(
                "no pre-treatment periods to test: the sample has no period before treatment "
                "other than the reference."
            )
        return self.wald_test(terms)


def label(e: int) -> str:
    """Label of relative period ``e``: ``"-2"``, ``"+0"``, ``"+3"``."""
    return f"{e:+d}"


class EventStudy(Estimator):
    """Event study of a treatment adopted at different periods by different units.

    Parameters
    ----------
    outcome : str
        Dependent variable (a column).
    panel : Panel or DataFrame indexed by (entity, time)
        Integer periods (years); relative periods are ``time - cohort``.
    cohort : str
        Column holding the period each unit is first treated (constant within a unit),
        missing (NaN) for never-treated units. Treatment is absorbing.
    method : {"sun_abraham", "twfe"}, default "sun_abraham"
    control : {"never", "last"}, default "never"
        Comparison units: the never-treated, or the last-treated cohort (rows from the
        period it is treated on are dropped, and it is then used as never treated; the
        never-treated, if any, stay in the control group too).
    reference : int, default -1
        Relative period left out (normalised to zero).
    absorb : sequence of str, optional
        Absorbed effects; default the panel's entity and time levels.

    Notes
    -----
    Sun-Abraham: the regression y_it = a_i + l_t + sum_g sum_{e != ref} d_ge 1[G_i = g]
    1[t - g = e] + u_it over treated and control units (every relative period present is
    saturated, none binned), then beta_e = sum_g w_ge d_ge with w_ge the share of cohort g
    among the treated rows at relative period e in the estimation sample (fixest
    ``aggregate``/``sunab``; equal to the cohort's share of units in a balanced panel). The
    covariance of beta is W V W', V that of the regression under the requested ``vcov``,
    the weights treated as known (as fixest does; Sun and Abraham's added term for
    estimated shares is left out). Units treated in or before the first period have no
    untreated period and are dropped with a DroppedRowsWarning; units first treated after
    the last period are never treated within the sample and used as such.

    The default covariance is clustered by entity (CR1, t(G - 1) inference, the absorbed
    entity effects not counted in the small-sample factor because they are nested in the
    clusters: reghdfe and pyfixest conventions). ``pretrend_test`` is a chi-squared Wald
    test of the leads.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from spillover.models import EventStudy
    >>> rows = [(i, t) for i in range(6) for t in range(6)]
    >>> df = pd.DataFrame(rows, columns=["unit", "year"]).set_index(["unit", "year"])
    >>> g = np.array([2, 2, 4, 4, np.nan, np.nan])[df.index.get_level_values(0)]
    >>> t = df.index.get_level_values(1).to_numpy()
    >>> df = df.assign(start=g, y=np.where(t >= g, 1.0 + (t - g), 0.0) + 0.1 * t)
    >>> res = EventStudy("y", df, cohort="start").fit()
    >>> res.params.round(6).to_dict()["+1"]
    2.0
    """

    vcov_provides = LEAST_SQUARES

    def __init__(
        self,
        outcome: str,
        panel: Panel | pd.DataFrame,
        *,
        cohort: str,
        method: Method = "sun_abraham",
        control: Control = "never",
        reference: int = -1,
        absorb: Sequence[str] | None = None,
    ) -> None:
        if method not in ("sun_abraham", "twfe"):
            raise SpecificationError(f"method must be 'sun_abraham' or 'twfe', got {method!r}.")
        if control not in ("never", "last"):
            raise SpecificationError(f"control must be 'never' or 'last', got {control!r}.")
        self.panel = as_panel(panel)
        require_columns(self.panel.data, [outcome, cohort])
        self.outcome, self.cohort_column = outcome, cohort
        self.method, self.control, self.reference = method, control, int(reference)
        names = list(self.panel.data.index.names)
        self.absorb = tuple(absorb) if absorb is not None else tuple(names[:2])
        self.default_vcov = Cluster(names[0])
        frame, self._cohort, self._rel = self._sample()
        self._columns = self._indicators(frame)
        self.formula = f"{outcome} ~ " + " + ".join(self._columns) + " - 1"
        self._frame = frame
        self._model = HDFE(self.formula, frame, absorb=self.absorb)

    def __repr__(self) -> str:
        return f"EventStudy({self.outcome!r}, cohort={self.cohort_column!r}, {self.method!r})"

    # ------------------------------------------------------------------ sample
    def _sample(self) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        data = self.panel.data
        ent = data.index.get_level_values(0)
        time = np.asarray(data.index.get_level_values(1), dtype=float)
        g = data[self.cohort_column].to_numpy(dtype=float)
        varies = pd.Series(g).groupby(np.asarray(ent)).nunique(dropna=False) > 1
        if varies.any():
            raise SpecificationError(
                f"cohort {self.cohort_column!r} changes within {int(varies.sum())} units, e.g. "
                f"{preview(varies.index[varies])}; it must be the first treated period, the "
                "same in every row of a unit (NaN for never treated)."
            )
        g = np.where(g > time.max(), np.nan, g)  # treated after the sample: never within it
        keep = ~(np.isfinite(g) & (g <= time.min()))
        warn_dropped(int((~keep).sum()), "rows of units treated from the first period on")
        if self.control == "last":
            last = np.nanmax(g[keep]) if np.isfinite(g[keep]).any() else np.nan
            keep &= ~(time >= last)
            g = np.where(g == last, np.nan, g)
        if not np.isnan(g[keep]).any():
            raise SpecificationError(
                "no never-treated units to compare with; use control='last' (the last-treated "
                "cohort as controls)."
            )
        frame = data.loc[keep].copy()
        g, time = g[keep], time[keep]
        rel = np.where(np.isfinite(g), time - np.nan_to_num(g), np.nan)
        if not np.isfinite(rel).any():
            raise SpecificationError(
                f"no treated rows left in the sample; check {self.cohort_column!r}."
            )
        return frame, g, rel

    def _indicators(self, frame: pd.DataFrame) -> list[str]:
        treated = np.isfinite(self._rel) & (self._rel != self.reference)
        rel = np.where(treated, self._rel, 0).astype(int)
        if self.method == "twfe":
            keys = [(None, e) for e in sorted(set(rel[treated]))]
        else:
            g = np.where(treated, self._cohort, 0).astype(int)
            keys = sorted(set(zip(g[treated], rel[treated], strict=True)))
        cols = []
        for gk, e in keys:
            name = ("" if gk is None else f"c{gk}_") + (f"m{-e}" if e < 0 else f"p{e}")
            hit = treated & (rel == e)
            if gk is not None:
                hit &= self._cohort == gk
            frame[f"es_{name}"] = hit.astype(float)
            cols.append(f"es_{name}")
        self._keys = keys
        return cols

    # ------------------------------------------------------------------ fit
    def _fit(self, spec: Any) -> EventStudyResults:
        reg = self._model.fit(vcov=spec)
        times = sorted({e for _, e in self._keys})
        names = [label(e) for e in times]
        if self.method == "twfe":
            agg = np.eye(len(times))
            shares = None
        else:
            agg, shares = self._weights(reg, times)
        b = agg @ reg.params.to_numpy()
        v = agg @ reg.vcov.to_numpy() @ agg.T
        return EventStudyResults(
            params=pd.Series(b, index=names),
            vcov=pd.DataFrame(v, index=names, columns=names),
            nobs=reg.nobs,
            df_resid=reg.df_resid,
            vcov_name=reg.vcov_name,
            model="Sun-Abraham event study" if self.method == "sun_abraham" else "TWFE event study",
            dependent=self.outcome,
            fixed_effects=self.absorb,
            n_entities=reg.n_entities,
            n_periods=reg.n_periods,
            fit_stats=dict(reg.fit_stats),
            info={"Control group": f"{self.control}-treated", "Reference period": self.reference},
            residuals=reg.residuals,
            fitted=reg.fitted,
            event_times=tuple(times),
            reference=self.reference,
            regression=reg,
            cohort_shares=shares,
        )

    def _weights(self, reg: Results, times: list[int]) -> tuple[np.ndarray, pd.DataFrame]:
        """Aggregation matrix (periods x cohort-period coefficients) from the rows used."""
        used = self._frame.index.isin(reg.residuals.index)
        counts = pd.Series(
            [float((self._frame.loc[used, c] > 0).sum()) for c in self._columns],
            index=pd.MultiIndex.from_tuples(self._keys, names=["cohort", "event_time"]),
        )
        shares = counts / counts.groupby(level="event_time").transform("sum")
        agg = np.zeros((len(times), len(self._keys)))
        pos = {e: i for i, e in enumerate(times)}
        for j, (_, e) in enumerate(self._keys):
            agg[pos[e], j] = shares.iloc[j]
        table = shares.unstack("event_time").fillna(0.0)
        return agg, table
