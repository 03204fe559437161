"""Draw the map shown in README.md: ``docs/images/us_growth_map.png``.

Run with ``.venv/bin/python -m tools.readme_map``. Growth of gross state product per worker,
1970-1986, relative to the mean over the 48 states (log points): signed data, so the
package draws it with a diverging palette centred at zero, in an equal-area projection
chosen for the states' longitude/latitude, with the class intervals and the scheme in the
legend. ``tests/test_readme_map.py`` runs :func:`draw` so the script stays in working order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spillover import datasets
from spillover.report import choropleth, save_figure

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "us_growth_map"


def draw(path: Path = OUTPUT) -> list[Path]:
    panel = datasets.us_states()
    per_worker = np.log(panel["gsp"] / panel["emp"]).unstack()
    growth = 100 * (per_worker[1986] - per_worker[1970])
    relative = (growth - growth.mean()).rename("growth")
    one = panel.subset(periods=[1986])
    one = one.assign(growth=relative.reindex(one.data.index.get_level_values(0)).to_numpy())
    fig = choropleth(
        one,
        "growth",
        period=1986,
        scheme="quantiles",
        k=5,
        legend_title="Output per worker growth\n1970-1986, vs. 48-state mean",
        units="log points",
        fmt="{:.1f}",
        source="Munnell (1990), as in spillover.datasets.us_states()",
        title="Growth of gross state product per worker",
    )
    return save_figure(fig, path, formats=("png",), dpi=110)


if __name__ == "__main__":
    for written in draw():
        print(written)
