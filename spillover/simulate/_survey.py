"""A cluster-learning questionnaire with known loadings and structural paths."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spillover._typing import FloatArray
from spillover._validate import as_rng
from spillover.errors import SpecificationError
from spillover.simulate._survey_design import (
    CONSTRUCTS,
    LEARNING,
    MEDIATORS,
    SurveyDesign,
    category_moments,
)
from spillover.simulate._truth import SimulatedFirms

_CUTS = {5: np.array([-1.5, -0.5, 0.5, 1.5]), 7: np.array([-1.8, -1.1, -0.4, 0.4, 1.1, 1.8])}
_WORDS = {
    5: ("strongly disagree", "disagree", "neutral", "agree", "strongly agree"),
    7: ("strongly disagree", "disagree", "somewhat disagree", "neutral", "somewhat agree",
        "agree", "strongly agree"),
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class SimulatedSurvey:
    """A simulated cluster-learning questionnaire and its truth.

    Attributes
    ----------
    responses : pandas.DataFrame
        One row per firm: ``firm_id`` and the Likert items as answered (reverse-coded
        items not recoded; missing answers NaN).
    codebook : pandas.DataFrame
        The codebook table (``spillover.survey.Codebook.from_frame`` reads it;
        ``read_responses`` accepts it as is).
    respondents : pandas.DataFrame
        By ``firm_id``: ``region`` and ``cluster`` from the firm simulator (empty
        without ``firms``).
    latent : pandas.DataFrame
        True construct scores (unit variance), firm x construct.
    loadings : pandas.Series
        Standardized loadings of the continuous item responses, by item.
    item_correlations : pandas.Series
        Expected Pearson correlation of each (recoded) Likert item with its construct's
        latent score: the loading times the discretisation factor Cov(g(y), y) / sd(g(y))
        of the item's thresholds (a closed form for normal y).
    paths : pandas.Series
        Structural paths by (outcome, predictor), zeros included.
    direct, indirect, total : pandas.Series
        Effects on spillover: direct by factor, indirect a * b by (factor, mediator),
        total = direct + sum of indirect, by factor.
    thresholds : pandas.DataFrame
        Cut points of each item's continuous response (item x cut).
    straightliners : pandas.Index
        Firms that ticked one answer for every item (their items ignore ``latent``).
    design : SurveyDesign
        The parameters used.
    """

    responses: pd.DataFrame
    codebook: pd.DataFrame
    respondents: pd.DataFrame
    latent: pd.DataFrame
    loadings: pd.Series
    item_correlations: pd.Series
    paths: pd.Series
    direct: pd.Series
    indirect: pd.Series
    total: pd.Series
    thresholds: pd.DataFrame
    straightliners: pd.Index
    design: SurveyDesign

    def __repr__(self) -> str:
        n, k = self.responses.shape
        return f"SimulatedSurvey({n} firms, {k - 1} items in {len(CONSTRUCTS)} constructs)"


def cluster_survey(
    n_firms: int = 300,
    *,
    seed: int | np.random.Generator | None = None,
    scale: int = 5,
    missing_rate: float = 0.02,
    straightliner_rate: float = 0.01,
    firms: SimulatedFirms | None = None,
    design: SurveyDesign | None = None,
) -> SimulatedSurvey:
    """Simulate a cluster-learning questionnaire with known loadings and paths.

    Three learning factors (environment, structure, behaviour) act on spillover through
    three mediators (knowledge transfer, transformation, harvest) and, for environment,
    directly; structure has truly no effect on transformation and harvest (see
    :class:`SurveyDesign`). Each construct has 3 to 6 Likert items.

    Parameters
    ----------
    n_firms : int, default 300
        Respondents.
    seed : int or numpy.random.Generator, optional
        The same seed gives byte-identical output.
    scale : {5, 7}, default 5
        Likert points; continuous responses are cut at fixed normal thresholds shifted by
        a random item offset in [-0.3, 0.3].
    missing_rate : float, default 0.02
        Probability that an answer is missing, independently (MCAR).
    straightliner_rate : float, default 0.01
        Share of firms (rounded half up) that tick the same random answer for every item.
    firms : SimulatedFirms, optional
        Draw the respondents without replacement from these firms: ids and regions then
        join to ``firms.panel``. Default: ids 1..n_firms.
    design : SurveyDesign, optional
        The true model; default ``SurveyDesign()``.

    Returns
    -------
    SimulatedSurvey

    Examples
    --------
    >>> from spillover import simulate
    >>> sim = simulate.cluster_survey(300, seed=1)
    >>> sim.responses.shape, float(sim.paths["transformation", "structure"])
    ((300, 30), 0.0)
    """
    design = SurveyDesign() if design is None else design
    _check(n_firms, scale, missing_rate, straightliner_rate, firms, design)
    rng = as_rng(seed)
    ids, respondents = _respondents(rng, n_firms, firms)
    latent = pd.DataFrame(_latent(rng, design, n_firms), index=ids, columns=list(CONSTRUCTS))
    names = design.item_names()
    items = [i for c in CONSTRUCTS for i in names[c]]
    cuts = _CUTS[scale][None, :] - rng.uniform(-0.3, 0.3, size=(len(items), 1))
    answers = _answers(rng, design, latent.to_numpy(), cuts)
    reverse = _reverse_mask(design, names, items)
    answers[:, reverse] = scale + 1 - answers[:, reverse]
    n_liners = int(straightliner_rate * n_firms + 0.5)
    liners = np.sort(rng.choice(n_firms, size=n_liners, replace=False))
    answers[liners] = rng.integers(1, scale + 1, size=len(liners))[:, None]
    answers[rng.random(answers.shape) < missing_rate] = np.nan
    responses = pd.DataFrame(answers, columns=items)
    responses.insert(0, "firm_id", ids.to_numpy())
    loadings = design.loading_series()
    indirect = design.indirect_series()
    direct = design.direct_series()
    return SimulatedSurvey(
        responses=responses, codebook=_codebook(design, names, reverse, items, scale),
        respondents=respondents, latent=latent, loadings=loadings,
        item_correlations=_item_correlations(loadings, cuts),
        paths=design.path_series(), direct=direct, indirect=indirect,
        total=(direct + indirect.groupby(level="factor").sum())[list(LEARNING)].rename("total"),
        thresholds=pd.DataFrame(cuts, index=pd.Index(items, name="item")),
        straightliners=ids[liners], design=design,
    )  # fmt: skip


def _check(
    n: int, scale: int, missing: float, liners: float, firms: object, design: object
) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 10:
        raise SpecificationError(f"n_firms must be an integer >= 10, got {n!r}.")
    if scale not in _CUTS:
        raise SpecificationError(f"scale must be 5 or 7 (Likert points), got {scale!r}.")
    for name, value in (("missing_rate", missing), ("straightliner_rate", liners)):
        if not 0.0 <= value < 1.0:
            raise SpecificationError(f"{name} must be in [0, 1), got {value!r}.")
    if firms is not None and not isinstance(firms, SimulatedFirms):
        raise SpecificationError("firms must come from spillover.simulate.firms(...).")
    if firms is not None and len(firms.locations) < n:
        raise SpecificationError(
            f"n_firms={n} exceeds the {len(firms.locations)} simulated firms to draw from."
        )
    if not isinstance(design, SurveyDesign):
        raise SpecificationError(f"design must be a SurveyDesign, not {type(design).__name__}.")


def _respondents(
    rng: np.random.Generator, n: int, firms: SimulatedFirms | None
) -> tuple[pd.Index, pd.DataFrame]:
    if firms is None:
        ids = pd.Index(np.arange(1, n + 1), name="firm_id")
        return ids, pd.DataFrame(index=ids)
    pool = firms.locations.index.to_numpy()
    ids = pd.Index(np.sort(rng.choice(pool, size=n, replace=False)), name="firm_id")
    info = firms.locations.loc[ids.to_numpy(), ["region", "cluster"]]
    return ids, pd.DataFrame(info.to_numpy(), index=ids, columns=["region", "cluster"]).astype(
        {"region": info["region"].dtype, "cluster": info["cluster"].dtype}
    )


def _latent(rng: np.random.Generator, design: SurveyDesign, n: int) -> FloatArray:
    """Factors, mediators and outcome (n x 7), each with unit variance."""
    chol = np.linalg.cholesky(design.factor_cov())
    x = rng.standard_normal((n, 3)) @ chol.T
    psi = design.residual_variances().to_numpy()
    m = x @ design.a_matrix().T + rng.standard_normal((n, 3)) * np.sqrt(psi[:3])
    b = np.array([design.b_paths[k] for k in MEDIATORS])
    c = np.array([design.direct[k] for k in LEARNING])
    y = m @ b + x @ c + rng.standard_normal(n) * np.sqrt(psi[3])
    return np.column_stack([x, m, y])


def _answers(
    rng: np.random.Generator, design: SurveyDesign, latent: FloatArray, cuts: FloatArray
) -> FloatArray:
    """Likert categories 1..K (n x items) from continuous item responses."""
    lam = np.concatenate([design.loadings[c] for c in CONSTRUCTS])
    owner = np.repeat(np.arange(len(CONSTRUCTS)), [len(design.loadings[c]) for c in CONSTRUCTS])
    ystar = latent[:, owner] * lam + rng.standard_normal((len(latent), len(lam))) * np.sqrt(
        1 - lam**2
    )
    return (1 + (ystar[:, :, None] > cuts[None, :, :]).sum(axis=2)).astype(np.float64)


def _reverse_mask(
    design: SurveyDesign, names: dict[str, list[str]], items: list[str]
) -> list[bool]:
    flipped = {names[c][p - 1] for c, pos in design.reverse.items() for p in pos}
    return [i in flipped for i in items]


def _codebook(
    design: SurveyDesign, names: dict[str, list[str]], reverse: list[bool], items: list[str],
    scale: int,
) -> pd.DataFrame:  # fmt: skip
    construct = {i: c for c in CONSTRUCTS for i in names[c]}
    labels = "; ".join(f"{k}={w}" for k, w in enumerate(_WORDS[scale], start=1))
    return pd.DataFrame({
        "item": items, "construct": [construct[i] for i in items],
        "label": [f"{construct[i]} item {i[3:]}" + (" (reverse-coded)" if r else "")
                  for i, r in zip(items, reverse, strict=True)],
        "reverse": reverse, "min": 1.0, "max": float(scale), "value_labels": labels,
    })  # fmt: skip


def _item_correlations(loadings: pd.Series, cuts: FloatArray) -> pd.Series:
    factor = [cov / sd for cov, sd in (category_moments(row) for row in cuts)]
    return (loadings * np.array(factor)).rename("item_correlation")
