"""Every Python example in README.md runs, in order, in one namespace."""

import re
from pathlib import Path

import matplotlib
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 1


def _run_blocks(tmp_path, monkeypatch, *, dask: bool) -> None:
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    namespace: dict = {}
    for i, block in enumerate(BLOCKS):
        if "DaskBackend" in block and not dask:
            continue  # in the slow suite: see tests/backends/test_dask_hdfe.py
        try:
            exec(compile(block, f"README.md block {i + 1}", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"README block {i + 1} failed: {exc!r}\n{block}")


def test_readme_examples_run(tmp_path, monkeypatch, capsys):
    _run_blocks(tmp_path, monkeypatch, dask=False)
    assert capsys.readouterr().out


@pytest.mark.slow
def test_readme_examples_run_with_dask(tmp_path, monkeypatch, capsys):
    _run_blocks(tmp_path, monkeypatch, dask=True)
    assert capsys.readouterr().out
