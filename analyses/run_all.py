"""Run every analysis under analyses/ and write its tables and figures to analyses/output/.

Each analysis is a module ``analyses/<name>.py`` with a ``main(output: Path) -> list[Path]``
that writes into its own folder ``analyses/output/<name>/`` and returns the files written.
Run one with ``python -m analyses.<name>`` or all with ``make analyses``.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
import time

import analyses
from analyses._common import OUTPUT

log = logging.getLogger("analyses")


def discover() -> list[str]:
    """Names of the analysis modules (every module except this runner and private ones)."""
    return sorted(
        m.name
        for m in pkgutil.iter_modules(analyses.__path__)
        if m.name != "run_all" and not m.name.startswith("_")
    )


def main(names: list[str] | None = None) -> int:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    for name in names or discover():
        start = time.perf_counter()
        module = importlib.import_module(f"analyses.{name}")
        written = module.main(OUTPUT / name)
        log.info("%s: %d files in %.1f s", name, len(written), time.perf_counter() - start)
        for path in written:
            log.info("  %s", path.relative_to(OUTPUT.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or None))
