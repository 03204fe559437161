"""Technological proximity between firms: Jaffe (1986) and Bloom-Schankerman-Van Reenen.

The N x N proximity matrix is formed block by block as a sparse product of the firms'
class profiles, keeping only positive entries (optionally above a threshold or the
top k of each row). When even that would not fit, the builder refuses before doing
the work and points to the low-rank pool, which never forms the matrix.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from spillover._typing import IntArray
from spillover._validate import preview
from spillover.errors import SpecificationError, WeightsError
from spillover.weights._base import IslandPolicy, Weights
from spillover.weights._inputs import finish

Method = Literal["jaffe", "mahalanobis"]
MAX_NNZ = 50_000_000
"""Default largest number of stored proximities (about 0.6 GB as float64 CSR)."""
_BLOCK = 4_000_000  # target non-zeros of one sparse block product before pruning
_DENSE_MAX = 1 << 25  # largest dense class x firm factor (256 MB) for BLAS block products
_DENSE_BLOCK = 1 << 23  # entries of one dense block of proximities (64 MB)
_SAMPLE = 1_000  # firms sampled to estimate the size of the result


def technology(
    shares: Any,
    *,
    method: Method = "jaffe",
    ids: Any = None,
    threshold: float | None = None,
    k: int | None = None,
    islands: IslandPolicy = "raise",
    max_nnz: int = MAX_NNZ,
    progress: bool = False,
) -> Weights:
    """Technological proximity P_ij between firms from their technology-class profiles.

    Parameters
    ----------
    shares : pandas.DataFrame, scipy sparse matrix or array
        Firm x class patent counts or shares (>= 0), one row per firm. A DataFrame is
        indexed by firm id (sparse pandas columns are fine); a matrix needs ``ids=``.
        Rows are divided by their total first (shares), as in BSV (2013).
    method : {"jaffe", "mahalanobis"}, default "jaffe"
        Jaffe (1986) uncentred correlation, or the Mahalanobis-normed closeness of
        Bloom, Schankerman and Van Reenen (2013).
    ids : sequence, optional
        Firm ids for a matrix input.
    threshold : float, optional
        Keep only P_ij >= threshold.
    k : int, optional
        Keep only each firm's k closest firms (ties broken by column order); the
        result is then not symmetric.
    islands : {"raise", "keep", "drop"}, default "raise"
        Firms with no positive proximity to any other (no patents, or alone in their
        classes): raise naming them, keep as zero rows, or drop them.
    max_nnz : int, default 50,000,000
        Refuse (before computing) when the stored matrix would exceed this many
        non-zeros, estimated from 1,000 sampled firms, and checked exactly while
        building.
    progress : bool, default False
        Show a progress bar over row blocks.

    Returns
    -------
    Weights
        P with a zero diagonal; only positive proximities stored.

    Raises
    ------
    WeightsError
        If the result would exceed ``max_nnz``; use
        :func:`spillover.measures.technology_pool` (low rank, never forms P) instead.

    Notes
    -----
    Let T be the N x C share matrix (row i: firm i's shares T_i over the C classes),
    T~ the same with each row divided by its Euclidean norm, T~_i = T_i / (T_i T_i')^(1/2).

    * Jaffe (1986): P = T~ T~', i.e. P_ij = T_i T_j' / ((T_i T_i')^(1/2) (T_j T_j')^(1/2)),
      the uncentred correlation (cosine) of the two share vectors; 0 <= P_ij <= 1.
    * Mahalanobis (Bloom, Schankerman and Van Reenen 2013, Econometrica 81(4), the
      normed technology closeness TECH^M): with X~ = [T_.1 / (T_.1' T_.1)^(1/2), ...,
      T_.C / (T_.C' T_.C)^(1/2)] the share matrix with each class column divided by its
      Euclidean norm over firms, Omega = X~' X~ (C x C, the uncentred correlation of
      classes across firms) and TECH^M = T~ Omega T~'. With Omega = I it is Jaffe's
      measure; it credits firms whose classes are often combined by the same firms.
      Its diagonal is not 1, and it is denser than Jaffe's.

    Omega uses all firms passed. Zero-profile firms get no proximity (islands).

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover import weights
    >>> shares = pd.DataFrame({"c1": [1.0, 1.0, 0.0], "c2": [0.0, 1.0, 1.0]},
    ...                       index=["f1", "f2", "f3"])
    >>> p = weights.technology(shares)
    >>> round(float(p.matrix[0, 1]), 4)  # (1,0).(.5,.5) / (1 x 0.7071)
    0.7071
    >>> float(p.matrix[0, 2])  # no common class
    0.0
    """
    if method not in ("jaffe", "mahalanobis"):
        raise SpecificationError(f"method must be 'jaffe' or 'mahalanobis', got {method!r}.")
    if k is not None and (not isinstance(k, int | np.integer) or k < 1):
        raise SpecificationError(f"k must be a positive integer, got {k!r}.")
    f, index = _profiles(shares, ids)
    unit_rows = _unit_rows(f)
    left = sp.csr_array(unit_rows @ _omega(f)) if method == "mahalanobis" else unit_rows
    right = sp.csc_array(unit_rows.T)
    rows, cols, vals = _blocks(left, right, threshold, k, max_nnz, progress)
    n = len(index)
    matrix = sp.csr_array((vals, (rows, cols)), shape=(n, n))
    meta = {"method": method, "threshold": threshold, "k": k}
    name = f"technology({method}" + (f", k={k}" if k else "") + ")"
    return finish(matrix, index, name, islands=islands, meta=meta)


def _profiles(shares: Any, ids: Any) -> tuple[sp.csr_array, pd.Index]:
    """Firm x class share matrix (rows sum to 1, zero rows kept) and the firm ids."""
    if isinstance(shares, pd.DataFrame):
        if ids is not None:
            raise SpecificationError("ids= is only for matrix input; a DataFrame's index is used.")
        index = shares.index
        text = [c for c in shares.columns if not pd.api.types.is_numeric_dtype(shares[c])]
        if text:
            raise SpecificationError(
                f"shares must hold class counts or shares only; columns {preview(text)} are "
                "not numeric. Move the firm id to the index (df.set_index('firm')) and drop "
                "other columns."
            )
        if all(isinstance(t, pd.SparseDtype) for t in shares.dtypes):
            f = sp.csr_array(shares.sparse.to_coo())
        else:
            f = sp.csr_array(shares.to_numpy(dtype=float, na_value=np.nan))
    else:
        if ids is None:
            raise SpecificationError("a share matrix needs ids= (one firm id per row).")
        f = sp.csr_array(shares, dtype=float)
        index = pd.Index(ids)
        if len(index) != f.shape[0]:
            raise WeightsError(f"{len(index)} ids for a share matrix with {f.shape[0]} rows.")
    if index.has_duplicates:
        raise WeightsError(f"duplicate firm ids in shares: {preview(index[index.duplicated()])}.")
    f.eliminate_zeros()
    bad_rows = np.unique(f.tocoo().row[~np.isfinite(f.data) | (f.data < 0)])
    if len(bad_rows):
        raise WeightsError(
            f"{len(bad_rows)} firms have missing or negative class counts, e.g. "
            f"{preview(index[bad_rows])}. Shares must be finite and >= 0."
        )
    total = np.asarray(f.sum(axis=1)).ravel()
    inv = np.divide(1.0, total, out=np.zeros_like(total), where=total > 0)
    return sp.csr_array(sp.diags_array(inv) @ f), index


def _unit_rows(f: sp.csr_array) -> sp.csr_array:
    norm = np.sqrt(np.asarray(f.multiply(f).sum(axis=1)).ravel())
    inv = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
    return sp.csr_array(sp.diags_array(inv) @ f)


def _omega(f: sp.csr_array) -> sp.csr_array:
    """Omega = X~'X~, X~ the share matrix with unit-norm class columns (C x C)."""
    norm = np.sqrt(np.asarray(f.multiply(f).sum(axis=0)).ravel())
    inv = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
    x = sp.csr_array(f @ sp.diags_array(inv))
    return sp.csr_array(x.T @ x)


def _prune(
    block: sp.csr_array, rows: IntArray, threshold: float | None, k: int | None
) -> tuple[IntArray, IntArray, Any]:
    """Off-diagonal positive entries of the block of ``rows`` (>= threshold, top k)."""
    coo = block.tocoo()
    r, c, v = coo.row.astype(np.intp), coo.col.astype(np.intp), coo.data
    keep = (c != rows[r]) & (v > 0)
    if threshold is not None:
        keep &= v >= threshold
    r, c, v = r[keep], c[keep], v[keep]
    if k is not None and len(r):
        order = np.lexsort((c, -v, r))
        r, c, v = r[order], c[order], v[order]
        start = np.r_[0, np.flatnonzero(np.diff(r)) + 1]
        rank = np.arange(len(r)) - np.repeat(start, np.diff(np.r_[start, len(r)]))
        r, c, v = r[rank < k], c[rank < k], v[rank < k]
    return rows[r], c, v


def _prune_dense(
    block: Any, rows: IntArray, threshold: float | None, k: int | None
) -> tuple[IntArray, IntArray, Any]:
    """As :func:`_prune` for a dense block (same tie rule: lower column first)."""
    block[np.arange(len(rows)), rows] = 0.0
    if threshold is not None:
        block[block < threshold] = 0.0
    if k is not None and k < block.shape[1]:
        kth = -np.partition(-block, k - 1, axis=1)[:, k - 1 : k]
        keep = block > kth
        need = k - keep.sum(axis=1)
        tie = (block == kth) & (block > 0)
        over = tie.sum(axis=1) > need  # more ties at the k-th value than places left
        if over.any():
            first = np.cumsum(tie[over], axis=1) <= need[over, None]
            tie[over] &= first
        keep |= tie
        np.multiply(block, keep, out=block)
    r, c = np.nonzero(block > 0)
    return rows[r], c, block[r, c]


def _part(
    left: sp.csr_array, right: Any, rows: IntArray, threshold: float | None, k: int | None
) -> tuple[int, tuple[IntArray, IntArray, Any]]:
    """Entries kept from the rows ``rows`` of left @ right, and the raw non-zero count."""
    if isinstance(right, np.ndarray):  # P dense: dense blocks, BLAS when the rows are dense
        sub = left[rows]
        dense_rows = sub.nnz > 0.05 * sub.shape[0] * sub.shape[1]
        block = sub.toarray() @ right if dense_rows else np.asarray(sub @ right)
        return int(np.count_nonzero(block)), _prune_dense(block, rows, threshold, k)
    block = sp.csr_array(left[rows] @ right)
    return block.nnz, _prune(block, rows, threshold, k)


def _blocks(
    left: sp.csr_array,
    right: sp.csc_array,
    threshold: float | None,
    k: int | None,
    max_nnz: int,
    progress: bool,
) -> tuple[IntArray, IntArray, Any]:
    """All kept entries of left @ right, in row blocks, refusing early if too many."""
    n, classes = left.shape
    factor: Any = right.toarray() if classes * n <= _DENSE_MAX else right
    sample = np.sort(np.random.default_rng(0).choice(n, size=min(n, _SAMPLE), replace=False))
    raw, kept = _part(left, factor, sample, threshold, k)
    estimate = len(kept[0]) * n / len(sample)
    if estimate > max_nnz:
        _too_large(f"about {estimate:,.0f} (estimated from {len(sample)} sampled firms)", max_nnz)
    if raw < 0.01 * len(sample) * n:  # a sparse product: keep the factor sparse
        factor = right
    if isinstance(factor, np.ndarray):
        step = max(1, _DENSE_BLOCK // n)
    else:
        step = max(1, int(_BLOCK * len(sample) / max(raw, 1)))
    out: list[tuple[IntArray, IntArray, Any]] = []
    total = 0
    for a in tqdm(range(0, n, step), desc="technology proximity", disable=not progress):
        part = _part(left, factor, np.arange(a, min(a + step, n), dtype=np.intp), threshold, k)[1]
        total += len(part[0])
        if total > max_nnz:
            _too_large(f"more than {total:,}", max_nnz)
        out.append(part)
    if not out:
        return np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0)
    return tuple(np.concatenate(parts) for parts in zip(*out, strict=True))  # type: ignore[return-value]


def _too_large(size: str, max_nnz: int) -> None:
    raise WeightsError(
        f"the technology proximity matrix would hold {size} non-zero pairs, above "
        f"max_nnz={max_nnz:,} (16 bytes each). Compute the spillover pool without forming "
        "it with spillover.measures.technology_pool(panel, column, shares, "
        "proximity=...), which uses its low-rank form; or keep only close pairs with "
        "k= (top k per firm) or threshold=; or raise max_nnz if memory allows."
    )
