"""Dynamic spatial Durbin panels at large N: simulate, fit (bias-corrected QML) and effects.

Run with ``.venv/bin/python -m benchmarks.dynamic_bench`` (10^5 regions x 10 years on the
rook lattice and on kNN(10) firm weights; ``--quick``: 10^4; ``--case knn 100000 10``
runs one case and replaces its row). Writes ``benchmarks/results/dynamic.json`` and
``dynamic.md``.

Design: W as in :mod:`benchmarks.register_bench` (rook lattice, or kNN(10) over uniform
random points listed in random order; row-standardised). The panel comes from
:func:`spillover.simulate.dynamic_spatial_panel` with two-way effects, tau = 0.4,
rho = 0.2, eta = -0.1, beta = (1, -0.5), theta = (0.3, 0.2) and 50 burn-in periods; it is
fitted by :class:`spillover.models.DynamicSpatialDurbin` with two-way fixed effects (Lee-Yu
transformation, Yu-de Jong-Lee bias correction), then short- and long-run effects with
delta-method standard errors. Each case runs in its own process (peak RSS its own); wall
and CPU seconds per phase with the 1-minute load average, as in the register benchmark.
No peer runs beside it: neither xsmle (Stata) nor SDPDmod (R, not packaged by Debian) is
available on the benchmark machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings

from benchmarks.register_bench import RESULTS, _Phase, build_weights

TRUTH = {"tau": 0.4, "rho": 0.2, "eta": -0.1}


def run_case(kind: str, n: int, periods: int) -> dict:
    from spillover.models import DynamicSpatialDurbin
    from spillover.simulate import dynamic_spatial_panel

    out: dict = {"kind": kind, "n": n, "t": periods}
    with _Phase(out, "weights"):
        w = build_weights(kind, n)
    with _Phase(out, "simulate"):
        panel = dynamic_spatial_panel(
            w, periods, beta=[1.0, -0.5], theta=[0.3, 0.2], effects="twoway", seed=1, **TRUTH
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _Phase(out, "fit_se"):
            res = DynamicSpatialDurbin("y ~ x1 + x2", panel, w=w, effects="twoway").fit()
        with _Phase(out, "effects_se"):
            eff = res.impacts()
    out["fit_effects_wall_s"] = round(out["fit_se"]["wall_s"] + out["effects_se"]["wall_s"], 2)
    out["params"] = {k: round(float(v), 6) for k, v in res.params.items()}
    out["std_errors"] = {k: round(float(v), 6) for k, v in res.std_errors.items()}
    out["truth"] = TRUTH
    out["n_effects_rows"] = len(eff)
    out["warnings"] = [str(c.message)[:160] for c in caught]
    return out


def in_process(kind: str, n: int, periods: int) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.dynamic_bench", "--worker", kind, str(n),
           str(periods)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=RESULTS.parents[1])
    if out.returncode:
        return {"kind": kind, "n": n, "t": periods, "failed": out.stderr.strip()[-600:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        "# Dynamic spatial Durbin panel, two-way FE, bias-corrected QML",
        "",
        f"{meta['machine']}; `{meta['command']}`; {meta['date']}. Seconds wall (CPU), "
        "peak RSS, 1-minute load average at the end of the phase (2 cores shared).",
        "",
        "| W | N x T | simulate s | fit+SE s | effects+SE s | peak GiB | load |"
        " tau (SE) | rho (SE) | eta (SE) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        head = f"| {r['kind']} | {r['n']:,} x {r['t']} |"
        if "failed" in r:
            lines.append(f"{head} failed: {r['failed'][-80:]} |")
            continue

        def cell(p: dict) -> str:
            return f"{p['wall_s']:.1f} ({p['cpu_s']:.1f})"

        def est(k: str, r: dict = r) -> str:
            return f"{r['params'][k]:.4f} ({r['std_errors'][k]:.4f})"

        lines.append(
            f"{head} {cell(r['simulate'])} | {cell(r['fit_se'])} | {cell(r['effects_se'])} | "
            f"{r['effects_se']['peak_rss_gib']:.2f} | {r['effects_se']['load_1min']:.1f} | "
            f"{est('tau')} | {est('rho')} | {est('eta')} |"
        )
    lines += ["", f"Truth: tau {TRUTH['tau']}, rho {TRUTH['rho']}, eta {TRUTH['eta']}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", nargs=3)
    parser.add_argument("--case", nargs=3, metavar=("W", "N", "T"))
    args = parser.parse_args()
    if args.worker:
        kind, n, t = args.worker
        sys.stdout.write(json.dumps(run_case(kind, int(n), int(t))) + "\n")
        return
    name = "dynamic_quick" if args.quick else "dynamic"
    path = RESULTS / f"{name}.json"
    size = 10_000 if args.quick else 100_000
    todo = [tuple(args.case)] if args.case else [(k, size, 10) for k in ("lattice", "knn")]
    results = []
    for kind, n, t in todo:
        results.append(in_process(kind, int(n), int(t)))
        sys.stdout.write(json.dumps(results[-1]) + "\n")
        sys.stdout.flush()
    rows = json.loads(path.read_text())["rows"] if args.case and path.exists() else []
    done = {(r["kind"], r["n"], r["t"]) for r in results}
    rows = [r for r in rows if (r["kind"], r["n"], r["t"]) not in done] + results
    rows.sort(key=lambda r: (r["n"], r["t"], r["kind"]))
    meta = {
        "machine": f"{platform.platform()}, {os.cpu_count()} cores",
        "command": "python -m benchmarks.dynamic_bench" + (" --quick" if args.quick else ""),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    (RESULTS / f"{name}.md").write_text(markdown(rows, meta))


if __name__ == "__main__":
    main()
