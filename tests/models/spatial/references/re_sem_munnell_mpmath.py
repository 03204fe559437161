"""40-digit maximum likelihood estimate of the random effects SEM on the Munnell panel.

Independent of the library's likelihood code: dense 48 x 48 algebra in mpmath (40 digits)
on the log-likelihood as written in :mod:`spillover.models.spatial.random_error`
(``M = I + (1/phi^2 - 1) B'B``, Cholesky of M, ``log|B|`` by LU), beta and s^2 concentrated
out, maximised by Newton steps on central differences (step 1e-5) until the step is below
1e-13. Only the data (y, X with intercept, queen W row-standardised) come from spillover.

Run (needs mpmath, which neither spillover nor its tests need; about 30 s)::

    python tests/models/spatial/references/re_sem_munnell_mpmath.py \
        > tests/models/spatial/references/re_sem_munnell_mpmath.json
"""

import json

FORMULA = "log_gsp ~ log_pcap + log_pc + log_emp + unemp"
NAMES = ["Intercept", "log_pcap", "log_pc", "log_emp", "unemp"]


def load(mp):
    """W, the (n, t, k+1) cube of [y, X], W applied to it, and (n, t, k+1) in mpmath."""
    from spillover import datasets, weights
    from spillover.models.spatial import SpatialError

    panel = datasets.us_states()
    w = weights.queen(panel.geo).row_standardize()
    data = SpatialError(FORMULA, panel, w=w, effects="random").data  # rows entity-major
    n, k = w.n, data.x.shape[1]
    t = len(data.y) // n
    coo = w.matrix.tocoo()
    wm = mp.matrix(n, n)
    for r, c, v in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True):
        wm[r, c] = mp.mpf(v)
    rows = [[float(data.y[i]), *map(float, data.x[i])] for i in range(n * t)]
    z = [[[mp.mpf(v) for v in rows[i * t + s]] for s in range(t)] for i in range(n)]
    wz = [
        [[mp.fsum(wm[i, m] * z[m][s][j] for m in range(n) if wm[i, m]) for j in range(k + 1)]
         for s in range(t)]
        for i in range(n)
    ]  # fmt: skip
    return wm, z, wz, (n, t, k)


def within_gram(mp, a, b, dims):
    """sum over i, t of (a_it - abar_i)(b_it - bbar_i)'."""
    n, t, k = dims
    abar = [[mp.fsum(a[i][s][j] for s in range(t)) / t for j in range(k + 1)] for i in range(n)]
    bbar = [[mp.fsum(b[i][s][j] for s in range(t)) / t for j in range(k + 1)] for i in range(n)]
    return mp.matrix(
        [[mp.fsum((a[i][s][p] - abar[i][p]) * (b[i][s][q] - bbar[i][q])
                  for i in range(n) for s in range(t))
          for q in range(k + 1)] for p in range(k + 1)]
    )  # fmt: skip


def likelihood(mp):
    """(lambda, phi) -> (concentrated log-likelihood, beta, s^2)."""
    wm, z, wz, dims = load(mp)
    n, t, k = dims
    zbar = mp.matrix([[mp.fsum(z[i][s][j] for s in range(t)) / t for j in range(k + 1)]
                      for i in range(n)])  # fmt: skip
    g0, g1, g2 = (within_gram(mp, a, b, dims) for a, b in ((z, z), (z, wz), (wz, wz)))
    eye = mp.eye(n)

    def concentrated(lam, phi):
        b = eye - lam * wm
        c = b.T * b
        m = eye + (1 / phi**2 - 1) * c
        chol = mp.cholesky(m)
        logdet_m = 2 * mp.fsum(mp.log(chol[i, i]) for i in range(n))
        cols = [mp.cholesky_solve(m, zbar[:, j]) for j in range(k + 1)]
        minv_zbar = mp.matrix([[cols[j][i] for j in range(k + 1)] for i in range(n)])
        q = t * (zbar.T * c * minv_zbar) + g0 - lam * (g1 + g1.T) + lam**2 * g2
        beta = mp.lu_solve(q[1:, 1:], q[1:, 0])
        ssr = q[0, 0] - (q[1:, 0].T * beta)[0]
        nobs = n * t
        value = -nobs / 2 * (mp.log(2 * mp.pi) + 1 + mp.log(ssr / nobs)) - logdet_m / 2
        return value + t * mp.log(mp.det(b)), beta, ssr / nobs

    return concentrated


def maximise(mp, f, lam, phi):
    """Newton on (lambda, phi) with a 3 x 3 central-difference stencil."""
    h = mp.mpf("1e-5")
    x = mp.matrix([lam, phi])
    for _ in range(10):
        v = {(a, b): f(x[0] + a * h, x[1] + b * h)[0] for a in (-1, 0, 1) for b in (-1, 0, 1)}
        grad = mp.matrix([(v[1, 0] - v[-1, 0]) / (2 * h), (v[0, 1] - v[0, -1]) / (2 * h)])
        cross = (v[1, 1] - v[1, -1] - v[-1, 1] + v[-1, -1]) / (4 * h**2)
        hess = mp.matrix([[(v[1, 0] - 2 * v[0, 0] + v[-1, 0]) / h**2, cross],
                          [cross, (v[0, 1] - 2 * v[0, 0] + v[0, -1]) / h**2]])  # fmt: skip
        step = mp.lu_solve(hess, grad)
        x -= step
        if mp.norm(step) < mp.mpf("1e-13"):
            return x
    raise RuntimeError("Newton did not converge")


def main() -> None:
    import mpmath as mp

    mp.mp.dps = 40
    f = likelihood(mp)
    x = maximise(mp, f, mp.mpf("0.5389"), mp.mpf("0.0882"))
    loglik, beta, sigma2 = f(x[0], x[1])
    params = {nm: mp.nstr(b, 20) for nm, b in zip(NAMES, beta, strict=True)}
    out = {
        "source": "tests/models/spatial/references/re_sem_munnell_mpmath.py (mpmath, 40 digits)",
        "params": params | {"lambda": mp.nstr(x[0], 20), "phi": mp.nstr(x[1], 20)},
        "sigma2": mp.nstr(sigma2, 20),
        "loglik": mp.nstr(loglik, 20),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
