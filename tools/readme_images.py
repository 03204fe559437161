"""Copy each study's featured figure into docs/images/ for the README.

Each analysis module names the figure the README shows in ``FIGURE`` (a file its run writes
into ``analyses/output/<name>/``, or ``None`` for a study that writes no figure). Run after
``make analyses`` (``make readme-images`` does both); commit the images that changed.
"""

from __future__ import annotations

import importlib
import shutil
import sys

from analyses._common import OUTPUT, REPOSITORY
from analyses.run_all import discover

IMAGES = REPOSITORY / "docs" / "images"


def featured(name: str) -> str | None:
    """The figure file study ``name`` shows in the README (its module's ``FIGURE``)."""
    return importlib.import_module(f"analyses.{name}").FIGURE


def main() -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    missing = []
    for name in discover():
        figure = featured(name)
        if figure is None:
            continue
        source = OUTPUT / name / figure
        if not source.exists():
            missing.append(str(source.relative_to(REPOSITORY)))
            continue
        target = IMAGES / f"{name}.png"
        tmp = target.with_suffix(".png.tmp")
        shutil.copyfile(source, tmp)
        tmp.replace(target)
        sys.stdout.write(f"{target.relative_to(REPOSITORY)}\n")
    if missing:
        sys.stderr.write("run `make analyses` first; missing: " + ", ".join(missing) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
