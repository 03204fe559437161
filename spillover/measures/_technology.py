"""Technology spillover pools through Jaffe or Mahalanobis proximity, in low-rank form."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._typing import FloatArray, IntArray
from spillover._validate import id_mismatch, preview
from spillover.errors import AlignmentError, SpecificationError
from spillover.measures._common import entity_codes, period_rows, values
from spillover.panel import Panel

Proximity = Literal["jaffe", "mahalanobis"]
_CHUNK = 1 << 22  # entries of a dense (rows x classes) block in the diagonal computation


def technology_pool(
    panel: Panel,
    column: str,
    shares: pd.DataFrame | pd.Series,
    *,
    proximity: Proximity = "jaffe",
    exclude_self: bool = True,
    name: str | None = None,
) -> pd.Series:
    """Technology spillover pool S_it = sum_{j != i} P_ij K_jt without forming P (N x N).

    Parameters
    ----------
    panel : Panel
        Firm-period panel.
    column : str
        The stock K to pool (e.g. from :func:`rd_stock`).
    shares : pandas.DataFrame or pandas.Series
        Technology-class profile of each firm, one column per class: patent counts or
        shares, >= 0, each row with a positive total. Indexed by firm id (static
        profiles, the usual choice, e.g. pre-sample patenting) or by the panel's
        (firm, period) keys (time-varying). Matched by id, never by position. Columns
        of ``pandas.SparseDtype`` are read without densifying. For register-scale data
        pass the long format instead: a Series of counts indexed by (firm, class) (or
        (firm, period, class)), one entry per class a firm patents in; it is turned
        into the sparse N x C matrix directly.
    proximity : {"jaffe", "mahalanobis"}, default "jaffe"
        Jaffe (1986) uncentred correlation or the Mahalanobis-normed closeness of
        Bloom, Schankerman and Van Reenen (2013).
    exclude_self : bool, default True
        Leave out the firm's own stock (P_ii K_it).
    name : str, optional
        Name of the result (default ``"<column>_tech_pool"``).

    Returns
    -------
    pandas.Series
        S_it indexed like ``panel``.

    Raises
    ------
    AlignmentError
        If ``shares`` lacks firms (or firm-periods) of the panel, or has others.
    SpecificationError
        If a share row is negative, missing or all zero.

    Notes
    -----
    Let T_i be firm i's class shares (counts are first divided by their row total),
    X~ the matrix of rows T_i / ||T_i|| (Euclidean norm), and Z the share matrix with
    each class column divided by its Euclidean norm over firms.

    * Jaffe: P = X~ X~', P_ij = T_i.T_j / (||T_i|| ||T_j||), P_ii = 1.
    * Mahalanobis (BSV 2013): P = X~ Omega X~' with Omega = Z'Z, the uncentred
      correlation between classes across firms; it credits firms in classes that are
      often combined by the same firms. Its diagonal is not 1.

    Both are low rank (rank <= C classes), so S = X~ (Omega (X~' K)) - diag(P) K costs
    O(nnz(X~) + C^2) per period and the N x N matrix is never formed: with F = X~
    sparse (N x C, one entry per firm and class it patents in), the Jaffe pool is
    F (F' K) - K, two sparse products, time and memory O(nnz(F)); Mahalanobis adds
    the C x C Omega and diag(P) by row blocks, O(nnz(F) C). Omega is computed
    from all firms in ``shares`` (for time-varying shares, from that period's rows).
    Firms absent in a period contribute zero.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover import Panel
    >>> from spillover.measures import technology_pool
    >>> df = pd.DataFrame({"firm": [1, 2, 3], "year": 2000, "k": [1.0, 2.0, 4.0]})
    >>> shares = pd.DataFrame({"c1": [1.0, 1.0, 0.0], "c2": [0.0, 1.0, 1.0]}, index=[1, 2, 3])
    >>> panel = Panel(df, entity="firm", time="year")
    >>> technology_pool(panel, "k", shares).round(4).tolist()
    [1.4142, 3.5355, 1.4142]

    The same profiles in long format, one (firm, class) count per row:

    >>> long = shares.stack().loc[lambda s: s > 0]
    >>> technology_pool(panel, "k", long).round(4).tolist()
    [1.4142, 3.5355, 1.4142]
    """
    if proximity not in ("jaffe", "mahalanobis"):
        raise SpecificationError(f"proximity must be 'jaffe' or 'mahalanobis', got {proximity!r}.")
    x = values(panel, column)
    out = np.empty(len(x))
    key_levels = shares.index.nlevels - (1 if isinstance(shares, pd.Series) else 0)
    if key_levels == 1:
        f = _profile_matrix(shares, panel.entities, "firms")
        ent = entity_codes(panel)
        omega = _omega(f) if proximity == "mahalanobis" else None
        for _, rows in period_rows(panel):
            out[rows] = _low_rank_pool(f, ent[rows], x[rows], omega, exclude_self)
    else:
        f = _profile_matrix(shares, panel.data.index, "firm-periods")
        for _, rows in period_rows(panel):
            ft = f[rows]
            omega = _omega(ft) if proximity == "mahalanobis" else None
            out[rows] = _low_rank_pool(ft, np.arange(len(rows)), x[rows], omega, exclude_self)
    return pd.Series(out, index=panel.data.index, name=name or f"{column}_tech_pool")


def _profile_matrix(shares: pd.DataFrame | pd.Series, keys: pd.Index, what: str) -> sp.csr_array:
    """Class shares (rows sum to 1) in the order of ``keys``, as a sparse matrix.

    ``shares`` is a wide table (dense or sparse columns) indexed by the keys, or a long
    Series of counts indexed by (key..., class); neither is densified when sparse.
    """
    if isinstance(shares, pd.Series):
        index, f = _long_profiles(shares)
    else:
        index, f = shares.index, _wide_profiles(shares)
    missing, extra = keys.difference(index), index.difference(keys)
    duplicated = index[index.duplicated()].unique()
    if len(missing) or len(extra) or len(duplicated):
        message = id_mismatch(
            f"technology shares and panel {what}",
            [
                (missing, f"panel {what} have no share row"),
                (extra, f"share rows are not panel {what}"),
                (duplicated, "ids have more than one share row"),
            ],
        )
        raise AlignmentError(f"{message} Pass shares.loc[...] for exactly the panel's ids.")
    f = sp.csr_array(f[index.get_indexer(keys)])
    rows = np.repeat(np.arange(f.shape[0]), np.diff(f.indptr))
    bad_entry = np.zeros(f.shape[0], dtype=bool)
    bad_entry[rows[~np.isfinite(f.data) | (f.data < 0)]] = True
    total = np.asarray(f.sum(axis=1)).ravel()
    bad = bad_entry | ~np.isfinite(total) | (total <= 0)
    if bad.any():
        raise SpecificationError(
            f"{int(bad.sum())} share rows are missing, negative or all zero, e.g. "
            f"{preview(keys[bad])}: technological proximity is undefined for a firm "
            "without patents. Drop those firms from the panel or give them a profile."
        )
    f.data = f.data / total[rows]
    f.eliminate_zeros()
    return f


def _wide_profiles(shares: pd.DataFrame) -> sp.csr_array:
    """One row per firm, one column per class; sparse pandas columns stay sparse."""
    if len(shares.columns) and all(isinstance(d, pd.SparseDtype) for d in shares.dtypes):
        coo = shares.astype(pd.SparseDtype(float, 0.0)).sparse.to_coo()
        return sp.csr_array(coo)
    return sp.csr_array(shares.to_numpy(dtype=float, na_value=np.nan))


def _long_profiles(counts: pd.Series) -> tuple[pd.Index, sp.csr_array]:
    """Rows from a Series indexed by (firm, class) or (firm, period, class)."""
    if counts.index.nlevels < 2:
        raise SpecificationError(
            "long-format shares must be a Series indexed by (firm, class) or "
            "(firm, period, class), holding patent counts or shares."
        )
    dup = counts.index[counts.index.duplicated()].unique()
    if len(dup):
        raise SpecificationError(
            f"{len(dup)} (id, class) pairs occur more than once in the shares, e.g. "
            f"{preview(dup)}; sum them first, e.g. counts.groupby(level=[0, 1]).sum()."
        )
    key = counts.index.droplevel(-1)
    row, index = pd.factorize(key)
    col, classes = pd.factorize(counts.index.get_level_values(-1), sort=True)
    if isinstance(key, pd.MultiIndex):
        index = pd.MultiIndex.from_tuples(index, names=key.names)
    else:
        index = pd.Index(index, name=key.name)
    values = counts.to_numpy(dtype=float, na_value=np.nan)
    shape = (len(index), len(classes))
    return index, sp.csr_array(sp.coo_array((values, (row, col)), shape=shape))


def _normalize_rows(f: sp.csr_array) -> sp.csr_array:
    norms = np.sqrt(np.asarray(f.multiply(f).sum(axis=1)).ravel())
    return sp.csr_array(sp.diags_array(1.0 / norms) @ f)


def _omega(f: sp.csr_array) -> FloatArray:
    """Omega = Z'Z, Z the share matrix with unit-norm class columns (C x C, dense)."""
    col = np.sqrt(np.asarray(f.multiply(f).sum(axis=0)).ravel())
    inv = np.divide(1.0, col, out=np.zeros_like(col), where=col > 0)
    z = sp.csr_array(f @ sp.diags_array(inv))
    return (z.T @ z).toarray()  # C x C: classes, not firms


def _low_rank_pool(
    f: sp.csr_array, pos: IntArray, k: FloatArray, omega: FloatArray | None, exclude_self: bool
) -> FloatArray:
    """sum_{j != i} P_ij k_j for the present rows ``pos`` of the profile matrix ``f``."""
    xt = _normalize_rows(sp.csr_array(f[pos]))
    v = xt.T @ k
    if omega is None:
        s = xt @ v
        diag = np.ones(len(k))
    else:
        s = xt @ (omega @ v)
        diag = _quadratic_diag(xt, omega)
    return s - diag * k if exclude_self else s


def _quadratic_diag(xt: sp.csr_array, omega: FloatArray) -> FloatArray:
    """diag(X~ Omega X~') by blocks of rows, never an N x N matrix."""
    step = max(1, _CHUNK // max(1, omega.shape[0]))
    out = np.empty(xt.shape[0])
    for a in range(0, xt.shape[0], step):
        block = xt[a : a + step]
        out[a : a + step] = np.asarray(block.multiply(block @ omega).sum(axis=1)).ravel()
    return out
