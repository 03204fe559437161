"""Result types of :mod:`spillover.survey.reliability` (frozen, picklable, printable)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class ConstructReliability:
    """Reliability of one construct (see :func:`spillover.survey.reliability`).

    Attributes
    ----------
    construct : str
        Its name; ``items`` its item columns.
    n_obs : int
        Respondents the covariances rest on.
    alpha, std_alpha : float
        Cronbach's alpha from covariances and from correlations.
    alpha_ci : tuple of float
        Feldt's interval (lower, upper).
    omega_total : float
        McDonald's omega total from a one-factor model (psych ``omega``).
    alpha_if_deleted, std_alpha_if_deleted, item_total : pandas.Series
        Per item: alpha without it, standardized alpha without it, and the corrected
        item-total correlation (psych ``r.drop``).
    """

    construct: str
    items: tuple[str, ...]
    n_obs: int
    alpha: float
    alpha_ci: tuple[float, float]
    std_alpha: float
    omega_total: float
    alpha_if_deleted: pd.Series
    std_alpha_if_deleted: pd.Series
    item_total: pd.Series

    def item_frame(self) -> pd.DataFrame:
        """Per-item table: alpha_if_deleted, std_alpha_if_deleted, item_total."""
        return pd.concat(
            [self.alpha_if_deleted, self.std_alpha_if_deleted, self.item_total], axis=1
        )


@dataclass(frozen=True)
class Reliability:
    """Reliability of every construct, with the missing-data rule and interval level."""

    constructs: tuple[ConstructReliability, ...]
    missing: str
    level: float

    def __getitem__(self, name: str) -> ConstructReliability:
        for c in self.constructs:
            if c.construct == name:
                return c
        names = [c.construct for c in self.constructs]
        raise KeyError(f"no construct {name!r}; constructs: {names}")

    def to_frame(self) -> pd.DataFrame:
        """One row per construct: items, n, alpha, its interval, std_alpha, omega_total."""
        rows = {
            c.construct: {
                "items": len(c.items),
                "n_obs": c.n_obs,
                "alpha": c.alpha,
                "alpha_lower": c.alpha_ci[0],
                "alpha_upper": c.alpha_ci[1],
                "std_alpha": c.std_alpha,
                "omega_total": c.omega_total,
            }
            for c in self.constructs
        }
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("construct")

    def items_frame(self) -> pd.DataFrame:
        """Per (construct, item): alpha if deleted (raw, std) and corrected item-total r."""
        parts = {c.construct: c.item_frame() for c in self.constructs}
        return pd.concat(parts, names=["construct", "item"])

    def summary(self) -> str:
        """Both tables as text, with the interval and missing-data conventions."""
        fmt = "{:.3f}".format
        return "\n".join(
            [
                f"Reliability ({self.missing} deletion; alpha interval: Feldt, "
                f"{self.level:.0%}; omega total from a one-factor model)",
                self.to_frame().to_string(float_format=fmt),
                "Items (alpha if deleted, corrected item-total correlation):",
                self.items_frame().to_string(float_format=fmt),
            ]
        )

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True)
class KMO:
    """Kaiser-Meyer-Olkin sampling adequacy: ``overall`` and per item (``items``, MSA)."""

    overall: float
    items: pd.Series
    n_obs: int
    missing: str

    def to_frame(self) -> pd.DataFrame:
        """Per-item MSA with an ``overall`` row last."""
        full = pd.concat([self.items, pd.Series({"overall": self.overall})])
        return full.rename("msa").rename_axis("item").to_frame()

    def __str__(self) -> str:
        head = f"Kaiser-Meyer-Olkin MSA (n = {self.n_obs}, {self.missing} deletion)"
        return head + "\n" + self.to_frame().to_string(float_format="{:.3f}".format)


@dataclass(frozen=True)
class Bartlett:
    """Bartlett's test of sphericity: chi-square ``statistic``, ``df``, ``pvalue``."""

    statistic: float
    df: int
    pvalue: float
    n_obs: int
    missing: str

    def to_frame(self) -> pd.DataFrame:
        """One row: statistic, df, pvalue, n_obs."""
        row = {"statistic": self.statistic, "df": self.df, "pvalue": self.pvalue}
        return pd.DataFrame([{**row, "n_obs": self.n_obs}], index=["bartlett"])

    def __str__(self) -> str:
        return (
            f"Bartlett's test of sphericity (n = {self.n_obs}, {self.missing} deletion): "
            f"chi2({self.df}) = {self.statistic:.3f}, p = {self.pvalue:.4g}"
        )
