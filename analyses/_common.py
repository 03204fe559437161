"""What the analyses share: the output folder, the map projection, the command line.

Private (``run_all`` skips modules whose name starts with ``_``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from spillover import Panel

REPOSITORY = Path(__file__).resolve().parent.parent
"""The project's root folder."""

OUTPUT = REPOSITORY / "analyses" / "output"
"""Each analysis writes into ``OUTPUT / <module name>``."""

ALBERS = "EPSG:5070"
"""NAD83 / Conus Albers: equal-area, in metres, for maps and distances in the 48 states."""


def per_worker(panel: Panel, *columns: str) -> Panel:
    """``panel`` with ``<column>_per_worker = <column> / emp`` added for each column."""
    return panel.assign(**{f"{c}_per_worker": panel[c] / panel["emp"] for c in columns})


def run_cli(main: Callable[[Path], list[Path]], module_file: str) -> None:
    """Run one analysis into ``OUTPUT / <module name>`` and print the files it wrote."""
    for path in main(OUTPUT / Path(module_file).stem):
        sys.stdout.write(f"{path}\n")
