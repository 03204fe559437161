"""Convergent and discriminant validity of the constructs of a fitted factor model.

:func:`validity` takes the standardized loadings, the latent correlations and the item
correlations of a fit (usually through :meth:`SEMResults.validity`) and returns CR, AVE,
the Fornell-Larcker table and HTMT.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spillover.models import Summary
from spillover.survey import _semstats


@dataclass(frozen=True)
class Validity:
    """Reliability and validity of each construct.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per construct: ``items`` (count), ``cr`` (composite reliability), ``ave``
        (average variance extracted), ``sqrt_ave``, ``max_latent_corr`` (largest absolute
        correlation with another construct), ``max_htmt`` and ``fornell_larcker`` (True when
        sqrt(AVE) exceeds every latent correlation of the construct).
    fornell_larcker : pandas.DataFrame
        Latent correlations with sqrt(AVE) on the diagonal.
    htmt : pandas.DataFrame
        Heterotrait-monotrait ratios (1 on the diagonal).
    absolute : bool
        Whether HTMT averaged absolute item correlations.
    """

    table: pd.DataFrame
    fornell_larcker: pd.DataFrame
    htmt: pd.DataFrame
    absolute: bool = True

    def to_frame(self) -> pd.DataFrame:
        """The per-construct table."""
        return self.table.copy()

    def summary(self) -> Summary:
        """CR, AVE, then the Fornell-Larcker and HTMT matrices side by side."""
        fl = self.fornell_larcker.add_prefix("FL ")
        ht = self.htmt.add_prefix("HTMT ")
        table = pd.concat([self.table[["cr", "ave", "sqrt_ave"]], fl, ht], axis=1)
        header = {
            "Constructs": str(len(self.table)),
            "CR": "(sum l)^2 / ((sum l)^2 + sum(1 - l^2)), l std.all loadings",
            "AVE": "mean l^2; FL diagonal sqrt(AVE), off-diagonal latent correlations",
            "HTMT": "Henseler et al. (2015), "
            + ("absolute" if self.absolute else "signed")
            + " item correlations",
        }
        return Summary(header, table)

    def __str__(self) -> str:
        return str(self.summary())


def validity(
    loadings: Mapping[str, pd.Series],
    latent_corr: pd.DataFrame,
    item_corr: pd.DataFrame,
    *,
    absolute: bool = True,
) -> Validity:
    """CR, AVE, Fornell-Larcker and HTMT from standardized loadings and correlations.

    Parameters
    ----------
    loadings : Mapping of str to pandas.Series
        Per construct, its standardized (std.all) loadings indexed by item.
    latent_corr : pandas.DataFrame
        Correlations of the constructs (model-implied).
    item_corr : pandas.DataFrame
        Correlations of the items (sample).
    absolute : bool, default True
        Average absolute item correlations in HTMT (semTools' default since 0.5-6); False
        uses signed correlations as in Henseler et al. (2015). They agree when all item
        correlations are positive.

    Returns
    -------
    Validity

    Notes
    -----
    CR = (sum l)^2 / ((sum l)^2 + sum(1 - l^2)) and AVE = mean(l^2) (Fornell and Larcker
    1981), which assume each item loads on one construct and uncorrelated errors. HTMT_ij is
    the mean correlation between items of i and items of j over the geometric mean of the
    mean within-construct correlations of i and of j.

    Examples
    --------
    >>> import pandas as pd
    >>> lam = {"a": pd.Series([0.8, 0.8], index=["a1", "a2"]),
    ...        "b": pd.Series([0.7, 0.7], index=["b1", "b2"])}
    >>> phi = pd.DataFrame([[1, 0.5], [0.5, 1]], index=["a", "b"], columns=["a", "b"])
    >>> r = pd.DataFrame(0.2, index=["a1", "a2", "b1", "b2"], columns=["a1", "a2", "b1", "b2"])
    >>> float(round(validity(lam, phi, r).table.loc["a", "ave"], 2))
    0.64
    """
    names = list(loadings)
    corr = item_corr.to_numpy(dtype=float)
    corr = np.abs(corr) if absolute else corr
    position = {item: i for i, item in enumerate(item_corr.index)}
    idx = {c: [position[i] for i in loadings[c].index] for c in names}
    ratio = pd.DataFrame(1.0, index=names, columns=names)
    for a in names:
        for b in names:
            if a != b:
                ratio.loc[a, b] = _semstats.htmt(corr, idx[a], idx[b])
    table = _construct_table(loadings, latent_corr.loc[names, names], ratio)
    values = latent_corr.loc[names, names].to_numpy(dtype=float, copy=True)
    np.fill_diagonal(values, table["sqrt_ave"].to_numpy())
    fl = pd.DataFrame(values, index=names, columns=names)
    return Validity(table=table, fornell_larcker=fl, htmt=ratio, absolute=absolute)


def _construct_table(
    loadings: Mapping[str, pd.Series], latent_corr: pd.DataFrame, ratio: pd.DataFrame
) -> pd.DataFrame:
    names: Sequence[str] = list(loadings)
    off = ~np.eye(len(names), dtype=bool)
    lat = latent_corr.abs().where(off)
    ht = ratio.where(off)
    table = pd.DataFrame(
        {
            "items": [len(loadings[c]) for c in names],
            "cr": [_semstats.composite_reliability(loadings[c].to_numpy()) for c in names],
            "ave": [_semstats.average_variance_extracted(loadings[c].to_numpy()) for c in names],
        },
        index=pd.Index(names, name="construct"),
    )
    table["sqrt_ave"] = np.sqrt(table["ave"])
    table["max_latent_corr"] = lat.max(axis=1)
    table["max_htmt"] = ht.max(axis=1)
    table["fornell_larcker"] = table["sqrt_ave"] > table["max_latent_corr"].fillna(-np.inf)
    return table
