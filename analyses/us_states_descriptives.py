"""US states public-capital panel (Munnell 1990): descriptive statistics and maps.

Writes a summary-statistics table with Stata-xtsum between/within parts, a correlation
table, and choropleth maps of output per worker and public capital per worker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analyses._common import ALBERS, per_worker, run_cli
from spillover import datasets
from spillover.report import correlation_table, summary_table
from spillover.report.figures import choropleth, save_figure

LABELS = {
    "log_gsp": "log gross state product",
    "log_pcap": "log public capital",
    "log_pc": "log private capital",
    "log_emp": "log employment",
    "unemp": "unemployment rate (%)",
}


FIGURE: str | None = "map_gsp_per_worker_1986.png"
"""The figure the README shows (``make readme-images`` copies it to docs/images/)."""


def main(output: Path) -> list[Path]:
    panel = per_worker(datasets.us_states(), "gsp", "pcap")
    cols = list(LABELS)
    written = [
        summary_table(
            panel,
            cols,
            labels=LABELS,
            caption="US states 1970-1986: summary statistics",
            label="tab:us-states-summary",
            notes=["Munnell (1990) panel of the 48 contiguous states; 17 years."],
        ).write(output / "summary.tex"),
        correlation_table(
            panel,
            cols,
            labels=LABELS,
            caption="US states 1970-1986: correlations",
            label="tab:us-states-correlations",
        ).write(output / "correlations.tex"),
    ]
    written += save_figure(
        choropleth(
            panel,
            "gsp_per_worker",
            period=1986,
            legend_title="$1,000 per worker",
            to_crs=ALBERS,
            title="Gross state product per worker, 1986",
            source="Munnell (1990)",
        ),
        output / "map_gsp_per_worker_1986",
    )
    growth = np.log(panel["pcap_per_worker"]).groupby(level=0).diff(16)
    written += save_figure(
        choropleth(
            panel.assign(pcap_growth=growth),
            "pcap_growth",
            period=1986,
            legend_title="log change",
            to_crs=ALBERS,
            title="Growth of public capital per worker, 1970-1986",
            source="Munnell (1990)",
        ),
        output / "map_pcap_growth",
    )
    return written


if __name__ == "__main__":
    run_cli(main, __file__)
