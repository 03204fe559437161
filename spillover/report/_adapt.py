"""Other packages' fitted results as spillover :class:`~spillover.models.Results`, so they go
into the same tables beside spillover's.

Each adapter copies what the peer reports (estimates, covariance, p-values, N, fit
statistics) and computes nothing: a table shows the peer's own numbers. The peer's p-values
are kept as they are (:class:`PeerResults`), so stars follow the peer's reference
distribution (e.g. pyfixest's t with G - 1 df under clustering).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spillover.errors import SpecificationError
from spillover.models._results import Results


@dataclass(frozen=True, eq=False)
class PeerResults(Results):
    """Results copied from another package; ``pvalues`` are the peer's own."""

    peer_pvalues: pd.Series | None = None
    source: str = ""

    @property
    def pvalues(self) -> pd.Series:
        if self.peer_pvalues is None:
            return super().pvalues
        return self.peer_pvalues.rename("pvalue")


def as_results(obj: Any) -> Results:
    """``obj`` as spillover Results: spillover results as they are; linearmodels (panel and
    IV), statsmodels (OLS/WLS/GLM, discrete models such as Poisson) and pyfixest
    (``feols``, ``fepois``) results converted.

    Fit statistics are copied under the keys of :data:`spillover.report._rows.FIT_LABELS`
    where the peer defines the same quantity: statsmodels' ``rsquared``/``rsquared_adj``
    (``r2``/``r2_adj``), ``llf``/``aic``/``bic`` (GLM: ``bic_llf``), ``prsquared`` (McFadden,
    ``pseudo_r2``); linearmodels' ``rsquared_inclusive`` (``r2``, with effects),
    ``rsquared`` of PanelOLS (``r2_within``), ``rsquared_between``/``rsquared_overall``,
    the random-effects variance components; pyfixest's ``_r2``, ``_adj_r2``,
    ``_r2_within``, ``_pseudo_r2`` and ``_loglik``.

    Raises
    ------
    SpecificationError
        If ``obj`` is none of these.
    """
    if isinstance(obj, Results):
        return obj
    package = type(obj).__module__.split(".")[0]
    adapter = _ADAPTERS.get(package)
    if adapter is None:
        raise SpecificationError(
            f"cannot tabulate a {type(obj).__name__} from {package!r}: give spillover, "
            "linearmodels, statsmodels or pyfixest results."
        )
    return adapter(obj)


def _finite(**values: Any) -> dict[str, float]:
    out = {}
    for key, v in values.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if np.isfinite(f):
            out[key] = f
    return out


def _get(obj: Any, name: str) -> Any:
    try:
        value = getattr(obj, name)
    except Exception:  # peers raise NotImplementedError, ValueError ... for undefined stats
        return None
    return value() if callable(value) else value


# ---------------------------------------------------------------------- statsmodels
def _statsmodels(res: Any) -> Results:
    params = pd.Series(res.params, name="parameter")
    if not isinstance(res.params, pd.Series):
        params.index = list(res.model.exog_names)
    names = list(params.index)
    vcov = pd.DataFrame(np.asarray(res.cov_params()), index=names, columns=names)
    use_t = bool(getattr(res, "use_t", False))
    family = getattr(getattr(res.model, "family", None), "__class__", None)
    is_glm = family is not None and type(res.model).__name__ == "GLM"
    stats = _finite(
        r2=_get(res, "rsquared"),
        r2_adj=_get(res, "rsquared_adj"),
        pseudo_r2=_get(res, "prsquared"),
        loglik=_get(res, "llf"),
        aic=_get(res, "aic"),
        bic=_get(res, "bic_llf") if is_glm else _get(res, "bic"),
    )
    if is_glm:
        stats |= _finite(pseudo_r2=1 - res.llf / res.llnull)
    model = type(res.model).__name__ + (f" ({family.__name__})" if is_glm else "")
    return PeerResults(
        params=params,
        vcov=vcov,
        nobs=int(res.nobs),
        df_resid=int(res.df_resid) if use_t else None,
        vcov_name=str(getattr(res, "cov_type", "")),
        model=model,
        dependent=str(res.model.endog_names),
        fit_stats=stats,
        peer_pvalues=pd.Series(np.asarray(res.pvalues), index=names),
        source="statsmodels",
    )


# ---------------------------------------------------------------------- linearmodels
def _linearmodels(res: Any) -> Results:
    params = res.params.rename("parameter")
    names = list(params.index)
    panel = hasattr(res, "entity_info")
    effects: tuple[str, ...] = ()
    stats: dict[str, float] = {}
    if panel:
        # "Entity"/"Time" effects under the panel's own index names (e.g. state, year)
        levels = list(res.model.dependent.dataframe.index.names)
        included = list(getattr(res, "included_effects", []) or [])
        kinds = {"Entity": levels[0], "Time": levels[1]}
        effects = tuple(str(kinds.get(e, e)) for e in included)
        if effects:
            stats |= _finite(r2=_get(res, "rsquared_inclusive"), r2_within=res.rsquared)
        elif type(res).__name__ == "RandomEffectsResults":
            vd = res.variance_decomposition
            effects = (f"{levels[0]} (random)",)
            stats |= _finite(
                r2_quasi=res.rsquared,
                sigma2_mu=vd["Effects"],
                sigma2_e=vd["Residual"],
                theta=float(np.asarray(res.theta).mean()),
            )
        elif "Between" not in type(res.model).__name__:
            stats |= _finite(r2=res.rsquared)
        if effects or type(res).__name__ == "RandomEffectsResults":
            stats |= _finite(r2_between=res.rsquared_between, r2_overall=res.rsquared_overall)
    else:
        stats |= _finite(r2=_get(res, "rsquared"), r2_adj=_get(res, "rsquared_adj"))
    stats |= _finite(loglik=_get(res, "loglik"))
    dependent = res.model.dependent
    dep = getattr(dependent, "vars", None) or list(getattr(dependent, "cols", [""]))
    return PeerResults(
        params=params,
        vcov=res.cov.loc[names, names],
        nobs=int(res.nobs),
        df_resid=None,
        vcov_name=str(getattr(res, "cov_type", None) or getattr(res, "_cov_type", "")),
        model=type(res.model).__name__,
        dependent=str(dep[0]),
        fixed_effects=effects,
        n_entities=int(res.entity_info["total"]) if panel else None,
        n_periods=int(res.time_info["total"]) if panel else None,
        fit_stats=stats,
        peer_pvalues=res.pvalues.reindex(names),
        source="linearmodels",
    )


# ---------------------------------------------------------------------- pyfixest
def _pyfixest(res: Any) -> Results:
    params = res.coef().rename("parameter")
    names = list(params.index)
    vcov = pd.DataFrame(np.asarray(res._vcov), index=names, columns=names)
    fixef = str(getattr(res, "_fixef", "") or "")
    effects = tuple(f.strip() for f in fixef.split("+") if f.strip() and f.strip() != "0")
    clusters = getattr(res, "_G", None) if getattr(res, "_is_clustered", False) else None
    stats = _finite(
        r2=getattr(res, "_r2", None),
        r2_adj=getattr(res, "_adj_r2", None),
        r2_within=getattr(res, "_r2_within", None) if effects else None,
        pseudo_r2=getattr(res, "_pseudo_r2", None),
        loglik=getattr(res, "_loglik", None),
        n_clusters=min(np.atleast_1d(clusters)) if clusters is not None else None,
    )
    detail = getattr(res, "_vcov_type_detail", "") or ""
    cluster = getattr(res, "_clustervar", None)
    name = f"{detail} ({', '.join(cluster)})" if cluster else str(detail)
    return PeerResults(
        params=params,
        vcov=vcov,
        nobs=int(res._N),
        df_resid=int(res._df_t),
        vcov_name=name,
        model=f"pyfixest {res._method}",
        dependent=str(res._depvar),
        fixed_effects=effects,
        fit_stats=stats,
        peer_pvalues=res.pvalue().reindex(names),
        source="pyfixest",
    )


_ADAPTERS = {
    "statsmodels": _statsmodels,
    "linearmodels": _linearmodels,
    "pyfixest": _pyfixest,
}
