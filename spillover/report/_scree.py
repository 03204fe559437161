"""Scree plot of a parallel analysis: observed eigenvalues beside Horn's simulated ones."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from spillover.errors import SpecificationError
from spillover.report._maps import OUTSIDE
from spillover.report.figures import PALETTE, print_style
from spillover.survey import ParallelAnalysis


def scree_plot(
    analysis: ParallelAnalysis,
    *,
    kind: str = "factors",
    ax: plt.Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Observed eigenvalues by number, with the simulated percentile and mean of a parallel
    analysis (Horn 1965), and the number of factors it retains marked.

    Parameters
    ----------
    analysis : ParallelAnalysis
        From :func:`spillover.survey.parallel_analysis`.
    kind : {"factors", "components"}, default "factors"
        Eigenvalues of the reduced correlation matrix (squared multiple correlations on the
        diagonal, as psych's ``fa.parallel``) or of the correlation matrix itself.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> from spillover.survey import parallel_analysis
    >>> pa = parallel_analysis(holzinger39.get_data()[[f"x{i}" for i in range(1, 10)]],
    ...                        n_iter=50, seed=1)
    >>> fig = scree_plot(pa)
    >>> [line.get_label() for line in fig.axes[0].get_lines()][:2]
    ['observed', 'simulated 95th percentile']
    """
    if kind not in ("factors", "components"):
        raise SpecificationError(f"kind must be 'factors' or 'components', got {kind!r}.")
    table = analysis.eigenvalues
    retained = analysis.n_factors if kind == "factors" else analysis.n_components
    with print_style():
        fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5.5, 3.8))
        x = table.index.to_numpy()
        ax.plot(x, table[f"observed_{kind}"], "o-", color="black", label="observed")
        ax.plot(x, table[f"percentile_{kind}"], "--", color=PALETTE[1],
                label=f"simulated {analysis.percentile:g}th percentile")  # fmt: skip
        ax.plot(x, table[f"mean_{kind}"], ":", color="#7f7f7f", label="simulated mean")
        if retained:
            ax.axvline(retained + 0.5, color=PALETTE[0], linewidth=0.8)
        ax.set_xlabel("Factor number" if kind == "factors" else "Component number")
        ax.set_ylabel("Eigenvalue")
        ax.set_xticks(x)
        ax.legend(**OUTSIDE)  # outside the axes: it covers no eigenvalue
        ax.set_title(
            title
            or f"Parallel analysis: {retained} {kind} retained "
            f"({analysis.n_iter:,} simulated data sets, N = {analysis.n_obs:,})"
        )
    return fig
