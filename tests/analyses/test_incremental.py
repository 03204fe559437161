"""`make analyses` reruns only the studies whose inputs changed.

The Makefile's own rules are exercised by `make -n` (print, do not run) in a scratch copy of
the project layout with two fake studies, so the test needs make but no study runs; the
runner's input list is checked on this process, which has loaded the package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from analyses import run_all
from analyses._common import REPOSITORY

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")

STUDIES = ("alpha_study", "beta_study")


def _age(path: Path, seconds: float) -> None:
    """Set ``path``'s modification time ``seconds`` before now."""
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch project: the real Makefile, two studies run once, everything up to date."""
    shutil.copy(REPOSITORY / "Makefile", tmp_path / "Makefile")
    for name in ("pyproject.toml", "constraints.txt"):
        (tmp_path / name).write_text("")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / ".installed").write_text("")
    (tmp_path / "spillover").mkdir()
    shared = tmp_path / "spillover" / "shared.py"
    only_beta = tmp_path / "spillover" / "only_beta.py"
    shared.write_text("")
    only_beta.write_text("")
    (tmp_path / "analyses").mkdir()
    for name in ("__init__.py", "_common.py", "run_all.py"):
        (tmp_path / "analyses" / name).write_text("")
    for study in STUDIES:
        (tmp_path / "analyses" / f"{study}.py").write_text("")
        done = tmp_path / "analyses" / "output" / study / ".done"
        done.parent.mkdir(parents=True)
        done.write_text("")
        inputs = ["analyses/_common.py", f"analyses/{study}.py", "spillover/shared.py"]
        if study == "beta_study":
            inputs.append("spillover/only_beta.py")
        rule = run_all.inputs_rule(f"analyses/output/{study}/.done", inputs)
        (done.parent / ".inputs.mk").write_text(rule)
    # Inputs old, environment older than them, done-marks newest: all up to date.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            _age(path, 300)
    for name in ("pyproject.toml", "constraints.txt"):
        _age(tmp_path / name, 600)
    for study in STUDIES:
        _age(tmp_path / "analyses" / "output" / study / ".done", 100)
    return tmp_path


def _planned(project: Path, target: str = "analyses") -> list[str]:
    """The study commands `make -n target` would run."""
    out = subprocess.run(
        ["make", "-n", "-C", str(project), target],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split()[-1] for line in out.splitlines() if "-m analyses.run_all" in line]


def test_nothing_reruns_when_nothing_changed(project: Path) -> None:
    assert _planned(project) == []


def test_a_changed_input_reruns_only_the_studies_that_loaded_it(project: Path) -> None:
    _age(project / "spillover" / "only_beta.py", 10)
    assert _planned(project) == ["beta_study"]
    _age(project / "spillover" / "shared.py", 10)
    assert sorted(_planned(project)) == sorted(STUDIES)


def test_a_changed_study_module_reruns_that_study(project: Path) -> None:
    _age(project / "analyses" / "alpha_study.py", 10)
    assert _planned(project) == ["alpha_study"]
    assert _planned(project, "beta-study") == []
    assert _planned(project, "alpha-study") == ["alpha_study"]


def test_a_deleted_input_reruns_the_study_instead_of_failing(project: Path) -> None:
    (project / "spillover" / "only_beta.py").unlink()
    assert _planned(project) == ["beta_study"]


def test_a_failed_or_missing_run_reruns(project: Path) -> None:
    (project / "analyses" / "output" / "alpha_study" / ".done").unlink()
    assert _planned(project) == ["alpha_study"]


def test_a_new_environment_reruns_everything(project: Path) -> None:
    _age(project / ".venv" / ".installed", 10)
    assert sorted(_planned(project)) == sorted(STUDIES)


def test_loaded_inputs_are_repository_sources_only() -> None:
    import spillover.datasets  # noqa: F401

    inputs = [p.relative_to(REPOSITORY).as_posix() for p in run_all.loaded_inputs()]
    assert "spillover/__init__.py" in inputs
    assert "analyses/run_all.py" in inputs
    assert any(p.startswith("spillover/datasets/data/") for p in inputs)
    assert all(p.split("/")[0] in run_all.SOURCES for p in inputs)
