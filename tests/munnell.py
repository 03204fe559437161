"""The Munnell US states example shared by the panel-estimator tests."""

import json
from pathlib import Path

FORMULA = "log_gsp ~ log_pcap + log_pc + log_emp + unemp"
SLOPES = ["log_pcap", "log_pc", "log_emp", "unemp"]
PLM = json.loads((Path(__file__).parent / "references" / "plm_produc.json").read_text())


def spatial_models() -> dict:
    """The spatial families by the short names R references use."""
    from spillover.models import SAC, SpatialDurbin, SpatialDurbinError, SpatialError, SpatialLag

    return {
        "sar": SpatialLag,
        "sem": SpatialError,
        "sdm": SpatialDurbin,
        "sdem": SpatialDurbinError,
        "sac": SAC,
    }
