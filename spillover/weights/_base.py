"""The Weights type: a sparse N x N matrix that knows the entity ids it is ordered by.

Weights is a :class:`~spillover.linalg.SpatialMatrix`: what is derived from the matrix
alone (symmetry, symmetric similar form, row standardisation, eigenvalues, spectral radius
and bound, parameter bounds) is computed on first use and cached on the instance, which is
immutable, so every consumer (models, effects, diagnostics) shares it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._typing import FloatArray
from spillover._validate import preview, require_same_ids, warn_dropped
from spillover.errors import AlignmentError, SpecificationError, WeightsError
from spillover.linalg.matrix import SpatialMatrix
from spillover.linalg.spectral import minmax_scale
from spillover.linalg.stacking import lag as lag_within_periods
from spillover.weights._summary import WeightsSummary

if TYPE_CHECKING:
    from spillover.panel import Panel

Transform = Literal["original", "row", "spectral", "minmax", "custom"]
IslandPolicy = Literal["raise", "keep", "drop"]


@dataclass(frozen=True, eq=False)
class Weights(SpatialMatrix):
    """Spatial or technological weights among entities.

    Parameters
    ----------
    matrix : scipy.sparse.csr_array
        N x N weights, ``matrix[i, j]`` the weight unit i gives unit j. Never densified.
    ids : pandas.Index
        Entity ids, in the order of the matrix rows and columns.
    name : str
        Short description shown in summaries and tables (e.g. ``"queen"``, ``"knn(k=6)"``).
    transform : str
        Normalisation applied so far: ``"original"``, ``"row"``, ``"spectral"``,
        ``"minmax"`` or ``"custom"``.

    Notes
    -----
    Instances are immutable: normalisations and reorderings return new objects. Derived
    facts inherited from :class:`~spillover.linalg.SpatialMatrix` (``is_symmetric``,
    ``symmetric_similar``, ``is_row_standardised``, ``spectral_radius``, ``spectral_bound``,
    ``parameter_bounds``, ``eigenvalues``) are computed once per instance and not pickled.
    Consumers receive weights through :func:`spillover.weights.as_weights`, which matches a
    libpysal ``W`` or ``Graph`` by id (:meth:`from_libpysal`) and refuses a bare matrix
    unless its order is stated (:meth:`in_panel_order`).
    """

    ids: pd.Index
    name: str = ""
    transform: Transform = "original"
    meta: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        m = self.matrix
        if not sp.issparse(m):
            raise WeightsError(f"weights matrix must be scipy sparse, not {type(m).__name__}.")
        if m.shape[0] != m.shape[1]:
            raise WeightsError(f"weights matrix must be square, got shape {m.shape}.")
        ids = pd.Index(self.ids)
        if len(ids) != m.shape[0]:
            raise WeightsError(f"{len(ids)} ids given for a {m.shape[0]} x {m.shape[0]} matrix.")
        if ids.has_duplicates:
            raise WeightsError(f"weights ids are not unique: {preview(ids[ids.duplicated()])}.")
        csr = sp.csr_array(m, dtype=np.float64)
        csr.sum_duplicates()
        csr.eliminate_zeros()
        bad = ~np.isfinite(csr.data)
        if bad.any():
            rows = np.unique(np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))[bad])
            raise WeightsError(
                f"weights matrix has NaN or infinite entries in {len(rows)} rows, e.g. "
                f"{preview(ids[rows])}. Replace them (e.g. with 0 for no link) before "
                "building the weights."
            )
        object.__setattr__(self, "matrix", csr)
        object.__setattr__(self, "ids", ids)

    # ------------------------------------------------------------------ basic facts
    @property
    def n(self) -> int:
        return self.matrix.shape[0]

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    @property
    def cardinalities(self) -> pd.Series:
        """Number of neighbours (non-zero weights) of each entity."""
        return pd.Series(np.diff(self.matrix.indptr), index=self.ids, name="neighbours")

    @property
    def row_sums(self) -> pd.Series:
        return pd.Series(np.asarray(self.matrix.sum(axis=1)).ravel(), index=self.ids)

    @property
    def islands(self) -> pd.Index:
        """Entities with no neighbour (an all-zero row)."""
        return self.ids[np.diff(self.matrix.indptr) == 0]

    def __repr__(self) -> str:
        mean = self.nnz / self.n if self.n else 0.0
        return (
            f"Weights({self.name or 'unnamed'}, n={self.n}, nnz={self.nnz}, "
            f"mean neighbours={mean:.2f}, transform={self.transform}, "
            f"islands={len(self.islands)})"
        )

    # ------------------------------------------------------------------ transforms
    def _with(
        self,
        matrix: sp.csr_array,
        *,
        transform: Transform | None = None,
        ids: pd.Index | None = None,
        name: str | None = None,
    ) -> Weights:
        return Weights(
            matrix,
            self.ids if ids is None else ids,
            self.name if name is None else name,
            self.transform if transform is None else transform,
            dict(self.meta),
        )

    def check_islands(self, policy: IslandPolicy = "raise") -> Weights:
        """Apply an island policy: raise (default), keep as all-zero rows, or drop them."""
        isl = self.islands
        if not len(isl) or policy == "keep":
            return self
        if policy == "drop":
            keep = ~self.ids.isin(isl)
            warn_dropped(
                len(isl),
                f"entities without neighbours (islands), e.g. {preview(isl)}; restrict the "
                "panel to the same ids with panel.subset(entities=w.ids)",
            )
            return self.subset(self.ids[keep])
        if policy != "raise":
            raise SpecificationError(f"islands must be 'raise', 'keep' or 'drop', got {policy!r}.")
        raise WeightsError(
            f"{len(isl)} entities have no neighbours (islands), e.g. {preview(isl)}. Use a "
            "larger distance band or k-nearest weights, or pass islands='keep' (their spatial "
            "lag is zero) or islands='drop'."
        )

    def without_self_links(self) -> Weights:
        """The same weights with a zero diagonal (no entity is its own neighbour).

        Examples
        --------
        >>> import numpy as np
        >>> from spillover.weights import from_matrix
        >>> w = from_matrix(np.array([[1, 1], [1, 0]]), ids=["a", "b"], diagonal="keep")
        >>> w.without_self_links().matrix.toarray().tolist()
        [[0.0, 1.0], [1.0, 0.0]]
        """
        diagonal = sp.diags_array(self.matrix.diagonal())
        transform = "original" if self.transform == "original" else "custom"
        return self._with(sp.csr_array(self.matrix - diagonal), transform=transform)

    def row_standardize(self, *, zero_rows: Literal["raise", "keep"] = "raise") -> Weights:
        """Rows sum to one (libpysal transform "R").

        Parameters
        ----------
        zero_rows : {"raise", "keep"}, default "raise"
            A row that sums to zero (an island, or weights that cancel) cannot be
            standardised: raise a WeightsError naming the ids, or keep it all zero (the
            unit's spatial lag is then zero, as in libpysal).
        """
        sums = np.asarray(self.matrix.sum(axis=1)).ravel()
        zero = sums == 0
        if zero.any() and zero_rows != "keep":
            if zero_rows != "raise":
                raise SpecificationError(f"zero_rows must be 'raise' or 'keep', got {zero_rows!r}.")
            raise WeightsError(
                f"cannot row-standardise: {int(zero.sum())} rows sum to zero, e.g. "
                f"{preview(self.ids[zero])}. Remove the islands first with "
                "w.check_islands('drop'), build weights without them, or pass "
                "zero_rows='keep' to leave those rows at zero."
            )
        inv = sp.diags_array(np.divide(1.0, sums, out=np.zeros_like(sums), where=~zero))
        return self._with(sp.csr_array(inv @ self.matrix), transform="row")

    def spectral_normalize(self) -> Weights:
        """Divide by the spectral radius (largest absolute eigenvalue); see Notes.

        Notes
        -----
        The radius is :attr:`spectral_radius` (cached;
        :func:`spillover.weights.spectral_radius`): exact shortcuts
        for non-negative W with constant row sums (Perron-Frobenius), Lanczos
        (``eigsh``) for symmetric W and Arnoldi (``eigs``) otherwise, both sparse and
        converged to machine precision. After scaling every eigenvalue has modulus
        <= 1, so a spatial parameter |rho| < 1 keeps I - rho W invertible. For a
        symmetric W this is also the largest singular value (spectral norm); for a
        non-symmetric W row or column sums may still exceed 1.
        """
        radius = self.spectral_radius
        out = self._with(sp.csr_array(self.matrix / radius), transform="spectral")
        out.meta["scale"] = radius
        return out

    def minmax_normalize(self) -> Weights:
        """Divide by min(max row sum, max column sum) of |W| (Kelejian and Prucha 2010).

        Notes
        -----
        tau = min(max_i sum_j |w_ij|, max_j sum_i |w_ij|), the smaller of the two matrix
        norms ||W||_inf and ||W||_1, each an upper bound on the spectral radius. After
        the scaling that norm is 1, so every eigenvalue has modulus <= 1, while relative
        weights and symmetry are unchanged (unlike row standardisation). No eigenvalue
        is computed, so it is cheap and exact for any N.
        """
        tau = minmax_scale(self.matrix)
        out = self._with(sp.csr_array(self.matrix / tau), transform="minmax")
        out.meta["scale"] = tau
        return out

    def symmetrize(self, how: Literal["max", "mean"] = "max") -> Weights:
        """A symmetric version: ``max(W, W')`` (the union of k-nearest links) or ``(W + W')/2``.

        Examples
        --------
        >>> import numpy as np
        >>> from spillover.weights import from_matrix
        >>> w = from_matrix(np.array([[0, 1, 0], [1, 0, 0], [1, 0, 0]]), ids=[1, 2, 3])
        >>> w.symmetrize().matrix.toarray().tolist()
        [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
        """
        t = sp.csr_array(self.matrix.T)
        if how == "max":
            out = sp.csr_array(self.matrix.maximum(t))
        elif how == "mean":
            out = sp.csr_array((self.matrix + t) / 2.0)
        else:
            raise SpecificationError(f"how must be 'max' or 'mean', got {how!r}.")
        transform = "original" if self.transform == "original" else "custom"
        return self._with(out, transform=transform, name=f"{self.name or 'w'} symmetrized")

    def components(self) -> pd.Series:
        """Connected-component label of each entity (weak connectivity; islands alone)."""
        from scipy.sparse.csgraph import connected_components

        _, labels = connected_components(self.matrix, directed=True, connection="weak")
        return pd.Series(labels, index=self.ids, name="component")

    def describe(self) -> WeightsSummary:
        """Terminal-friendly report: size, symmetry, neighbours, islands, components."""
        return WeightsSummary.of(self)

    def drop(self, ids: Any) -> Weights:
        """Weights without the entities ``ids`` (one id or a list); not renormalised."""
        gone = pd.Index([ids] if np.isscalar(ids) else list(ids))
        unknown = gone.difference(self.ids)
        if len(unknown):
            raise AlignmentError(
                f"{len(unknown)} ids to drop are not in the weights, e.g. {preview(unknown)}."
            )
        return self.subset(self.ids[~self.ids.isin(gone)])

    def subset(self, ids: Iterable[Any]) -> Weights:
        """Weights restricted to (and reordered as) ``ids``; weights are not renormalised."""
        ids = pd.Index(list(ids))
        pos = self.ids.get_indexer(ids)
        if (pos < 0).any():
            raise AlignmentError(
                f"{int((pos < 0).sum())} ids are not in the weights, e.g. {preview(ids[pos < 0])}."
            )
        sub = self.matrix[pos][:, pos]
        return self._with(sp.csr_array(sub), ids=ids)

    def align(self, ids: Iterable[Any], *, what: str = "panel entities") -> Weights:
        """Reorder to ``ids`` exactly; raise AlignmentError listing ids on either side only.

        Use this to match weights to ``panel.entities`` (a Panel itself is accepted):
        both sides must hold the same set of ids. Matching is by id, never by position.
        """
        ids = getattr(ids, "entities", ids)
        ids = ids if isinstance(ids, pd.Index) else pd.Index(list(ids))
        if ids.equals(self.ids):  # the common case, checked without building sets
            return self
        require_same_ids(
            ids,
            self.ids,
            subject=f"weights and {what}",
            absent=f"{what} have no row in W",
            extra=f"W ids are not among the {what}",
            fix="Build W from the same geography, or restrict with "
            "panel.subset(entities=w.ids) / w.subset(panel.entities).",
        )
        return self.subset(ids)

    def lag(
        self, values: FloatArray | pd.Series | pd.DataFrame
    ) -> FloatArray | pd.Series | pd.DataFrame:
        """Spatial lag W x of a cross-section.

        A Series or DataFrame is matched to the weights by its index (entity ids, in any
        order; extra ids are ignored) and the lag comes back indexed by ``w.ids``; an
        array must already be in ``w.ids`` order, one row per id.
        """
        if isinstance(values, pd.Series | pd.DataFrame):
            x = self._by_id(values)
            lagged = lag_within_periods(self.matrix, x.to_numpy(float))
            if isinstance(values, pd.Series):
                return pd.Series(lagged, index=self.ids, name=values.name)
            return pd.DataFrame(lagged, index=self.ids, columns=values.columns)
        x = np.asarray(values, dtype=float)
        if x.shape[0] != self.n:
            raise AlignmentError(
                f"values have {x.shape[0]} rows but the weights have {self.n} ids; pass one "
                "row per id in w.ids order, or a Series indexed by id."
            )
        return lag_within_periods(self.matrix, x)

    def _by_id(self, values: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
        """``values`` reordered to ``self.ids``; every id present exactly once."""
        dup = values.index.duplicated()
        if dup.any():
            raise AlignmentError(
                f"values have {int(dup.sum())} repeated ids, e.g. "
                f"{preview(values.index[dup].unique())}; a spatial lag needs one value per "
                "entity (take one period of a panel, e.g. panel.data.xs(year, level=1))."
            )
        absent = ~self.ids.isin(values.index)
        if absent.any():
            raise AlignmentError(
                f"values lack {int(absent.sum())} ids of the weights, e.g. "
                f"{preview(self.ids[absent])}; give one value per id of W "
                "(or restrict W with w.subset(values.index))."
            )
        return values.reindex(self.ids)

    # ------------------------------------------------------------------ interop
    @classmethod
    def in_panel_order(cls, matrix: Any, panel: Panel, *, name: str = "user matrix") -> Weights:
        """Weights from a bare matrix whose rows and columns follow the panel's entity order.

        The explicit statement that a matrix without ids lists ``panel.entities`` (the
        panel's sorted entity ids) in order; only then may it be used by position. Prefer
        ``Weights(matrix, ids)`` or :func:`spillover.weights.from_matrix` with the ids the
        matrix was built from: they are matched by id.

        Raises
        ------
        WeightsError
            If the matrix is not N x N for the panel's N entities.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from spillover import Panel
        >>> from spillover.weights import Weights
        >>> panel = Panel(pd.DataFrame({"r": ["b", "a"], "t": 2000}), entity="r", time="t")
        >>> w = Weights.in_panel_order(np.array([[0, 1.0], [1.0, 0]]), panel)
        >>> list(w.ids)
        ['a', 'b']
        """
        entities = panel.entities
        shape = matrix.shape if sp.issparse(matrix) else np.shape(matrix)
        if tuple(shape) != (len(entities), len(entities)):
            raise WeightsError(
                f"a matrix in the panel's entity order must be N x N for its "
                f"{len(entities)} entities; got shape {tuple(shape)}."
            )
        dense = not sp.issparse(matrix)
        return cls(sp.csr_array(np.asarray(matrix, float) if dense else matrix), entities, name)

    @classmethod
    def from_libpysal(cls, w: Any, *, name: str = "") -> Weights:
        """From a libpysal ``W`` or ``Graph`` (not mutated); ids from its id order.

        The transform is read from ``W.transform`` / ``Graph.transformation``: "R" gives
        ``"row"``, "O" and "B" (binary) ``"original"``, any other (e.g. "D", "V")
        ``"custom"``.
        """
        if hasattr(w, "sparse") and hasattr(w, "id_order"):  # libpysal.weights.W
            ids, matrix = pd.Index(w.id_order), w.sparse
        elif hasattr(w, "sparse") and hasattr(w, "unique_ids"):  # libpysal.graph.Graph
            ids, matrix = pd.Index(w.unique_ids), w.sparse
        else:
            raise WeightsError(f"not a libpysal W or Graph: {type(w).__name__}.")
        code = getattr(w, "transformation", None)  # Graph; a W has .transform
        code = str(code if code is not None else getattr(w, "transform", "O")).upper()
        transform = {"R": "row", "O": "original", "B": "original"}.get(code, "custom")
        return cls(sp.csr_array(matrix), ids, name or "libpysal", transform)

    def to_libpysal(self) -> Any:
        """A libpysal ``W`` with the same ids and weights (islands kept)."""
        from libpysal.weights import WSP

        return WSP(sp.csr_matrix(self.matrix), id_order=list(self.ids)).to_W(silence_warnings=True)
