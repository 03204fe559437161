"""The US states descriptive and spatial analyses: their tables fit an article page."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyses import us_states_descriptives, us_states_spatial
from tests.analyses._latex import assert_tables_fit_the_page


@pytest.mark.parametrize("study", [us_states_descriptives, us_states_spatial])
def test_tables_fit_the_page(study, tmp_path: Path) -> None:
    written = study.main(tmp_path / "out")
    assert_tables_fit_the_page([p for p in written if p.suffix == ".tex"], tmp_path)
