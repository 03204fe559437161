"""Random effects GLS (Swamy-Arora), optionally with fixed time effects.

Part of the panel estimators of :mod:`spillover.models.panel`, kept in its own module.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from linearmodels.panel import RandomEffects as _LMRandomEffects

from spillover.models import _random_time as rt
from spillover.models._checks import translated
from spillover.models._fit import Transformed, entity_codes
from spillover.models._panel_base import PanelEstimator, r2_stats
from spillover.models._panel_checks import check_random
from spillover.models._regweights import WeightType
from spillover.models._results import Results
from spillover.panel import Panel
from spillover.weights import Weights


class RandomEffects(PanelEstimator):
    """Random effects GLS with Swamy-Arora variance components (``xtreg, re``, plm).

    Parameters
    ----------
    formula : str
    panel : Panel or DataFrame indexed by (entity, time)
    time_effects : bool, default False
        Add fixed period effects (one dummy per period but the first): random entity
        effects plus fixed time effects, R plm's ``plm(y ~ x + factor(year),
        model = "random")``. The dummies are absorbed (partialled out of the GLS
        regression, not reported) and the time variable is listed in ``fixed_effects``
        (after ``"<entity> (random)"``, which tables show as "<Entity> RE").
    w : Weights, optional
        Weights for ``W(x)`` terms.

    Notes
    -----
    The covariance is computed on the quasi-demeaned data ``x_it - theta_i xbar_i``
    (Stata's, plm's and linearmodels' convention). ``fit_stats`` holds the variance
    components: ``sigma2_mu`` (variance of the random entity effect mu_i), ``sigma2_e``
    (idiosyncratic variance) and ``theta``, the quasi-demeaning weight
    ``theta_i = 1 - sqrt(sigma2_e / (T_i sigma2_mu + sigma2_e))`` (plm's ``ercomp$theta``;
    0 is pooled OLS, 1 the within estimator; on unbalanced panels the mean over entities,
    with ``theta_min`` and ``theta_max``). ``sigma2_effects`` and ``sigma2`` are the same
    numbers as ``sigma2_mu`` and ``sigma2_e``, kept under their earlier names.

    Without time effects the estimates come from linearmodels ``RandomEffects``, with K
    the number of coefficients and no absorbed df. With ``time_effects=True`` they are
    computed by :mod:`spillover.models._random_time` (plm's Swamy-Arora, with the period
    dummies in the within and between regressions), and the dummies count in the residual
    df (``n - K - (T - 1)``, as plm). R-squared is then not reported.

    Examples
    --------
    >>> from spillover import datasets
    >>> from spillover.models import RandomEffects
    >>> res = RandomEffects("log_gsp ~ log_pcap + log_pc + log_emp + unemp",
    ...                     datasets.us_states(), time_effects=True).fit()
    >>> round(res.fit_stats["theta"], 4), res.fixed_effects
    (0.9001, ('state (random)', 'year'))
    """

    _label = "Random effects"
    weights_refused = (
        "the Swamy-Arora variance components and the quasi-demeaning parameter theta have "
        "no agreed weighted form (Stata's xtreg, re takes no weights; linearmodels' weighted "
        "RandomEffects is its own construction, matched by no other package). Use "
        "FixedEffects or Pooled with weights, or RandomEffects without them."
    )

    def __init__(
        self,
        formula: str,
        panel: Panel | pd.DataFrame,
        *,
        time_effects: bool = False,
        w: Weights | None = None,
        weights: str | None = None,
        weight_type: WeightType = "analytic",
    ) -> None:
        super().__init__(formula, panel, w=w, weights=weights, weight_type=weight_type)
        self.time_effects = bool(time_effects)

    def _fit(self, spec: Any) -> Results:
        d = self.design
        check_random(d, self.panel)
        if self.time_effects:
            return self._fit_time(spec)
        with translated(self._label):
            lm = _LMRandomEffects(d.y, d.x).fit()
        ent = d.x.index.get_level_values(0)
        theta = lm.theta.iloc[:, 0].reindex(ent).to_numpy()
        x, y = d.x.to_numpy(), d.y.to_numpy()
        groups = entity_codes(d.x.index)
        xs, ys = rt.quasi_demean(x, groups, theta), rt.quasi_demean(y, groups, theta)
        b = lm.params.to_numpy()
        t = Transformed(xs, ys - xs @ b, list(d.x.columns), b, self.panel.data)
        vd = lm.variance_decomposition
        comp = rt.Components(float(vd["Effects"]), float(vd["Residual"]), theta)
        stats = r2_stats(lm, "random") | rt.components_stats(comp, groups)
        fitted = pd.Series(x @ b, index=d.y.index)
        fe = (f"{self.panel.entity_name} (random)",)
        return self._finish(t, spec, lm, fit_stats=stats, fitted=fitted, fixed_effects=fe)

    def _fit_time(self, spec: Any) -> Results:
        """Random entity effects with period dummies (see :mod:`._random_time`)."""
        d = self.design
        t, comp, fitted = rt.fit_with_time_effects(d, self.panel.data)
        return self._finish(
            t,
            spec,
            None,
            model="Random effects, time FE",
            fit_stats=rt.components_stats(comp, entity_codes(d.x.index)),
            fixed_effects=(f"{self.panel.entity_name} (random)", self.panel.time_name),
            fitted=fitted,
        )
