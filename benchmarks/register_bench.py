"""Spatial panels at register scale: kNN(10) firm weights beside the rook lattice.

Run with ``.venv/bin/python -m benchmarks.register_bench`` (10^5 entities x 10 years;
``--large`` adds 10^6 x 10, about 3 GiB per case; ``--quick``: 10^4; ``--case knn sar
1000000 10`` runs one case and replaces its row). Writes
``benchmarks/results/register.json`` and ``register.md``.

Design: N firms at uniform random points on a 1,000 x 1,000 km square, listed in random
order as registers list them; W = kNN(10), row-standardised (asymmetric, not similar to
a symmetric matrix: complex spectrum), built by :func:`spillover.weights.knn`. Beside it
the rook lattice of the same N (row-standardised, similar to symmetric). The panel is
simulated with :func:`spillover.simulate.spatial_panel` (two-way effects, rho = 0.4,
beta = (1, -0.5), theta = (0.5, -0.3) for SDM) and fitted with two-way fixed effects
(Lee-Yu), ``logdet="auto"`` (Barry-Pace series for kNN at N > 20,000; banded Cholesky or
Chebyshev for the lattice), ``vcov="ml"``, then ``impacts()`` (simulation SEs, 1,000
draws). Each case runs in its own process, so its peak resident memory (``ru_maxrss``,
cumulative: read after each phase) is its own. Wall and CPU (user + system) seconds are
recorded per phase with the 1-minute load average from ``os.getloadavg()``, because other
jobs share the machine's cores: on a loaded machine CPU seconds say more than wall seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
FORMULA = "y ~ x1 + x2"


def _rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class _Phase:
    """Wall and CPU seconds, peak RSS and load average of one timed phase."""

    def __init__(self, out: dict, name: str) -> None:
        self.out, self.name = out, name

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), _cpu()

    def __exit__(self, *exc: object) -> None:
        self.out[self.name] = {
            "wall_s": round(time.perf_counter() - self.wall, 2),
            "cpu_s": round(_cpu() - self.cpu, 2),
            "peak_rss_gib": round(_rss_gib(), 2),
            "load_1min": round(os.getloadavg()[0], 2),
        }


def build_weights(kind: str, n: int):
    from spillover import weights
    from spillover.simulate import grid_weights

    if kind == "lattice":
        side = math.isqrt(n)
        return grid_weights(side).row_standardize()
    xy = np.random.default_rng(0).uniform(0.0, 1000.0, size=(n, 2))
    return weights.knn(xy, 10, metric="euclidean", ids=np.arange(n)).row_standardize()


def run_case(kind: str, family: str, n: int, periods: int) -> dict:
    from spillover.models.spatial import SpatialDurbin, SpatialLag
    from spillover.simulate import spatial_panel

    out: dict = {"kind": kind, "family": family, "n": n, "t": periods}
    with _Phase(out, "weights"):
        w = build_weights(kind, n)
    theta = {"theta": [0.5, -0.3]} if family == "sdm" else {}
    with _Phase(out, "simulate"):
        sim = spatial_panel(w, periods, model=family, rho=0.4, beta=[1.0, -0.5],
                            effects="twoway", seed=1, **theta)  # fmt: skip
    cls = SpatialDurbin if family == "sdm" else SpatialLag
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _Phase(out, "setup"):
            model = cls(FORMULA, sim.panel, w=sim.weights, effects="twoway")
        with _Phase(out, "fit_se"):
            res = model.fit()
        with _Phase(out, "effects_se"):
            eff = res.impacts(seed=1)
    out["fit_effects_wall_s"] = round(
        out["setup"]["wall_s"] + out["fit_se"]["wall_s"] + out["effects_se"]["wall_s"], 2
    )
    out["logdet"] = res.info["Log-determinant"]
    out["params"] = {k: round(float(v), 6) for k, v in res.params.items()}
    out["std_errors"] = {k: round(float(v), 6) for k, v in res.std_errors.items()}
    out["truth"] = {k: float(v) for k, v in sim.truth.params.items()}
    out["effects"] = {
        f"{v}/{e}": [round(float(x), 6), round(float(s), 6)]
        for v, e, x, s in eff[["variable", "effect", "estimate", "std_error"]].itertuples(
            index=False
        )
    }
    out["warnings"] = [str(c.message)[:160] for c in caught]
    return out


def in_process(kind: str, family: str, n: int, periods: int) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.register_bench", "--worker", kind, family,
           str(n), str(periods)]  # fmt: skip
    before = os.getloadavg()[0]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=RESULTS.parents[1])
    if out.returncode:
        return {"kind": kind, "family": family, "n": n, "t": periods,
                "failed": out.stderr.strip()[-600:]}  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["load_before"] = round(before, 2)
    return result


def cases(quick: bool, large: bool = False) -> list[tuple[str, str, int, int]]:
    sizes = [10_000] if quick else [100_000, 1_000_000] if large else [100_000]
    return [(k, f, n, 10) for n in sizes for k in ("knn", "lattice") for f in ("sar", "sdm")]


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        "# Spatial panels at register scale: two-way FE SAR/SDM, kNN(10) firms and lattice",
        "",
        f"{meta['machine']}; `{meta['command']}`; {meta['date']}. Seconds wall (CPU), "
        "peak RSS after the phase, 1-minute load average at its end (2 cores shared).",
        "",
        "| W | model | N x T | simulate s | fit+SE s | effects+SE s | setup+fit+effects s |"
        " peak GiB | load | log-determinant | rho (SE) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        head = f"| {r['kind']} | {r['family'].upper()} | {r['n']:,} x {r['t']} |"
        if "failed" in r:
            lines.append(f"{head} failed: {r['failed'][-80:]} |")
            continue

        def cell(p: dict) -> str:
            return f"{p['wall_s']:.1f} ({p['cpu_s']:.1f})"

        lines.append(
            f"{head} {cell(r['simulate'])} | {cell(r['fit_se'])} | {cell(r['effects_se'])} | "
            f"{r['fit_effects_wall_s']:.1f} | {r['effects_se']['peak_rss_gib']:.2f} | "
            f"{r['effects_se']['load_1min']:.1f} | {r['logdet']} | "
            f"{r['params']['rho']:.5f} ({r['std_errors']['rho']:.5f}) |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", nargs=4)
    parser.add_argument("--large", action="store_true", help="also 10^6 x 10")
    parser.add_argument("--case", nargs=4, metavar=("W", "MODEL", "N", "T"))
    args = parser.parse_args()
    if args.worker:
        kind, family, n, t = args.worker
        sys.stdout.write(json.dumps(run_case(kind, family, int(n), int(t))) + "\n")
        return
    name = "register_quick" if args.quick else "register"
    path = RESULTS / f"{name}.json"
    todo = [tuple(args.case)] if args.case else cases(args.quick, args.large)
    results = []
    for kind, family, n, t in todo:
        results.append(in_process(kind, family, int(n), int(t)))
        sys.stdout.write(json.dumps(results[-1]) + "\n")
        sys.stdout.flush()
    # a single case replaces its row in the saved results (read now: other runs may
    # have written them meanwhile); a full run starts afresh
    rows = json.loads(path.read_text())["rows"] if args.case and path.exists() else []
    done = {(r["kind"], r["family"], r["n"], r["t"]) for r in results}
    rows = [r for r in rows if (r["kind"], r["family"], r["n"], r["t"]) not in done] + results
    rows.sort(key=lambda r: (r["n"], r["t"], r["kind"], r["family"]))
    meta = {
        "machine": f"{platform.platform()}, {os.cpu_count()} cores",
        "command": "python -m benchmarks.register_bench" + (" --quick" if args.quick else ""),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    (RESULTS / f"{name}.md").write_text(markdown(rows, meta))


if __name__ == "__main__":
    main()
