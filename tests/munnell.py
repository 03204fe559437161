"""The Munnell US states example shared by the panel-estimator tests."""

import json
from pathlib import Path

FORMULA = "log_gsp ~ log_pcap + log_pc + log_emp + unemp"
SLOPES = ["log_pcap", "log_pc", "log_emp", "unemp"]
PLM = json.loads((Path(__file__).parent / "references" / "plm_produc.json").read_text())
