"""The files shipped in spillover/datasets/data are what data/build.py makes today."""

import importlib.util
from pathlib import Path

import pytest

BUILD = Path(__file__).resolve().parents[2] / "data" / "build.py"


@pytest.fixture(scope="module")
def build():
    if not BUILD.exists():  # e.g. tests run against an installed package
        pytest.skip("data/build.py is not available outside the repository")
    spec = importlib.util.spec_from_file_location("spillover_data_build", BUILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_files_match_a_fresh_build(build):
    assert build.check(build.build()) == []


def test_build_is_byte_deterministic(build, tmp_path):
    tables = build.build()
    build.write(tables, tmp_path / "a")
    build.write(tables, tmp_path / "b")
    for name in tables:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_shipped_files_are_small():
    data = Path(__file__).resolve().parents[2] / "spillover" / "datasets" / "data"
    sizes = {p.name: p.stat().st_size for p in data.glob("*.parquet")}
    assert len(sizes) == 5
    assert sum(sizes.values()) < 1_000_000, sizes
