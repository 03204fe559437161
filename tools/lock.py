"""Write constraints.txt: the exact versions ``make`` installs (``make lock`` runs this).

pyproject.toml keeps version ranges for users; ``make`` installs with ``-c constraints.txt``
so that tests, analyses and benchmarks run on the same releases on every machine and the
analyses reproduce byte for byte. This resolves the newest releases the ranges admit
(spillover with its test and bench extras) for CPython 3.11 from binary wheels only, once
for manylinux x86-64 and once for manylinux aarch64, and writes the pins if both agree, so
a fresh clone installs on either without compiling anything.

Run ``make lock``, then ``make test`` (which reinstalls .venv from the new pins) and commit
constraints.txt if the suite passes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "constraints.txt"
EXTRAS = "test,bench"
PYTHON = "3.11"
ARCHES = ("x86_64", "aarch64")
MANYLINUX = ("manylinux2014", "manylinux_2_17", "manylinux_2_28")
#: Pure-Python dependencies published only as source distributions: built once into a
#: platform-independent wheel here, so the binary-only resolution can take them.
SDIST_ONLY = ("semopy",)


def pure_wheels(folder: Path) -> None:
    """Build the newest SDIST_ONLY releases as py3-none-any wheels into ``folder``."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(folder),
         *SDIST_ONLY],
        check=True,
    )  # fmt: skip


def resolve(arch: str, wheels: Path) -> dict[str, str]:
    """{name: version} pip would install into a fresh CPython 3.11 on manylinux ``arch``."""
    platforms = [arg for tag in MANYLINUX for arg in ("--platform", f"{tag}_{arch}")]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--dry-run",
                "--ignore-installed", "--report", str(report), "--only-binary=:all:",
                "--python-version", PYTHON, "--implementation", "cp",
                "--abi", "cp" + PYTHON.replace(".", ""), *platforms,
                "--find-links", str(wheels), f"{ROOT}[{EXTRAS}]",
            ],
            check=True,
        )  # fmt: skip
        installs = json.loads(report.read_text())["install"]
    return {
        i["metadata"]["name"]: i["metadata"]["version"]
        for i in installs
        if i["metadata"]["name"] != "spillover"
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pure_wheels(Path(tmp))
        pins = {arch: resolve(arch, Path(tmp)) for arch in ARCHES}
    first, *rest = pins.values()
    for arch, other in zip(ARCHES[1:], rest, strict=True):
        if other != first:
            diff = sorted(set(first.items()) ^ set(other.items()))
            sys.stderr.write(f"{ARCHES[0]} and {arch} resolve differently: {diff}\n")
            return 1
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    header = [
        "# Exact versions that `make` installs (pip install -c constraints.txt): tests,",
        "# analyses and benchmarks run on these releases on every machine; pyproject.toml",
        "# keeps the ranges that users install from.",
        f"# Made by `make lock` (tools/lock.py) on {stamp}: the newest releases the ranges",
        f"# admit for spillover[{EXTRAS}] on CPython {PYTHON}, binary wheels for manylinux",
        f"# {' and '.join(ARCHES)}.",
    ]
    lines = [f"{name}=={version}" for name, version in sorted(first.items(), key=_key)]
    TARGET.write_text("\n".join(header + lines) + "\n")
    print(f"wrote {len(lines)} pins to {TARGET.relative_to(ROOT)}")
    return 0


def _key(item: tuple[str, str]) -> str:
    return item[0].lower().replace("_", "-")


if __name__ == "__main__":
    sys.exit(main())
