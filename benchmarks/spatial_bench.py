"""Spatial lag panel (SAR, entity FE) fit + SEs + effects at 2,500 / 10,000 / 1,000,000 regions.

Run with ``.venv/bin/python -m benchmarks.spatial_bench`` (``--quick`` for a smoke run;
``--monte-carlo`` for the recovery study, ``benchmarks/results/spatial_monte_carlo.md``).
Writes ``benchmarks/results/spatial.json`` and ``benchmarks/results/spatial.md``.

Design: a rook lattice, row-standardised, simulated with ``spillover.simulate.spatial_panel``
(SAR, rho = 0.4, two regressors, entity effects). Each case runs in its own process so
that its peak resident memory (``ru_maxrss``) is its own. Timed: model set-up, ML fit with
the analytic variance (``vcov="ml"``), and effects with delta-method SEs; a warm-up fit on
a tiny panel first loads the libraries. Beside us in the same run: spreg 1.9's
``ML_LagFE`` (dense N x N inverse; 2,500 only, it needs ~50 GiB at 10,000) and R splm's
fastest setting (``spml(..., method="spam", Hess=TRUE)``: sparse Cholesky Jacobian,
numerical Hessian), when Rscript with splm is installed. Our fits use
``bias_correction=None`` so that estimates are comparable with spreg's and splm's.
Accuracy: rho and the effects from the Chebyshev log-determinant with Monte Carlo traces
against the exact (banded Cholesky) fit at 10,000 regions.

``--random-error REV`` times the random effects SEM fit (``SpatialError(...,
effects="random").fit()``, vcov "ml") at N = 10,000, T = 10 (rook lattice, lambda = 0.4,
mu outside the error filter), each fit in its own process, alternating the current code
with the random-effects SEM module (``spillover/models/spatial/random_error.py``) of git
revision REV; writes ``benchmarks/results/spatial_random_error.{json,md}`` (the study lives
in ``benchmarks/spatial_random_error.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
FORMULA = "y ~ x1 + x2"


def rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def simulate(side: int, periods: int):
    from spillover.simulate import grid_weights, spatial_panel

    w = grid_weights(side).row_standardize()
    sim = spatial_panel(
        w, periods, model="sar", rho=0.4, beta=[1.0, -0.5], effects="entity", seed=1
    )
    return sim.panel, sim.weights


def run_ours(side: int, periods: int, logdet: str) -> dict:
    from spillover.models.spatial import SpatialLag

    tiny, wt = simulate(5, 3)
    SpatialLag(FORMULA, tiny, w=wt).fit().impacts(method="delta")  # warm-up
    panel, w = simulate(side, periods)
    base = rss_gib()
    t0 = time.perf_counter()
    model = SpatialLag(FORMULA, panel, w=w, effects="entity", bias_correction=None, logdet=logdet)
    t1 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit()
    t2 = time.perf_counter()
    # the approximate path throughout: Monte Carlo traces for the effects as well
    eff = res.impacts(method="delta", traces="mc" if logdet == "chebyshev" else "auto")
    t3 = time.perf_counter()
    return {
        "setup_s": t1 - t0,
        "fit_se_s": t2 - t1,
        "effects_s": t3 - t2,
        "total_s": t3 - t0,
        "peak_rss_gib": rss_gib(),
        "data_rss_gib": base,
        "logdet": res.info["Log-determinant"],
        "params": res.params.to_dict(),
        "std_errors": res.std_errors.to_dict(),
        "effects": {
            f"{v}/{e}": round(float(x), 6)
            for v, e, x in eff[["variable", "effect", "estimate"]].itertuples(index=False)
        },
        "warnings": [str(w.message)[:120] for w in caught],
    }


def run_spreg(side: int, periods: int) -> dict:
    import spreg
    from libpysal.weights import WSP

    panel, w = simulate(side, periods)
    lw = WSP(w.matrix.tocsr()).to_W(silence_warnings=True)
    lw.transform = "r"
    y = panel.data["y"].unstack().to_numpy()
    x = np.hstack([panel.data[c].unstack().to_numpy() for c in ("x1", "x2")])
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = spreg.ML_LagFE(y, x, lw)
    elapsed = time.perf_counter() - t0
    names = ["x1", "x2", "rho"]
    return {
        "fit_se_s": elapsed,
        "peak_rss_gib": rss_gib(),
        "params": dict(zip(names, m.betas.ravel().tolist(), strict=True)),
        "std_errors": dict(zip(names, m.std_err.tolist(), strict=True)),
    }


SPLM = r"""
suppressPackageStartupMessages({library(splm); library(spdep); library(Matrix)})
args <- commandArgs(TRUE)
d <- read.csv(args[1]); e <- read.csv(args[2])
n <- max(e$i) + 1
B <- sparseMatrix(i = e$i + 1, j = e$j + 1, x = 1, dims = c(n, n))
lw <- mat2listw(B, style = "W")
t0 <- proc.time()[["elapsed"]]
m <- spml(y ~ x1 + x2, data = d, index = c("id", "t"), listw = lw, model = "within",
          effect = "individual", lag = TRUE, spatial.error = "none", method = "spam",
          Hess = TRUE, quiet = TRUE)
el <- proc.time()[["elapsed"]] - t0
cat(sprintf('{"fit_se_s": %.6f, "rho": %.12f, "x1": %.12f, "x2": %.12f}\n', el,
            coef(m)[["lambda"]], coef(m)[["x1"]], coef(m)[["x2"]]))
"""


def run_splm(side: int, periods: int) -> dict:
    if shutil.which("Rscript") is None:
        return {"skipped": "Rscript not found"}
    panel, w = simulate(side, periods)
    with tempfile.TemporaryDirectory() as tmp:
        frame = panel.data.reset_index().rename(columns={"region": "id", "year": "t"})
        frame.columns = ["id", "t", *frame.columns[2:]]
        frame.to_csv(f"{tmp}/d.csv", index=False)
        coo = w.matrix.tocoo()
        np.savetxt(
            f"{tmp}/e.csv",
            np.column_stack([coo.row, coo.col]),
            fmt="%d",
            delimiter=",",
            header="i,j",
            comments="",
        )
        Path(f"{tmp}/run.R").write_text(SPLM)
        out = subprocess.run(
            ["Rscript", f"{tmp}/run.R", f"{tmp}/d.csv", f"{tmp}/e.csv"],
            capture_output=True,
            text=True,
            timeout=1800,
        )
    if out.returncode:
        return {"skipped": out.stderr.strip()[-300:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def worker(kind: str, side: int, periods: int, logdet: str) -> dict:
    if kind == "re-sem":
        from benchmarks.spatial_random_error import run_re_sem

        return run_re_sem(side, periods, logdet)
    if kind == "ours":
        return run_ours(side, periods, logdet)
    if kind == "spreg":
        return run_spreg(side, periods)
    return run_splm(side, periods)


def in_process(kind: str, side: int, periods: int, logdet: str = "auto") -> dict:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.spatial_bench",
        "--worker",
        kind,
        str(side),
        str(periods),
        logdet,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=RESULTS.parents[1])
    if out.returncode:
        return {"failed": out.stderr.strip()[-500:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def cases(quick: bool) -> list[tuple[str, int, int, str]]:
    if quick:
        return [("ours", 20, 5, "auto"), ("spreg", 20, 5, "auto"), ("ours", 40, 5, "chebyshev")]
    return [
        ("ours", 50, 10, "auto"),
        ("ours", 50, 10, "chebyshev"),
        ("spreg", 50, 10, "auto"),
        ("splm", 50, 10, "auto"),
        ("ours", 100, 10, "auto"),
        ("ours", 100, 10, "chebyshev"),
        ("splm", 100, 10, "auto"),
        ("ours", 1000, 5, "auto"),
    ]


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        "# Spatial lag panel (SAR, entity FE): fit + SEs + effects",
        "",
        f"{meta['machine']}; `{meta['command']}`; {meta['date']}.",
        "",
        "| package | N x T | log-det | set-up s | fit+SE s | effects s | total s | peak GiB"
        " | rho | x1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        res = r["result"]
        if "failed" in res or "skipped" in res:
            lines.append(
                f"| {r['kind']} | {r['n']:,} x {r['t']} | {r['logdet']} | "
                f"{res.get('failed', res.get('skipped'))[:60]} |"
            )
            continue
        params = res.get("params", res)
        total = res.get("total_s", res["fit_se_s"])
        lines.append(
            f"| {r['kind']} | {r['n']:,} x {r['t']} | {res.get('logdet', '')} | "
            f"{res.get('setup_s', float('nan')):.2f} | {res['fit_se_s']:.2f} | "
            f"{res.get('effects_s', float('nan')):.2f} | {total:.2f} | "
            f"{res.get('peak_rss_gib', float('nan')):.2f} | {params['rho']:.6f} | "
            f"{params['x1']:.6f} |"
        )
    lines += ["", *meta.get("notes", [])]
    return "\n".join(lines) + "\n"


MC_FAMILIES = {
    "sar": ("SpatialLag", {"rho": 0.4}),
    "sem": ("SpatialError", {"lam": 0.4}),
    "sdm": ("SpatialDurbin", {"rho": 0.4, "theta": [0.5, -0.3]}),
    "sdem": ("SpatialDurbinError", {"lam": 0.4, "theta": [0.5, -0.3]}),
    "sac": ("SAC", {"rho": 0.3, "lam": 0.3}),
}


def monte_carlo(reps: int = 200) -> str:
    """Bias, RMSE and 95% coverage on two-way FE panels (rook N = 100, T = 8), Lee-Yu."""
    import pandas as pd

    import spillover.models.spatial as spatial
    from spillover.simulate import grid_weights, spatial_panel

    w = grid_weights(10).row_standardize()
    lines = [
        f"# Monte Carlo recovery: {reps} replications, rook lattice N = 100, T = 8, "
        "two-way FE, Lee-Yu, vcov='ml'",
        "",
        "| model | parameter | truth | bias | RMSE | mean SE | sd of estimates | coverage 95% |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for family, (cls, kw) in MC_FAMILIES.items():
        rows = []
        for rep in range(reps):
            sim = spatial_panel(
                w, 8, model=family, beta=[1.0, -0.5], effects="twoway", seed=rep, **kw
            )
            res = getattr(spatial, cls)(
                "y ~ x1 + x2", sim.panel, w=sim.weights, effects="twoway"
            ).fit()
            truth = sim.truth.params.reindex(res.params.index)
            ci = res.conf_int(0.95)
            rows.append(
                pd.DataFrame(
                    {
                        "truth": truth,
                        "est": res.params,
                        "se": res.std_errors,
                        "cover": (ci["lower"] <= truth) & (truth <= ci["upper"]),
                    }
                ).assign(sigma2=res.sigma2)
            )
        allrows = pd.concat(rows)
        for name, g in allrows.groupby(level=0, sort=False):
            err = g["est"] - g["truth"]
            lines.append(
                f"| {family} | {name} | {g['truth'].iloc[0]:.2f} | {err.mean():+.4f} | "
                f"{np.sqrt((err**2).mean()):.4f} | {g['se'].mean():.4f} | "
                f"{g['est'].std(ddof=1):.4f} | {g['cover'].mean():.3f} |"
            )
        # sigma2 is repeated on every parameter row of a replication: its mean is unchanged
        lines.append(f"| {family} | sigma2 | 1.00 | {allrows['sigma2'].mean() - 1:+.4f} | | | | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", nargs=4)
    parser.add_argument("--report", action="store_true", help="rebuild the .md from the .json")
    parser.add_argument("--monte-carlo", action="store_true", help="recovery study only")
    parser.add_argument("--random-error", metavar="REV", help="RE SEM: current code against REV")
    parser.add_argument("--repeat", type=int, default=1, help="fits per code in --random-error")
    args = parser.parse_args()
    if args.random_error:
        from benchmarks.spatial_random_error import random_error_study

        random_error_study(args.random_error, args.repeat)
        return
    if args.monte_carlo:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "spatial_monte_carlo.md").write_text(monte_carlo())
        return
    if args.report:
        name = "spatial_quick" if args.quick else "spatial"
        saved = json.loads((RESULTS / f"{name}.json").read_text())
        saved["meta"]["notes"] = notes(saved["rows"])
        (RESULTS / f"{name}.json").write_text(json.dumps(saved, indent=2))
        (RESULTS / f"{name}.md").write_text(markdown(saved["rows"], saved["meta"]))
        return
    if args.worker:
        kind, side, periods, logdet = args.worker
        sys.stdout.write(json.dumps(worker(kind, int(side), int(periods), logdet)) + "\n")
        return
    rows = []
    for kind, side, periods, logdet in cases(args.quick):
        result = in_process(kind, side, periods, logdet)
        rows.append(
            {"kind": kind, "n": side * side, "t": periods, "logdet": logdet, "result": result}
        )
        sys.stdout.write(f"{kind} {side * side} x {periods} {logdet}: {result}\n")
        sys.stdout.flush()
    meta = {
        "machine": f"{platform.platform()}, {os.cpu_count()} cores",
        "command": "python -m benchmarks.spatial_bench" + (" --quick" if args.quick else ""),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "notes": notes(rows),
    }
    name = "spatial_quick" if args.quick else "spatial"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    (RESULTS / f"{name}.md").write_text(markdown(rows, meta))


def notes(rows: list[dict]) -> list[str]:
    """Ratios and accuracy lines derived from the rows."""
    out = []
    by = {(r["kind"], r["n"], r["logdet"]): r["result"] for r in rows}
    for n in sorted({r["n"] for r in rows}):
        ours, ref = by.get(("ours", n, "auto"), {}), by.get(("spreg", n, "auto"), {})
        if "total_s" in ours and "fit_se_s" in ref:
            diff = max(abs(ours["params"][k] - ref["params"][k]) for k in ("x1", "x2", "rho"))
            se = max(
                abs(ours["std_errors"][k] / ref["std_errors"][k] - 1) for k in ("x1", "x2", "rho")
            )
            out.append(
                f"- N = {n:,}: spreg ML_LagFE fit+SE / our fit+SE+effects = "
                f"{ref['fit_se_s'] / ours['total_s']:.1f}x; max |coef diff| {diff:.1e},"
                f" max SE rel. diff {se:.1e}."
            )
        splm = by.get(("splm", n, "auto"), {})
        if "total_s" in ours and "fit_se_s" in splm:
            out.append(
                f"- N = {n:,}: splm spam+Hess fit+SE / ours = "
                f"{splm['fit_se_s'] / ours['total_s']:.1f}x; |rho diff| "
                f"{abs(splm['rho'] - ours['params']['rho']):.1e}."
            )
        cheb = by.get(("ours", n, "chebyshev"), {})
        if "params" in ours and "params" in cheb:
            eff = ours["effects"]
            rel = max(abs(cheb["effects"][k] / eff[k] - 1) for k in eff)
            out.append(
                f"- N = {n:,}: {cheb['logdet']} against {ours['logdet']}: |rho diff| "
                f"{abs(cheb['params']['rho'] - ours['params']['rho']):.1e}, max relative "
                f"difference of the effects {rel:.1e} (Monte Carlo effect traces when the "
                "log-determinant uses them)."
            )
    return out


if __name__ == "__main__":
    main()
