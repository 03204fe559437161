"""The README lists every study and shows the figure each one names in ``FIGURE``."""

from __future__ import annotations

import importlib

import pytest

from analyses._common import REPOSITORY
from analyses.run_all import discover

README = (REPOSITORY / "README.md").read_text()


@pytest.mark.parametrize("name", discover())
def test_study_is_in_the_readme_with_its_figure(name: str) -> None:
    assert f"| `{name}` |" in README, f"README's analyses table has no row for {name}"
    figure = importlib.import_module(f"analyses.{name}").FIGURE
    if figure is None:
        return
    assert figure.endswith(".png"), f"{name}.FIGURE must name a PNG the study writes"
    image = f"docs/images/{name}.png"
    assert image in README, f"README does not show {image}"
    assert (REPOSITORY / image).is_file(), f"{image} missing: run `make readme-images`"


def test_every_image_the_readme_shows_exists() -> None:
    import re

    shown = set(re.findall(r"docs/images/[\w.-]+\.png", README))
    assert {"docs/images/spatial_table.png", "docs/images/effects_table.png"} <= shown
    missing = sorted(p for p in shown if not (REPOSITORY / p).is_file())
    assert not missing, f"README shows images that do not exist: {missing}"
