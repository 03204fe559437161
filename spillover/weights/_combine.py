"""Combinations of weights over the same ids: products and weighted sums."""

from __future__ import annotations

from collections.abc import Sequence

import scipy.sparse as sp

from spillover.errors import SpecificationError
from spillover.weights._base import IslandPolicy, Weights
from spillover.weights._inputs import finish


def _aligned(weights: Sequence[Weights]) -> list[Weights]:
    if not weights or not all(isinstance(w, Weights) for w in weights):
        raise SpecificationError(
            "combine spillover Weights objects (convert libpysal ones with Weights.from_libpysal)."
        )
    first = weights[0]
    return [first] + [w.align(first.ids, what="ids of the first weights") for w in weights[1:]]


def product(*weights: Weights, islands: IslandPolicy = "raise") -> Weights:
    """Elementwise (Hadamard) product, e.g. geographic x technological proximity.

    Parameters
    ----------
    *weights : Weights
        Two or more weights over the same ids (matched by id, ordered as the first).
    islands : {"raise", "keep", "drop"}, default "raise"
        Units left without neighbours (their neighbours in one weights are not
        neighbours in another).

    Returns
    -------
    Weights
        w_ij = prod_m w^(m)_ij; transform "custom" if any input was normalised.

    Examples
    --------
    >>> import numpy as np
    >>> from spillover import weights
    >>> a = weights.from_matrix(np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]]), ids=[1, 2, 3])
    >>> b = weights.from_matrix(np.array([[0, 2, 0], [2, 0, 3], [0, 3, 0]]), ids=[1, 2, 3])
    >>> weights.product(a, b).matrix.toarray().tolist()
    [[0.0, 2.0, 0.0], [2.0, 0.0, 3.0], [0.0, 3.0, 0.0]]
    """
    if len(weights) < 2:
        raise SpecificationError("product needs at least two weights.")
    ws = _aligned(weights)
    matrix = ws[0].matrix
    for w in ws[1:]:
        matrix = sp.csr_array(matrix.multiply(w.matrix))
    out = finish(matrix, ws[0].ids, " x ".join(w.name or "w" for w in ws), islands=islands)
    return _mark_custom(out, ws)


def weighted_sum(
    weights: Sequence[Weights], coefficients: Sequence[float], *, islands: IslandPolicy = "raise"
) -> Weights:
    """Linear combination sum_m c_m W^(m) of weights over the same ids.

    Parameters
    ----------
    weights : sequence of Weights
        Matched by id, ordered as the first.
    coefficients : sequence of float
        One coefficient per weights.
    islands : {"raise", "keep", "drop"}, default "raise"
        Units without any non-zero weight in the sum.

    Examples
    --------
    >>> import numpy as np
    >>> from spillover import weights
    >>> a = weights.from_matrix(np.array([[0, 1], [1, 0]]), ids=["x", "y"])
    >>> weights.weighted_sum([a, a], [0.25, 0.5]).matrix.toarray().tolist()
    [[0.0, 0.75], [0.75, 0.0]]
    """
    coefficients = list(coefficients)
    if len(coefficients) != len(weights):
        raise SpecificationError(
            f"{len(weights)} weights but {len(coefficients)} coefficients; give one each."
        )
    ws = _aligned(list(weights))
    matrix = coefficients[0] * ws[0].matrix
    for c, w in zip(coefficients[1:], ws[1:], strict=True):
        matrix = matrix + c * w.matrix
    name = " + ".join(f"{c:g}*{w.name or 'w'}" for c, w in zip(coefficients, ws, strict=True))
    return _mark_custom(finish(sp.csr_array(matrix), ws[0].ids, name, islands=islands), ws)


def _mark_custom(out: Weights, inputs: list[Weights]) -> Weights:
    if any(w.transform != "original" for w in inputs):
        return out._with(out.matrix, transform="custom")
    return out
