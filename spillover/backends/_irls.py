"""The row-level steps of Poisson IRLS on a staged DuckDB table.

:class:`IrlsStaged` is a :class:`Staged` sample (``__v0`` the outcome, ``__v1``... the
regressors) with the working columns of iteratively reweighted least squares: ``__y`` the
outcome, ``__rw`` the regression weight (1 without), ``__mu`` the fitted mean, ``__z`` the
working response, ``__en`` the proposed linear predictor and ``__off`` the offset (0 unless
:meth:`IrlsStaged.set_offset`). The value columns are what the absorbing sweeps (the
working response and the regressors, warm-started from the previous iteration's sweep),
``__w`` their weight (``__rw * __mu`` while iterating). Each method is one SQL statement
over the rows, or a small aggregate; the iteration itself (step halving, stopping rule) is
the estimator's (:mod:`spillover.models._poisson_out_of_core`); the Dask twin is
:class:`spillover.backends.DaskIrlsStaged`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from spillover.backends._duckdb import quote_name
from spillover.backends._tables import Staged, combination
from spillover.errors import SpecificationError

#: Linear predictors are clipped here so that exp() stays finite (as in memory).
ETA_MAX = 700.0


class IrlsStaged(Staged):
    """A staged Poisson sample with the working columns of IRLS (module notes)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zero, one = "CAST(0 AS DOUBLE)", "CAST(1 AS DOUBLE)"
        rw = "__w" if self.weighted else one
        extra = "" if self.weighted else f", {one} AS __w"
        work = ", ".join(f"{zero} AS {c}" for c in ("__mu", "__z", "__en", "__off"))
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self.rows} AS SELECT *{extra}, __v0 AS __y, "
            f"{rw} AS __rw, {work} FROM {self.rows}"
        )
        self.weighted = True

    # ------------------------------------------------------------------ sample
    def set_offset(self, offset: int | None, exposure: int | None, keys: Sequence[str]) -> None:
        """``__off`` = the value column ``offset`` plus the log of the value column
        ``exposure`` (either may be None); both must be the last value columns, which then
        leave the swept columns. SpecificationError naming rows with exposure <= 0."""
        terms = []
        if exposure is not None:
            n = self.con.execute(
                f"SELECT count(*) FROM {self.rows} WHERE __v{exposure} <= 0"
            ).fetchone()[0]
            if n:
                shown = ", ".join(quote_name(k) for k in keys)
                rows = self.con.execute(
                    f"SELECT {shown}, __v{exposure} FROM {self.rows} WHERE __v{exposure} <= 0 "
                    "LIMIT 5"
                ).fetchall()
                raise SpecificationError(
                    f"the exposure must be positive and finite; it is not in {n} rows, e.g. "
                    f"({', '.join(keys)}, exposure) = {', '.join(map(str, rows))}."
                )
            terms.append(f"ln(__v{exposure})")
        if offset is not None:
            terms.append(f"__v{offset}")
        if terms:
            self.con.execute(f"UPDATE {self.rows} SET __off = {' + '.join(terms)}")
        self.k -= len(terms)

    def check_outcome(self, name: str, keys: Sequence[str]) -> None:
        """SpecificationError naming rows with a negative outcome, or an outcome that is
        zero throughout."""
        neg, pos = self.con.execute(
            f"SELECT count(*) FILTER (WHERE __y < 0), count(*) FILTER (WHERE __y > 0) "
            f"FROM {self.rows}"
        ).fetchone()
        if neg:
            shown = ", ".join(quote_name(k) for k in keys)
            rows = self.con.execute(
                f"SELECT {shown}, __y FROM {self.rows} WHERE __y < 0 LIMIT 5"
            ).fetchall()
            raise SpecificationError(
                f"Poisson PML needs a non-negative outcome; {name!r} is negative in {neg} "
                f"rows, e.g. ({', '.join(keys)}, {name}) = {', '.join(map(str, rows))}."
            )
        if not pos:
            raise SpecificationError(f"{name!r} is zero in every row: there is nothing to fit.")

    def separated_rows(self, keys: Sequence[str], limit: int = 5) -> tuple[int, list]:
        """Rows in a level (of any effect set) whose outcome is zero throughout: their
        count and the ``keys`` of the first ``limit``."""
        where = " OR ".join(self._zero_level(i) for i in range(self.n_effects))
        n = int(self.con.execute(f"SELECT count(*) FROM {self.rows} WHERE {where}").fetchone()[0])
        shown = ", ".join(quote_name(k) for k in keys)
        rows = self.con.execute(
            f"SELECT {shown} FROM {self.rows} WHERE {where} LIMIT {limit}"
        ).fetchall()
        return n, [tuple(r) for r in rows]

    def _zero_level(self, i: int) -> str:
        return f"__e{i} IN (SELECT __e{i} FROM {self.rows} GROUP BY __e{i} HAVING sum(__y) <= 0)"

    def drop_separated(self) -> tuple[int, int]:
        """Drop the rows of levels whose outcome is zero throughout, and the singletons,
        set by set until neither remains (:func:`spillover.models._separation.
        fe_separation_mask`); return (separated, singletons) dropped."""
        separated = singletons = 0
        while True:
            before = separated + singletons
            for i in range(self.n_effects):
                separated += self._delete(self._zero_level(i))
                singletons += self._delete(
                    f"__e{i} IN (SELECT __e{i} FROM {self.rows} GROUP BY __e{i} "
                    "HAVING count(*) = 1)"
                )
            if separated + singletons == before:
                return separated, singletons

    def _delete(self, where: str) -> int:
        return int(self.con.execute(f"DELETE FROM {self.rows} WHERE {where}").fetchone()[0])

    # ------------------------------------------------------------------ iterating
    def start(self) -> float:
        """``mu = (y + mean_w(y)) / 2`` (the in-memory start); its deviance."""
        self.con.execute(
            f"UPDATE {self.rows} SET __mu = (__y + (SELECT sum(__rw * __y) / sum(__rw) "
            f"FROM {self.rows})) / 2"
        )
        return self.deviance(None)

    def working(self, first: bool) -> None:
        """The working response ``z = eta - offset + (y - mu) / mu`` into ``__z``; the
        value column 0 becomes z (first iteration) or the previous sweep of z plus the
        change of z (warm start); weights ``__rw * __mu``. The regressors stay as swept."""
        z = "(ln(__mu) - __off + (__y - __mu) / __mu)"
        v0 = z if first else f"(__v0 + ({z} - __z))"
        self.con.execute(f"UPDATE {self.rows} SET __v0 = {v0}, __z = {z}, __w = __rw * __mu")

    def propose(self, beta: np.ndarray) -> None:
        """``eta_new = z - (z~ - x~ beta) + offset`` into ``__en`` (z~, x~ the swept value
        columns)."""
        xb = combination(beta, [f"__v{j}" for j in range(1, self.k)])
        self.con.execute(f"UPDATE {self.rows} SET __en = __z - (__v0 - {xb}) + __off")

    def _candidate(self, alpha: float | None) -> str:
        if alpha is None:
            return "ln(__mu)"
        a = f"CAST({float(alpha)!r} AS DOUBLE)"
        return f"least(ln(__mu) + {a} * (__en - ln(__mu)), {ETA_MAX!r})"

    def deviance(self, alpha: float | None) -> float:
        """``2 sum rw (y log(y / mu) - (y - mu))`` at ``eta + alpha (eta_new - eta)``
        (the current mu if ``alpha`` is None)."""
        eta = self._candidate(alpha)
        got = self.con.execute(
            f"SELECT 2 * sum(__rw * (CASE WHEN __y > 0 THEN __y * (ln(__y) - {eta}) "
            f"ELSE 0 END - (__y - exp({eta})))) FROM {self.rows}"
        ).fetchone()[0]
        return float(got)

    def accept(self, alpha: float) -> None:
        """``mu = exp(eta + alpha (eta_new - eta))``, eta clipped at ``ETA_MAX``."""
        self.con.execute(f"UPDATE {self.rows} SET __mu = exp({self._candidate(alpha)})")

    def reweight(self, working: bool) -> None:
        """Weights ``__rw * __mu`` (``working``) or the regression weights alone."""
        self.con.execute(f"UPDATE {self.rows} SET __w = __rw{' * __mu' if working else ''}")

    def poisson_residual(self) -> tuple[str, list[str]]:
        """The handle of the response residual ``y - mu`` with the swept regressors (what
        :meth:`hc_meat` and :meth:`score_sums` take)."""
        return "(__y - __mu)", [f"__v{j}" for j in range(1, self.k)]

    def likelihoods(self) -> tuple[float, float, float]:
        """Weighted log-likelihood at mu, at the constant mean, and that mean."""
        m = f"(SELECT sum(__rw * __y) / sum(__rw) FROM {self.rows})"
        got = self.con.execute(
            f"SELECT sum(__rw * (__y * ln(__mu) - __mu - lgamma(__y + 1))), "
            f"sum(__rw * (__y * ln({m}) - {m} - lgamma(__y + 1))), any_value({m}) "
            f"FROM {self.rows}"
        ).fetchone()
        return float(got[0]), float(got[1]), float(got[2])
