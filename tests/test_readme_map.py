"""The README's map is made by tools/readme_map.py, which still runs and draws it."""

from pathlib import Path

from tools.readme_map import OUTPUT, draw


def test_readme_map_script_draws_the_committed_map(tmp_path):
    committed = OUTPUT.with_suffix(".png")
    assert committed.exists() and committed.stat().st_size < 200_000  # small, in git
    assert f"docs/images/{committed.name}" in (Path(__file__).parents[1] / "README.md").read_text()
    (written,) = draw(tmp_path / "map")
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
