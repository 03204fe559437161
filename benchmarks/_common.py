"""What the benchmarks share: the results folder, timing, the machine record and writing.

Not a benchmark itself (``run_all`` runs only ``*_bench.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``fn(*args, **kwargs)`` and the wall-clock seconds it took."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def status_kb(field: str) -> int:
    """A field of this process's ``/proc/self/status`` in kB (``"VmRSS"``, ``"VmHWM"``);
    0 where there is none (not Linux). Write ``"5"`` to ``/proc/self/clear_refs`` first to
    reset the high-water mark ``VmHWM``."""
    status = Path("/proc/self/status")
    if not status.exists():
        return 0
    for line in status.read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def machine() -> dict[str, Any]:
    """CPUs, Python version and the load average now (the machine may be shared)."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def close_machine(record: dict[str, Any]) -> dict[str, Any]:
    """Add the load average at the end to ``record["machine"]``; return the record."""
    record["machine"]["load_average_at_end"] = os.getloadavg()
    return record


def quick_flag(doc: str, argv: list[str] | None = None) -> bool:
    """Parse the command line of a benchmark whose only option is ``--quick``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    return parser.parse_args(argv).quick


def write_results(stem: str, record: dict[str, Any], markdown: str) -> None:
    """Write ``results/<stem>.json`` (indented, newline-terminated) and ``<stem>.md``."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text(markdown)


def run_child(module: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run ``python -m benchmarks.<module> *args`` in a fresh process and parse the JSON
    record it prints on its last line; a timeout or failure becomes ``{"skipped": why}``."""
    cmd = [sys.executable, "-m", f"benchmarks.{module}", *args]
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=RESULTS.parents[1]
        )
    except subprocess.TimeoutExpired:
        return {"skipped": f"timed out after {timeout:g} s"}
    if out.returncode != 0:
        return {"skipped": "failed: " + out.stderr.strip().splitlines()[-1][:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])
