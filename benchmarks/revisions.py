"""spillover against an earlier revision of itself, on the work users time.

Run with ``python -m benchmarks.revisions REV [--repeat K] [--only NAME ...]``. REV is any
git revision (a commit, ``main~3``, a tag). The revision is checked out into a temporary
git worktree; each workload then runs in a fresh process, alternating the working tree
and REV, ``K`` times each (default 3), and the median wall-clock and CPU seconds and the
peak resident memory of each side are reported with their ratio. Only the public API
that both revisions share is called, so the same workload code times both. Writes
``benchmarks/results/revisions.{json,md}``. Not part of ``make bench`` (it needs a
revision to compare with): it is the check that a refactoring made nothing slower.

The workloads (data simulated inside the timed process but outside the timed call):

* ``hdfe_3way``: unbalanced firm-year panel (``hdfe_bench.simulate``, 25,000 firms,
  ~200,000 rows), firm + year + region x year effects, firm-clustered errors;
* ``fe_cluster``: ``FixedEffects`` (linearmodels inside) on the same panel, entity and
  time effects, firm-clustered;
* ``conley``: the README's firm panel (5,000 firms x 10 years), two-way HDFE with Conley
  errors (50 km, 2 lags);
* ``knn_pool``: k = 10 nearest-neighbour weights among 200,000 points and one spillover
  pool over 2 periods;
* ``sar_fe``: SAR with entity effects on a 50 x 50 queen lattice x 10 periods, ML
  standard errors and simulated effects;
* ``sdm_twoway``: SDM with two-way effects on a 100 x 100 lattice x 10 periods (sparse
  LU log-determinant, Hutchinson traces);
* ``sem_random``: random effects SEM on a 40 x 40 lattice x 10 periods.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

from benchmarks._common import RESULTS, machine

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ("hdfe_3way", "fe_cluster", "conley", "knn_pool", "sar_fe", "sdm_twoway", "sem_random")

_RUNNER = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
import benchmarks  # the working tree's benchmarks package, whichever tree is timed
sys.path[0] = sys.argv[1]  # the tree under test provides spillover
import spillover
assert spillover.__file__.startswith(sys.argv[1]), spillover.__file__
from benchmarks.revisions import prepare
call = prepare(sys.argv[3])
t0, c0 = time.perf_counter(), time.process_time()
call()
out = {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
       "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
print(json.dumps(out))
"""


def prepare(name: str):
    """Set up workload ``name`` (not timed) and return the call to time."""
    if name in ("hdfe_3way", "fe_cluster"):
        from benchmarks.hdfe_bench import simulate
        from spillover import Panel
        from spillover.inference import Cluster
        from spillover.models import HDFE, FixedEffects

        panel = Panel(simulate(25_000, seed=0), entity="firm", time="year")
        if name == "hdfe_3way":
            model = HDFE("y ~ x1 + x2", panel, absorb=["firm", "year", "region:year"])
        else:
            model = FixedEffects("y ~ x1 + x2", panel, effects="twoway")
        return lambda: model.fit(vcov=Cluster("firm"))
    if name == "conley":
        from spillover import simulate
        from spillover.inference import Conley
        from spillover.models import HDFE

        sim = simulate.firms(5_000, 10, seed=42)
        formula = "log_wage ~ log_rd_stock + log_capital + log_geo_pool + log_tech_pool"
        model = HDFE(formula, sim.panel, absorb=["firm", "year"])
        return lambda: model.fit(vcov=Conley(cutoff_km=50, lags=2))
    if name == "knn_pool":
        return _knn_pool()
    return _spatial(name)


def _knn_pool():
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from spillover import Panel, weights
    from spillover.measures import spillover_pool

    rng = np.random.default_rng(0)
    n = 200_000
    xy = rng.uniform(0, 1_000_000, size=(n, 2))
    points = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:5070")
    points.index = pd.RangeIndex(n, name="firm")
    frame = pd.DataFrame(
        {"firm": np.tile(np.arange(n), 2), "year": np.repeat([2000, 2001], n)}
    ).assign(stock=rng.gamma(2.0, size=2 * n))
    panel = Panel(frame, entity="firm", time="year")

    def run():
        w = weights.knn(points, k=10)
        return spillover_pool(panel, "stock", w)

    return run


def _spatial(name: str):
    from spillover.models.spatial import SpatialDurbin, SpatialError, SpatialLag
    from spillover.simulate import grid_weights, spatial_panel

    formula = "y ~ x1 + x2"
    if name == "sar_fe":
        w = grid_weights(50, contiguity="queen").row_standardize()
        sim = spatial_panel(w, 10, model="sar", rho=0.4, beta=[1.0, -0.5], seed=1)
        model = SpatialLag(formula, sim.panel, w=sim.weights, effects="entity")
        return lambda: model.fit().impacts(seed=1)
    if name == "sdm_twoway":
        w = grid_weights(100, contiguity="queen").row_standardize()
        sim = spatial_panel(w, 10, model="sdm", rho=0.4, beta=[1.0, -0.5], theta=[0.3, 0.0], seed=1)
        model = SpatialDurbin(formula, sim.panel, w=sim.weights, effects="twoway")
        return lambda: model.fit()
    if name == "sem_random":
        w = grid_weights(40).row_standardize()
        sim = spatial_panel(w, 10, model="sem", lam=0.4, beta=[1.0, -0.5], effects="entity", seed=1)
        model = SpatialError(formula, sim.panel, w=sim.weights, effects="random")
        return lambda: model.fit()
    raise SystemExit(f"unknown workload {name!r}; choose among {', '.join(WORKLOADS)}")


def _once(tree: Path, name: str) -> dict:
    env = {**os.environ, "PYTHONPATH": ""}
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(tree), str(ROOT), name],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    if proc.returncode:
        raise RuntimeError(f"{name} in {tree} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(rev: str, names: list[str], repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(old), rev], cwd=ROOT, check=True
        )
        try:
            rows = [_compare_one(old, name, repeat) for name in names]
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False
            )
    sha = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    return {"before": f"{rev} ({sha})", "repeat": repeat, "machine": machine(), "rows": rows}


def _compare_one(old: Path, name: str, repeat: int) -> dict:
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for _ in range(repeat):
        runs["before"].append(_once(old, name))
        runs["after"].append(_once(ROOT, name))
    row: dict = {"workload": name}
    for side, values in runs.items():
        for key in ("wall", "cpu", "rss_mib"):
            row[f"{side}_{key}"] = median(v[key] for v in values)
    row["wall_ratio"] = row["after_wall"] / row["before_wall"]
    sys.stdout.write(f"{name}: {row['before_wall']:.2f} s -> {row['after_wall']:.2f} s\n")
    sys.stdout.flush()
    return row


def markdown(record: dict) -> str:
    lines = [
        f"# spillover against {record['before']}",
        "",
        f"Median of {record['repeat']} runs each, alternating, one fresh process per run; "
        f"{record['machine']['cpus']} CPUs, load average at start "
        f"{record['machine']['load_average_at_start'][0]:.2f}. "
        "Command: `python -m benchmarks.revisions REV`.",
        "",
        "| workload | before s | after s | after / before | CPU s before | CPU s after "
        "| peak MiB before | peak MiB after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in record["rows"]:
        lines.append(
            f"| {r['workload']} | {r['before_wall']:.2f} | {r['after_wall']:.2f} | "
            f"{r['wall_ratio']:.2f} | {r['before_cpu']:.2f} | {r['after_cpu']:.2f} | "
            f"{r['before_rss_mib']:.0f} | {r['after_rss_mib']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="git revision to compare the working tree with")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=list(WORKLOADS), choices=WORKLOADS)
    args = parser.parse_args(argv)
    record = compare(args.rev, args.only, args.repeat)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "revisions.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / "revisions.md").write_text(markdown(record))
    sys.stdout.write(markdown(record))


if __name__ == "__main__":
    main()
