"""Effects (direct/indirect/total with SEs) at 2,500, 10,000 and 1,000,000 regions; spreg beside.

Run with ``.venv/bin/python -m benchmarks.impacts_bench`` (``--quick`` for a smoke run).
Writes ``benchmarks/results/impacts.json`` and ``benchmarks/results/impacts.md``.

Design: lattice contiguity, row-standardised (queen at 2,500 and 10,000, rook at 1,000,000),
an SDM with 5 regressors and SEs by the delta method and by 1,000 simulation draws; traces
computed inside each call (series order chosen for a 1e-10 truncation bound). Accuracy: the
effects from Monte Carlo traces (50 probes) and from exact traces against a dense
``(I - rho W)^-1`` at 2,500 regions, for rho in {0.2, 0.5, 0.8}.
Beside: spreg 1.9's ``spmultiplier`` ("full": dense inverse; "power": sparse powers), the
only effect computation spreg offers (no standard errors).
"""

from __future__ import annotations

import resource

import numpy as np
import pandas as pd
import scipy.sparse as sp

from benchmarks._common import close_machine, machine, quick_flag, timed, write_results
from spillover.inference.impacts import impacts
from spillover.linalg.traces import trace_estimate
from spillover.simulate import grid_weights

XS = [f"x{i}" for i in range(1, 6)]


def rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def sdm_inputs(rho: float):
    beta = pd.Series(np.linspace(1.0, -0.6, 5), index=XS)
    theta = pd.Series(np.linspace(0.3, 0.1, 5), index=XS)
    names = ["rho", *XS, *(f"W_{x}" for x in XS)]
    # SE(rho) ~ 0.013, typical of a few thousand regions; larger N would give smaller SEs.
    a = np.random.default_rng(0).normal(size=(11, 11)) * 0.005
    vcov = pd.DataFrame(a @ a.T + np.eye(11) * 1e-5, index=names, columns=names)
    return dict(model="sdm", rho=rho, beta=beta, theta=theta, vcov=vcov)


def dense_effects(w: sp.csr_array, rho: float, beta: pd.Series, theta: pd.Series) -> np.ndarray:
    n = w.shape[0]
    a = np.linalg.inv(np.eye(n) - rho * w.toarray())
    aw = (w.T @ a.T).T
    t_a, t_aw, s_a = np.trace(a) / n, np.trace(aw) / n, a.sum() / n
    direct = beta * t_a + theta * t_aw
    total = (beta + theta) * s_a
    return np.column_stack([direct, total - direct, total]).ravel()


def time_size(n_side: int, contiguity: str, draws: int) -> dict:
    w = grid_weights(n_side, contiguity=contiguity).row_standardize().matrix
    n = w.shape[0]
    kw = sdm_inputs(0.5)
    delta, t_delta = timed(impacts, w, method="delta", seed=0, **kw)
    _, t_sim = timed(impacts, w, method="simulation", draws=draws, seed=1, **kw)
    tr, t_tr = timed(trace_estimate, w, 101, method="auto", draws=50, seed=0)
    return {
        "regions": n,
        "weights": f"{contiguity} lattice {n_side} x {n_side}, row-standardised",
        "nnz": int(w.nnz),
        "trace_method": delta.attrs["traces"],
        "series_order": delta.attrs["order"],
        "seconds_effects_delta": round(t_delta, 2),
        "seconds_effects_simulation": round(t_sim, 2),
        "draws": draws,
        "seconds_traces_order_101": round(t_tr, 2),
        "trace_method_order_101": tr.method,
        "peak_rss_gib_so_far": round(rss_gib(), 2),
    }


def accuracy(n_side: int) -> list[dict]:
    w = grid_weights(n_side, contiguity="queen").row_standardize().matrix
    exact_tr = trace_estimate(w, 101, method="exact")
    mc_tr = trace_estimate(w, 101, method="mc", draws=50, seed=3)
    rows = []
    for rho in (0.2, 0.5, 0.8):
        kw = sdm_inputs(rho)
        ref, t_dense = timed(dense_effects, w, rho, kw["beta"], kw["theta"])
        scale = np.abs(ref).reshape(-1, 3)
        for label, tr in (("exact traces", exact_tr), ("mc traces, 50 probes", mc_tr)):
            est = impacts(w, method="delta", traces=tr, **kw)["estimate"].to_numpy()
            err = np.abs(est - ref).reshape(-1, 3) / scale
            rows.append(
                {"regions": w.shape[0], "rho": rho, "traces": label,
                 "max_rel_error_direct": float(err[:, 0].max()),
                 "max_rel_error_indirect": float(err[:, 1].max()),
                 "seconds_dense_reference": round(t_dense, 2)}
            )  # fmt: skip
    return rows


def spreg_side(n_side: int, dense: bool) -> dict:
    from libpysal.weights import WSP
    from spreg.sputils import spmultiplier

    w = grid_weights(n_side, contiguity="queen").row_standardize().matrix
    wl = WSP(sp.csr_matrix(w)).to_W(silence_warnings=True)
    out = {"regions": w.shape[0]}
    if dense:
        m, out["seconds_spreg_full"] = timed(spmultiplier, wl, 0.5, method="full")
        out["spreg_full_adi"] = float(m["adi"])
    m, out["seconds_spreg_power"] = timed(spmultiplier, wl, 0.5, method="power")
    out["spreg_power_adi"] = float(m["adi"])
    kw = sdm_inputs(0.5)
    kw["model"], kw["theta"] = "sar", None
    res, out["seconds_spillover_delta_with_traces"] = timed(impacts, w, method="delta", **kw)
    out["spillover_adi"] = float(res["estimate"].iloc[0] / kw["beta"].iloc[0])
    return out


def run(quick: bool) -> dict:
    sizes = [(50, "queen"), (100, "queen")] + ([] if quick else [(1000, "rook")])
    record: dict = {
        "machine": machine(),
        "sizes": [time_size(s, c, 1000) for s, c in sizes],
        "accuracy": accuracy(20 if quick else 50),
        "spreg": [spreg_side(50, dense=True), spreg_side(100, dense=False)],
    }  # fmt: skip
    return close_machine(record)


def write(record: dict, quick: bool) -> None:
    m = record["machine"]
    lines = [
        "# Effects benchmark (direct, indirect, total with standard errors)",
        "",
        "Command: `.venv/bin/python -m benchmarks.impacts_bench" + (" --quick`" if quick else "`"),
        f"Machine: {m['cpus']} CPUs, Python {m['python']}, load average at start "
        f"{m['load_average_at_start'][0]:.1f} (shared machine; timings include contention).",
        "",
        "SDM at rho = 0.5, 5 regressors; each call computes its own traces (series order",
        "chosen for a 1e-10 truncation bound), as `results.impacts()` does. Last column: 101",
        "traces alone, the order a log-determinant series might use.",
        "",
        "| regions | W | traces | order | delta SEs (s) | 1,000 draws (s) | 101 traces (s) "
        "| peak RSS (GiB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in record["sizes"]:
        lines.append(
            f"| {r['regions']:,} | {r['weights']} | {r['trace_method']} | {r['series_order']} "
            f"| {r['seconds_effects_delta']} | {r['seconds_effects_simulation']} "
            f"| {r['seconds_traces_order_101']} ({r['trace_method_order_101']}) "
            f"| {r['peak_rss_gib_so_far']} |"
        )
    lines += [
        "",
        "Accuracy against a dense (I - rho W)^-1 (max relative error over 5 x):",
        "",
        "| regions | rho | traces | direct | indirect |",
        "|---|---|---|---|---|",
    ]
    for r in record["accuracy"]:
        lines.append(
            f"| {r['regions']:,} | {r['rho']} | {r['traces']} | {r['max_rel_error_direct']:.1e} "
            f"| {r['max_rel_error_indirect']:.1e} |"
        )
    lines += ["", "spreg 1.9 `spmultiplier` at rho = 0.5 (point estimates only, no SEs):", ""]
    for r in record["spreg"]:
        full = (
            f"full (dense inverse) {r['seconds_spreg_full']:.2f} s, adi {r['spreg_full_adi']:.6f}; "
            if "seconds_spreg_full" in r
            else ""
        )
        lines.append(
            f"- {r['regions']:,} regions: {full}power {r['seconds_spreg_power']:.2f} s, adi "
            f"{r['spreg_power_adi']:.6f}; spillover (traces + delta SEs) "
            f"{r['seconds_spillover_delta_with_traces']:.2f} s, adi {r['spillover_adi']:.6f}."
        )
    write_results("impacts_quick" if quick else "impacts", record, "\n".join(lines) + "\n")


def main() -> None:
    quick = quick_flag(__doc__)
    write(run(quick), quick)


if __name__ == "__main__":
    main()
