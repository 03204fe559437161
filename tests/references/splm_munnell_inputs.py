"""Write the inputs of splm_munnell.R: the Munnell panel and its queen contiguity matrix.

Run from the repository root: ``.venv/bin/python tests/references/splm_munnell_inputs.py``.
States are keyed by postal abbreviation in sorted order, the entity order of
``spillover.datasets.us_states()``, so R and Python see the same W row order.
"""

from pathlib import Path

import pandas as pd

from spillover import datasets, weights

HERE = Path(__file__).parent
COLUMNS = ["log_gsp", "log_pcap", "log_pc", "log_emp", "unemp"]

panel = datasets.us_states()
panel.data[COLUMNS].reset_index().to_csv(HERE / "splm_munnell_data.csv", index=False)
w = weights.queen(panel.geo).align(panel.entities)
edges = pd.DataFrame({"from": w.ids[w.matrix.tocoo().row], "to": w.ids[w.matrix.tocoo().col]})
edges.to_csv(HERE / "splm_munnell_queen_edges.csv", index=False)
