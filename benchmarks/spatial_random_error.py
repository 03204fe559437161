"""Random effects SEM fit at N = 10,000, T = 10: the current code against an earlier revision.

Run with ``python -m benchmarks.spatial_bench --random-error REV [--repeat K]``: each fit
runs in its own process (through ``spatial_bench``'s worker), alternating the current code
with the random-effects SEM module (``spillover/models/spatial/random_error.py``) of git
revision REV. Writes ``benchmarks/results/spatial_random_error.{json,md}``. Not part of
``make bench`` (it needs a revision to compare with).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

from benchmarks.spatial_bench import FORMULA, RESULTS, in_process


def run_re_sem(side: int, periods: int, before: str) -> dict:
    """Time the RE SEM fit; ``before`` is a git revision whose RE SEM module is used, or "-"."""
    import types

    import spillover.models.spatial._model as model_module
    import spillover.models.spatial._variance as variance_module
    from spillover.inference.ml_vcov import invert
    from spillover.models.spatial import SpatialError
    from spillover.simulate import grid_weights, spatial_panel

    if before != "-":
        path = f"{before}:spillover/models/spatial/random_error.py"
        source = subprocess.run(
            ["git", "show", path],
            capture_output=True,
            text=True,
            check=True,
            cwd=RESULTS.parents[1],
        ).stdout
        # revisions before the covariance registry import the inverse from _variance
        variance_module._invert = getattr(variance_module, "_invert", invert)
        old = types.ModuleType("random_error_before")
        exec(compile(source, path, "exec"), old.__dict__)  # our own history, not user input
        model_module.fit_random_error = old.fit_random_error
        model_module.gls_beta_vcov = getattr(old, "gls_beta_vcov", _old_gls_beta_vcov)
    w = grid_weights(side).row_standardize()
    sim = spatial_panel(
        w, periods, model="sem", lam=0.4, beta=[1.0, -0.5], effects="entity", seed=1
    )
    model = SpatialError(FORMULA, sim.panel, w=sim.weights, effects="random")
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    res = model.fit()
    return {
        "fit_se_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
        "load_1min": [load, os.getloadavg()[0]],
        "logdet": res.info["Log-determinant"],
        "params": {**res.params.to_dict(), "phi": res.fit_stats["phi"]},
        "std_errors": res.std_errors.to_dict(),
        "loglik": res.loglik,
    }


def _old_gls_beta_vcov(lik, est, phi: float) -> np.ndarray:
    """GLS variance of beta from a revision before ``gls_beta_vcov`` (its own cross products).

    The ML covariance is then assembled by the current kernel from that block and the
    numerical Hessian of the revision's log-likelihood, as the revision's
    ``random_error_vcov`` did.
    """
    if hasattr(lik, "gls_cross_product"):
        gls = lik.gls_cross_product(est.lam, phi)
    else:
        gls = lik.cross_products(est.lam, phi)[0][1:, 1:]
    return est.sigma2 * np.linalg.inv(gls)


def random_error_study(before: str, repeat: int) -> None:
    """Alternate fits with the code of ``before`` and the current code; write the results."""
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    rows = []
    for _ in range(repeat):
        for rev in (before, "-"):
            result = in_process("re-sem", 100, 10, rev)
            rows.append({"code": rev if rev != "-" else "current", "result": result})
            sys.stdout.write(f"{rows[-1]['code']}: {result}\n")
            sys.stdout.flush()
    meta = {
        "machine": f"{platform.platform()}, {os.cpu_count()} cores",
        "command": f"python -m benchmarks.spatial_bench --random-error {before} --repeat {repeat}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "uptime": [uptime, subprocess.run(["uptime"], capture_output=True, text=True).stdout],
    }
    (RESULTS / "spatial_random_error.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=2)
    )
    (RESULTS / "spatial_random_error.md").write_text(re_markdown(rows, meta, before))


def re_markdown(rows: list[dict], meta: dict, before: str) -> str:
    lines = [
        "# Random effects SEM (splm spreml-type), N = 10,000 x T = 10: fit + SEs",
        "",
        f"{meta['machine']}; `{meta['command']}`; {meta['date']}.",
        f"Load: `{meta['uptime'][0]}` before, `{meta['uptime'][1].strip()}` after.",
        "",
        "| code | wall s | CPU s | 1-min load (start, end) | lambda | phi | x1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        res, p = r["result"], r["result"].get("params", {})
        if "failed" in res:
            lines.append(f"| {r['code']} | failed: {res['failed'][-80:]} |")
            continue
        lines.append(
            f"| {r['code']} | {res['fit_se_s']:.2f} | {res['cpu_s']:.2f} | "
            f"{res['load_1min'][0]:.2f}, {res['load_1min'][1]:.2f} | {p['lambda']:.10f} | "
            f"{p['phi']:.10f} | {p['x1']:.10f} |"
        )
    ok = [r for r in rows if "params" in r["result"]]
    old = [r["result"] for r in ok if r["code"] != "current"]
    new = [r["result"] for r in ok if r["code"] == "current"]
    if old and new:
        med = {
            k: float(np.median([o[k] for o in old]) / np.median([n[k] for n in new]))
            for k in ("fit_se_s", "cpu_s")
        }
        diff = max(abs(old[0]["params"][k] - new[0]["params"][k]) for k in new[0]["params"])
        se = max(
            abs(old[0]["std_errors"][k] / new[0]["std_errors"][k] - 1) for k in new[0]["std_errors"]
        )
        lines += [
            "",
            f"- Speed-up (median {before} / median current): wall {med['fit_se_s']:.1f}x, "
            f"CPU {med['cpu_s']:.1f}x.",
            f"- Largest |difference| of the estimates {diff:.1e}; of the SEs (relative) {se:.1e}.",
        ]
    return "\n".join(lines) + "\n"
