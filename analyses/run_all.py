"""Run every analysis under analyses/ and write its tables and figures to analyses/output/.

Each analysis is a module ``analyses/<name>.py`` with a ``main(output: Path) -> list[Path]``
that writes into its own folder ``analyses/output/<name>/`` and returns the files written.
Run one with ``python -m analyses.<name>`` or all with ``make analyses``.

``make analyses`` reruns only what changed: after a study succeeds, this runner writes
``analyses/output/<name>/.inputs.mk``, a make rule that lists every repository file the study's
process loaded (its module, ``analyses/_common.py``, each ``spillover`` module and the bundled
data files), and the Makefile then marks the study done. A study reruns when any of those files,
or the installed environment, is newer than its mark; a failed study leaves no mark.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
import time
from pathlib import Path

import analyses
from analyses._common import OUTPUT, REPOSITORY
from spillover.report import write_atomic

log = logging.getLogger("analyses")


def discover() -> list[str]:
    """Names of the analysis modules (every module except this runner and private ones)."""
    return sorted(
        m.name
        for m in pkgutil.iter_modules(analyses.__path__)
        if m.name != "run_all" and not m.name.startswith("_")
    )


SOURCES = ("analyses", "spillover")
"""The repository folders whose files count as a study's inputs (not ``.venv`` and the like)."""


def loaded_inputs(root: Path = REPOSITORY) -> list[Path]:
    """Repository files this process has loaded: module sources and the bundled data files.

    The data files are those of :mod:`spillover.datasets` (read by pyarrow or pyogrio, which
    Python's own file hooks do not see), counted whenever that package is loaded.
    """
    root = root.resolve()
    files: set[Path] = set()
    for module in list(sys.modules.values()):
        source = getattr(module, "__file__", None)
        if source and Path(source).resolve().is_relative_to(root):
            files.add(Path(source).resolve())
    datasets = sys.modules.get("spillover.datasets")
    if datasets is not None and datasets.__file__ is not None:
        files.update(p.resolve() for p in (Path(datasets.__file__).parent / "data").glob("*"))
    return sorted(
        f for f in files if f.is_file() and f.relative_to(root).parts[0] in SOURCES
    )


def inputs_rule(target: str, inputs: list[str]) -> str:
    """A make rule: ``target`` depends on each of ``inputs`` (paths relative to the root).

    Each input also gets an empty rule of its own, so that deleting or renaming a module makes
    the study rerun instead of stopping make with "no rule to make target".
    """
    lines = [f"{target}: \\", *(f"  {path} \\" for path in inputs), ""]
    lines += [f"{path}:" for path in inputs]
    return "\n".join(lines) + "\n"


def write_inputs_rule(name: str) -> Path:
    """Write ``analyses/output/<name>/.inputs.mk``: the study's done-mark on its loaded inputs."""
    root = REPOSITORY.resolve()
    inputs = [path.relative_to(root).as_posix() for path in loaded_inputs(root)]
    rule = inputs_rule(f"analyses/output/{name}/.done", inputs)
    return write_atomic(OUTPUT / name / ".inputs.mk", rule)


def main(names: list[str] | None = None) -> int:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    for name in names or discover():
        start = time.perf_counter()
        module = importlib.import_module(f"analyses.{name}")
        written = module.main(OUTPUT / name)
        write_inputs_rule(name)
        log.info("%s: %d files in %.1f s", name, len(written), time.perf_counter() - start)
        for path in written:
            log.info("  %s", path.relative_to(OUTPUT.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or None))
