"""Leaders and followers: do low-capability firms tie to high-capability ones?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import hypergeom

from spillover._validate import preview
from spillover.errors import SpecificationError
from spillover.networks._network import KnowledgeNetwork

GROUPS = ["low", "high"]


@dataclass(frozen=True)
class LeaderFollower:
    """Ties between low- and high-capability firms (the "flying geese" view).

    Attributes
    ----------
    table : pandas.DataFrame
        Tie counts by capability group. Directed: rows the group of the source (the firm
        that names or learns from), columns the group of the target. Undirected: ties
        within a group on the diagonal, low-high ties in both off-diagonal cells.
    share_tied : float
        Share of low-capability firms with at least one tie to a high-capability firm
        (directed: a tie *from* the low firm to a high one).
    expected_share : float
        The same share expected if each low firm kept its number of ties (directed: its
        out-ties) but chose its partners at random among the other N - 1 firms.
    n_low, n_high : int
        Firms in each group.
    threshold : float or None
        Capability above which a firm is high (None for a boolean column).
    """

    table: pd.DataFrame
    share_tied: float
    expected_share: float
    n_low: int
    n_high: int
    threshold: float | None

    @property
    def ratio(self) -> float:
        """``share_tied / expected_share``: above 1, low firms seek out high ones."""
        return self.share_tied / self.expected_share if self.expected_share else np.nan


def leader_follower(
    net: KnowledgeNetwork, capability: str = "capability", *, threshold: float | None = None
) -> LeaderFollower:
    """Ties from low- to high-capability firms, against random ties.

    Parameters
    ----------
    net : KnowledgeNetwork
        With a firm table holding ``capability``.
    capability : str, default "capability"
        Numeric column (high: above ``threshold``) or boolean column (True: high).
    threshold : float, optional
        Default: the median capability.

    Returns
    -------
    LeaderFollower
        The tie table, observed and expected shares, group sizes and the threshold.

    Raises
    ------
    SpecificationError
        If the column is missing, not numeric or boolean, or has missing values.

    Notes
    -----
    The expected share is exact under its null: a low firm with d ties to partners
    drawn without replacement from the other N - 1 firms, H of them high, has none
    high with the hypergeometric probability C(N - 1 - H, d) / C(N - 1, d); the
    expectation is the mean over all low firms of one minus that probability (0 for
    firms without ties). Firms without ties stay in both denominators.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.networks import KnowledgeNetwork, leader_follower
    >>> firms = pd.DataFrame({"capability": [3.0, 2.5, 1.0, 0.5, 0.2, 0.1]}, index=list("ABcdef"))
    >>> edges = pd.DataFrame({"source": list("cdef"), "target": list("AABB")})
    >>> lf = leader_follower(KnowledgeNetwork.from_edges(edges, nodes=firms), threshold=2.0)
    >>> lf.share_tied, round(lf.expected_share, 4)
    (1.0, 0.4)
    """
    high, level = _groups(net, capability, threshold)
    a = net.adjacency.tocoo()
    src, dst = high[a.row].astype(int), high[a.col].astype(int)
    counts = np.zeros((2, 2))
    np.add.at(counts, (src, dst), 1.0)
    if not net.directed:
        counts[np.diag_indices(2)] /= 2.0  # a symmetric matrix lists each tie twice
    table = pd.DataFrame(counts.astype(int), index=GROUPS, columns=GROUPS)
    table.index.name, table.columns.name = "source", "target"
    reaches = np.zeros(net.n_firms, dtype=bool)
    reaches[a.row[high[a.col]]] = True
    low = ~high
    ties = np.bincount(a.row, minlength=net.n_firms)
    n, h = net.n_firms, int(high.sum())
    p_none = np.array([hypergeom.pmf(0, n - 1, h, d) for d in ties[low]])
    expected = float(np.mean(1.0 - p_none)) if low.any() else np.nan
    observed = float(reaches[low].mean()) if low.any() else np.nan
    return LeaderFollower(table, observed, expected, int(low.sum()), h, level)


def _groups(
    net: KnowledgeNetwork, capability: str, threshold: float | None
) -> tuple[np.ndarray, float | None]:
    """True for high-capability firms, in ``net.ids`` order, and the threshold used."""
    values = net.attribute(capability)
    if values.isna().any():
        raise SpecificationError(
            f"{int(values.isna().sum())} firms have no {capability!r}, e.g. "
            f"{preview(values.index[values.isna()])}; give every firm a value."
        )
    if values.dtype == bool:
        if threshold is not None:
            raise SpecificationError("threshold= is only for a numeric capability column.")
        return values.to_numpy(), None
    x = pd.to_numeric(values, errors="coerce")
    if x.isna().any():
        raise SpecificationError(f"capability column {capability!r} must be numeric or boolean.")
    cut = float(np.median(x)) if threshold is None else float(threshold)
    return (x > cut).to_numpy(), cut
