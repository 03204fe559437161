"""Run every benchmark (``benchmarks/*_bench.py``), each in its own process.

Each benchmark times spillover side by side with the peer packages in the same run and
writes its figures under ``benchmarks/results/``. Separate processes keep one
benchmark's peak memory from inflating the next one's. ``make bench`` runs this;
``python -m benchmarks.run_all hdfe conley`` runs a subset.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    return sorted(p.stem.removesuffix("_bench") for p in HERE.glob("*_bench.py"))


def main(names: list[str]) -> int:
    failed = []
    for name in names or discover():
        start = time.perf_counter()
        sys.stdout.write(f"== {name}\n")
        sys.stdout.flush()
        code = subprocess.call([sys.executable, "-m", f"benchmarks.{name}_bench"], cwd=HERE.parent)
        sys.stdout.write(f"== {name}: exit {code} after {time.perf_counter() - start:.0f} s\n")
        if code:
            failed.append(name)
    if failed:
        sys.stderr.write(f"benchmarks failed: {', '.join(failed)}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
