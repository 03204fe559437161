"""Absorbed fixed effects at scale: spillover.HDFE beside pyfixest and linearmodels.

Run with ``.venv/bin/python -m benchmarks.hdfe_bench`` (``--quick`` for a smoke run,
``--firms N`` to change the size). Writes ``benchmarks/results/hdfe.json`` and ``hdfe.md``.

Design: an unbalanced firm-year panel, 250,000 firms entering in years 0-2 and leaving in
years 7-9 of a 10-year window (2,000,000 rows in expectation; no singletons, so no
estimator drops rows), 50 regions; y = 0.5 x1 - 0.2 x2 + effects + noise with x1
correlated with the firm effect. Two cases:

* ``2-way``: firm and year effects, standard errors clustered by firm;
* ``3-way``: firm, year and region x year effects, clustered by firm.

Each (estimator, case) runs in its own process: the data are simulated there from the
seed (not timed), each estimator is warmed up once on a 20,000-row slice (so numba/JIT
compilation is not counted), then the full estimation is timed as the user would call it
(formula parsing, absorbing, covariance). Peak memory is the growth of the process's
peak resident set during the timed call. Peers that are not installed are skipped and
listed; pyfixest is not a dependency of spillover (``pip install pyfixest`` to include it).
Coefficients and clustered standard errors are compared across estimators.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import run_child

RESULTS = Path(__file__).resolve().parent / "results"
CASES = {"2-way": ["firm", "year"], "3-way": ["firm", "year", "region:year"]}
PEERS = ("spillover", "pyfixest", "linearmodels.PanelOLS", "linearmodels.AbsorbingLS")
NEEDS = {"pyfixest": "pyfixest"}
TIMEOUT = 900


def simulate(n_firms: int, seed: int = 0) -> pd.DataFrame:
    """Unbalanced firm-year panel with firm, year and region x year effects."""
    rng = np.random.default_rng(seed)
    entry = rng.integers(0, 3, n_firms)
    exit_ = rng.integers(7, 10, n_firms)
    length = exit_ - entry + 1
    firm = np.repeat(np.arange(n_firms), length)
    start = np.repeat(np.cumsum(length) - length, length)
    year = np.repeat(entry, length) + np.arange(len(firm)) - start
    region = rng.integers(0, 50, n_firms)[firm]
    a_firm = rng.normal(size=n_firms)[firm]
    effects = a_firm + rng.normal(size=10)[year] + 0.5 * rng.normal(size=(50, 10))[region, year]
    x1 = rng.normal(size=len(firm)) + 0.5 * a_firm
    x2 = rng.normal(size=len(firm))
    y = 0.5 * x1 - 0.2 * x2 + effects + rng.normal(size=len(firm))
    return pd.DataFrame({"firm": firm, "year": year, "region": region, "x1": x1, "x2": x2, "y": y})


# ---------------------------------------------------------------------- one estimator
def _prepare(peer: str, df: pd.DataFrame, absorb: list[str]):
    """Return a zero-argument callable doing the user's call, and (coef, se) extraction."""
    if peer == "spillover":
        from spillover import Panel
        from spillover.inference import Cluster
        from spillover.models import HDFE

        panel = Panel(df, entity="firm", time="year")

        def run():
            res = HDFE("y ~ x1 + x2", panel, absorb=absorb).fit(vcov=Cluster("firm"))
            return res.params[["x1", "x2"]], res.std_errors[["x1", "x2"]]

        return run
    if peer == "pyfixest":
        import pyfixest as pf

        fe = " + ".join(a.replace(":", "^") for a in absorb)

        def run():
            fit = pf.feols(f"y ~ x1 + x2 | {fe}", data=df, vcov={"CRV1": "firm"})
            return fit.coef()[["x1", "x2"]], fit.se()[["x1", "x2"]]

        return run
    if peer == "linearmodels.PanelOLS":
        if len(absorb) > 2:
            return None  # PanelOLS takes entity, time and at most one more effect set
        from linearmodels.panel import PanelOLS

        data = df.set_index(["firm", "year"])

        def run():
            res = PanelOLS(
                data["y"], data[["x1", "x2"]], entity_effects=True, time_effects=True
            ).fit(cov_type="clustered", cluster_entity=True)
            return res.params, res.std_errors

        return run
    from linearmodels.iv.absorbing import AbsorbingLS

    cats = pd.DataFrame(
        {
            a: pd.Categorical(df[a] if ":" not in a else df["region"] * 100 + df["year"])
            for a in absorb
        }
    )

    def run():
        res = AbsorbingLS(df["y"], df[["x1", "x2"]], absorb=cats).fit(
            cov_type="clustered", clusters=df["firm"].to_numpy()
        )
        return res.params, res.std_errors

    return run


def _rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_one(peer: str, case: str, n_firms: int) -> dict:
    """Time one estimator on one case in this process (called in a child process)."""
    df = simulate(n_firms)
    absorb = CASES[case]
    warm = _prepare(peer, df.iloc[:20_000].copy(), absorb)
    if warm is None:
        return {"skipped": "PanelOLS absorbs at most entity, time and one other effect"}
    warm()
    run = _prepare(peer, df, absorb)
    before = _rss_kb()
    start = time.perf_counter()
    coef, se = run()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "peak_mb": max(peak - before, 0) / 1024,
        "coef": [float(v) for v in np.asarray(coef)],
        "se": [float(v) for v in np.asarray(se)],
        "nobs": len(df),
    }


# ---------------------------------------------------------------------- driver
def _child(peer: str, case: str, n_firms: int) -> dict:
    return run_child("hdfe_bench", ["--child", peer, case, "--firms", str(n_firms)], TIMEOUT)


def main(n_firms: int, tag: str) -> dict:
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "firms": n_firms,
        "load_average_start": os.getloadavg()[0],
        "cases": {},
    }
    for case in CASES:
        rows = {}
        for peer in PEERS:
            module = NEEDS.get(peer)
            if module and importlib.util.find_spec(module) is None:
                rows[peer] = {"skipped": f"{module} not installed"}
            else:
                rows[peer] = _child(peer, case, n_firms)
            sys.stdout.write(f"{case:6} {peer:26} {_short(rows[peer])}\n")
            sys.stdout.flush()
        _compare(rows)
        report["cases"][case] = rows
    report["load_average_end"] = os.getloadavg()[0]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"hdfe{tag}.json").write_text(json.dumps(report, indent=2))
    (RESULTS / f"hdfe{tag}.md").write_text(_markdown(report))
    return report


def _short(row: dict) -> str:
    if "skipped" in row:
        return "skipped: " + row["skipped"]
    return f"{row['seconds']:8.2f} s  {row['peak_mb']:8.0f} MB  coef {row['coef']}"


def _compare(rows: dict) -> None:
    ours = rows.get("spillover", {})
    if "seconds" not in ours:
        return
    for row in rows.values():
        if "seconds" in row:
            row["time_ratio_vs_spillover"] = row["seconds"] / ours["seconds"]
            row["max_rel_diff_coef"] = float(
                np.max(np.abs(np.subtract(row["coef"], ours["coef"])) / np.abs(ours["coef"]))
            )
            row["max_rel_diff_se"] = float(
                np.max(np.abs(np.subtract(row["se"], ours["se"])) / np.abs(ours["se"]))
            )


def _markdown(report: dict) -> str:
    lines = [
        "# HDFE benchmark",
        "",
        f"`.venv/bin/python -m benchmarks.hdfe_bench` on {report['machine']}, "
        f"Python {report['python']}; {report['firms']:,} firms; 1-minute load average "
        f"{report['load_average_start']:.1f} at start, {report['load_average_end']:.1f} at end "
        "(shared machine: compare ratios within a run).",
        "",
        "| case | estimator | rows | seconds | x spillover | peak MB | coef rel. diff | "
        "SE rel. diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case, rows in report["cases"].items():
        for peer, r in rows.items():
            if "skipped" in r:
                lines.append(f"| {case} | {peer} | | skipped: {r['skipped']} | | | | |")
                continue
            lines.append(
                f"| {case} | {peer} | {r['nobs']:,} | {r['seconds']:.2f} | "
                f"{r.get('time_ratio_vs_spillover', float('nan')):.2f} | {r['peak_mb']:.0f} | "
                f"{r.get('max_rel_diff_coef', float('nan')):.1e} | "
                f"{r.get('max_rel_diff_se', float('nan')):.1e} |"
            )
    lines += [
        "",
        "Times exclude data simulation and one warm-up call on a 20,000-row slice. SE "
        "differences reflect each package's small-sample convention for clustered errors.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=250_000)
    parser.add_argument("--quick", action="store_true", help="25,000 firms, results *_quick")
    parser.add_argument("--child", nargs=2, metavar=("PEER", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.stdout.write(json.dumps(run_one(*args.child, args.firms)) + "\n")
    elif args.quick:
        main(25_000, "_quick")
    else:
        main(args.firms, "")
