"""Row-level transforms and small reductions of a staged table in DuckDB.

:class:`Staged` copies the used columns of the source into a TEMP table with one integer
code per absorbed effect set (``__e0``, ``__e1``, ...) and the dependent and regressors as
``__v0`` (y), ``__v1``... (DOUBLE). Every other method is either a transform that rewrites
that table in SQL (singleton dropping, removing group means and level coefficients) or a
reduction whose result is small (per-level sums, level-pair counts, moment matrices,
per-cluster score sums) and comes back as numpy arrays. The algebra on those reductions is
the estimator's (:mod:`spillover.models._hdfe_out_of_core`); nothing here estimates.

With regression weights w (staged as ``__w``) every mean is the w-weighted mean and every
sum of products a w-weighted sum: group means removed by :meth:`Staged.sweep`, the normal
matrix pieces and ``S'W M_F v``, moments ``Z'WZ``, ``sum w e^2``, score sums ``sum w e x``
(the scores of weighted least squares), and the HC meat ``sum w^2 e^2 x x'`` (analytic)
or ``sum w e^2 x x'`` (frequency: each copy of a row counted once).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from spillover.backends._checks import (
    refuse_missing,
    refuse_non_finite,
    refuse_non_numeric,
    refuse_weights,
)
from spillover.backends._duckdb import quote_name

NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


class Staged:
    """The estimation sample of one model in a DuckDB TEMP table.

    Parameters
    ----------
    con : duckdb connection with the view ``<prefix>src`` (:func:`open_source`)
    prefix : str
        Names of this sample's TEMP tables and views start with it (one per model, so
        models sharing a connection never share tables).
    columns : sequence of str
        Source columns: the dependent variable first, then the regressors.
    effects : sequence of sequence of str
        Each effect set as its source columns (``["region", "year"]`` for region x year).
    keep : sequence of str
        Further source columns to carry (e.g. cluster variables).
    progress : bool, default False
        Show a progress bar (tqdm) over the rows streamed by :meth:`sum_by_group`.
    weights : str, optional
        Source column of regression weights (checked: numeric, finite, positive; whole
        numbers if ``frequency``), staged as ``__w``.
    frequency : bool, default False
        Frequency weights (the HC meat counts each copy once) rather than analytic.
    keys : sequence of str
        Source columns naming rows in the weight errors (entity and time when known).
    """

    def __init__(
        self,
        con: Any,
        prefix: str,
        columns: Sequence[str],
        effects: Sequence[Sequence[str]],
        keep: Sequence[str] = (),
        progress: bool = False,
        weights: str | None = None,
        frequency: bool = False,
        keys: Sequence[str] = (),
    ) -> None:
        self.con, self.progress = con, progress
        self.rows, self.src, self.prefix = f"{prefix}rows", f"{prefix}src", prefix
        self.k = len(columns)
        self.n_effects = len(effects)
        self.weighted, self.frequency = weights is not None, frequency
        self.check_numeric([*columns, *([weights] if weights is not None else [])])
        if weights is not None:
            self._check_weights(weights, frequency, keys)
        self._check_missing([*columns, *(p for e in effects for p in e)])
        values = ", ".join(
            f"CAST(src.{quote_name(c)} AS DOUBLE) AS __v{j}" for j, c in enumerate(columns)
        )
        if weights is not None:
            values += f", CAST(src.{quote_name(weights)} AS DOUBLE) AS __w"
        joins, codes = [], []
        for i, parts in enumerate(effects):
            cols = ", ".join(quote_name(p) for p in parts)
            level = (
                f"(SELECT {cols}, row_number() OVER () - 1 AS __code FROM "
                f"(SELECT DISTINCT {cols} FROM {self.src}))"
            )
            on = " AND ".join(f"src.{quote_name(p)} = l{i}.{quote_name(p)}" for p in parts)
            joins.append(f"JOIN {level} l{i} ON {on}")
            codes.append(f"l{i}.__code AS __e{i}")
        carried = "".join(f", src.{quote_name(c)}" for c in dict.fromkeys(keep))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self.rows} AS SELECT {values}, {', '.join(codes)}"
            f"{carried} FROM {self.src} src {' '.join(joins)}"
        )
        self._check_finite(columns)

    def _check_missing(self, columns: Sequence[str]) -> None:
        cols = list(dict.fromkeys(columns))
        counts = self.con.execute(
            "SELECT "
            + ", ".join(f"count(*) FILTER (WHERE {quote_name(c)} IS NULL)" for c in cols)
            + f" FROM {self.src}"
        ).fetchone()
        refuse_missing(cols, counts, "e.g. WHERE ... IS NOT NULL in the relation")

    def _check_weights(self, column: str, frequency: bool, keys: Sequence[str]) -> None:
        """SpecificationError naming the rows (by ``keys``) whose weight is missing,
        infinite, negative or zero, or not a whole number for frequency weights."""
        w = f"CAST({quote_name(column)} AS DOUBLE)"
        checks = [f"{w} IS NULL OR NOT isfinite({w})", f"{w} < 0", f"{w} = 0"]
        if frequency:
            checks.append(f"{w} <> round({w})")
        shown = ", ".join(quote_name(k) for k in dict.fromkeys([*keys, column]))
        for i, where in enumerate(checks):
            n = int(
                self.con.execute(f"SELECT count(*) FROM {self.src} WHERE {where}").fetchone()[0]
            )
            if n:
                rows = self.con.execute(
                    f"SELECT {shown} FROM {self.src} WHERE {where} LIMIT 5"
                ).fetchall()
                refuse_weights(column, i, n, keys, rows)

    # ------------------------------------------------------------------ weighted SQL
    def _sum(self, expr: str, table: str = "") -> str:
        """SQL aggregate ``sum(w * expr)`` (``sum(expr)`` unweighted); ``table`` an alias."""
        return f"sum({table}__w * ({expr}))" if self.weighted else f"sum({expr})"

    def _mean(self, expr: str, table: str = "") -> str:
        """SQL aggregate of the (weighted) mean of ``expr``."""
        if not self.weighted:
            return f"avg({expr})"
        return f"(sum({table}__w * ({expr})) / sum({table}__w))"

    def _check_finite(self, columns: Sequence[str]) -> None:
        parts = ", ".join(f"count(*) FILTER (WHERE NOT isfinite(__v{j}))" for j in range(self.k))
        counts = self.con.execute(f"SELECT {parts} FROM {self.rows}").fetchone()
        refuse_non_finite(columns, counts)

    # ------------------------------------------------------------------ transforms
    def drop_singletons(self) -> int:
        """Drop rows alone in a level of any effect set, repeatedly; return the count."""
        dropped = 0
        while True:
            before = dropped
            for i in range(self.n_effects):
                dropped += self.con.execute(
                    f"DELETE FROM {self.rows} WHERE __e{i} IN (SELECT __e{i} FROM {self.rows} "
                    f"GROUP BY __e{i} HAVING count(*) = 1)"
                ).fetchone()[0]
            if dropped == before:
                return int(dropped)

    def sweep(
        self, big: int, small: Sequence[int] = (), offsets: Sequence[int] = (), gamma: Any = None
    ) -> np.ndarray:
        """Replace each value column v by ``v - mean_F(v) - (S g - mean_F(S g))``.

        ``F`` is the effect set ``big``; ``S g`` sums, over the sets ``small``, the
        coefficient ``gamma[offset + code]`` of the row's level (``gamma`` a (levels x k)
        array; no ``small``: plain removal of the ``big`` means, and the largest absolute
        mean removed from each column is returned, zeros otherwise).
        """
        v = [f"__v{j}" for j in range(self.k)]
        if small:
            self.con.register(f"{self.prefix}gamma_frame", _gamma_frame(gamma))
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {self.prefix}gamma AS SELECT * FROM "
                f"{self.prefix}gamma_frame"
            )
            joins = " ".join(
                f"JOIN {self.prefix}gamma g{s} ON r.__e{s} + {off} = g{s}.lvl"
                for s, off in zip(small, offsets, strict=True)
            )
            sg = [" + ".join(f"g{s}.c{j}" for s in small) for j in range(self.k)]
        else:
            joins, sg = "", ["0.0"] * self.k
        terms = ", ".join(f"{sg[j]} AS s{j}" for j in range(self.k))
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self.prefix}withsg AS SELECT r.*, {terms} "
            f"FROM {self.rows} r {joins}"
        )
        means = ", ".join(
            f"{self._mean(v[j])} AS m{j}, {self._mean(f's{j}')} AS q{j}" for j in range(self.k)
        )
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self.prefix}means AS SELECT __e{big} AS g, {means} "
            f"FROM {self.prefix}withsg GROUP BY 1"
        )
        new = ", ".join(f"w.{v[j]} - b.m{j} - (w.s{j} - b.q{j}) AS {v[j]}" for j in range(self.k))
        drop = ", ".join([*v, *(f"s{j}" for j in range(self.k))])
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self.rows} AS SELECT w.* EXCLUDE ({drop}), {new} "
            f"FROM {self.prefix}withsg w JOIN {self.prefix}means b ON w.__e{big} = b.g"
        )
        self.con.execute(f"DROP TABLE {self.prefix}withsg")
        if small:
            return np.zeros(self.k)
        largest = ", ".join(f"max(abs(m{j}))" for j in range(self.k))
        return np.array(
            self.con.execute(f"SELECT {largest} FROM {self.prefix}means").fetchone(), float
        )

    # ------------------------------------------------------------------ reductions
    def count(self) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {self.rows}").fetchone()[0])

    def levels(self) -> list[int]:
        """Levels present of each effect set, and one past the largest code."""
        parts = ", ".join(f"count(DISTINCT __e{i})" for i in range(self.n_effects))
        return [int(n) for n in self.con.execute(f"SELECT {parts} FROM {self.rows}").fetchone()]

    def code_bounds(self) -> list[int]:
        parts = ", ".join(f"max(__e{i}) + 1" for i in range(self.n_effects))
        return [int(n) for n in self.con.execute(f"SELECT {parts} FROM {self.rows}").fetchone()]

    def means(self) -> np.ndarray:
        """Column (weighted) means of the value columns (k,)."""
        parts = ", ".join(self._mean(f"__v{j}") for j in range(self.k))
        return np.array(self.con.execute(f"SELECT {parts} FROM {self.rows}").fetchone(), float)

    def by_group(
        self, big: int, small: Sequence[int], offsets: Sequence[int], batch: int = 2_000_000
    ) -> Iterator[tuple[np.ndarray, list[np.ndarray], np.ndarray | None]]:
        """Codes of the set ``big`` and of the sets ``small`` (shifted by ``offsets``),
        sorted by ``big`` and streamed in chunks of about ``batch`` rows that never split a
        level of ``big`` (a partition by firm, for group-local work in numpy), with the
        rows' weights (None unweighted)."""
        cols = ", ".join(
            [
                f"__e{big}",
                *(f"__e{s} + {o}" for s, o in zip(small, offsets, strict=True)),
                *(["__w"] if self.weighted else []),
            ]
        )
        result = self.con.execute(f"SELECT {cols} FROM {self.rows} ORDER BY 1")
        # DuckDB 2 warns of a copy per batch, which is what streaming wants
        stream = result.to_arrow_reader
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
            batches = stream(min(batch, 1_000_000))
        pending: list[list[np.ndarray]] = []
        rows = 0
        for chunk in batches:
            pending.append([np.asarray(c.to_numpy()) for c in chunk.columns])
            rows += chunk.num_rows
            if rows < batch:
                continue
            arrays = [np.concatenate(parts) for parts in zip(*pending, strict=True)]
            cut = int(np.searchsorted(arrays[0], arrays[0][-1]))  # the last level carries over
            pending, rows = [[a[cut:] for a in arrays]], len(arrays[0]) - cut
            if cut:
                yield self._chunk([a[:cut] for a in arrays])
        if rows:
            yield self._chunk([np.concatenate(parts) for parts in zip(*pending, strict=True)])

    def _chunk(self, arrays: list[np.ndarray]):
        """(groups, codes, weights or None) of streamed columns."""
        w = arrays.pop().astype(float) if self.weighted else None
        ints = [a.astype(np.intp) for a in arrays]
        return ints[0], ints[1:], w

    def sum_by_group(
        self,
        big: int,
        small: Sequence[int],
        offsets: Sequence[int],
        part: Callable[[np.ndarray, list[np.ndarray]], Any],
        start: Any,
    ) -> Any:
        """``start`` plus the sum of ``part(groups, codes, weights)`` over the chunks of
        :meth:`by_group` (a reduction over whole levels of ``big``; weights None
        unweighted)."""
        total = start
        bar = tqdm(
            total=self.count(),
            desc="absorbing (DuckDB, exact)",
            unit="rows",
            disable=not self.progress,
        )
        for groups, codes, weights in self.by_group(big, small, offsets):
            bar.update(len(groups))
            total = total + part(groups, codes, weights)
        bar.close()
        return total

    def projected_sums(self, big: int, small: Sequence[int], offsets: Sequence[int], size: int):
        """``S'W M_F v`` for every value column: (size x k) (weighted) sums by small level
        of the rows' values minus their (weighted) ``big`` group mean."""
        m = ", ".join(f"{self._mean(f'__v{j}')} AS m{j}" for j in range(self.k))
        d = ", ".join(self._sum(f"r.__v{j} - b.m{j}", "r.") for j in range(self.k))
        out = np.zeros((size, self.k))
        for s, off in zip(small, offsets, strict=True):
            rows = self.con.execute(
                f"SELECT r.__e{s} + {off}, {d} FROM {self.rows} r JOIN (SELECT __e{big} AS g, {m} "
                f"FROM {self.rows} GROUP BY 1) b ON r.__e{big} = b.g GROUP BY 1"
            ).fetchnumpy()
            cols = [np.asarray(c) for c in rows.values()]
            out[cols[0].astype(np.intp)] += np.column_stack(cols[1:])
        return out

    def edges(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (level of set a, level of set b) pairs present."""
        got = self.con.execute(f"SELECT DISTINCT __e{a}, __e{b} FROM {self.rows}").fetchnumpy()
        x, y = (np.asarray(c).astype(np.intp) for c in got.values())
        return x, y

    def moments(self, shift: np.ndarray, intercept: bool) -> tuple[np.ndarray, int]:
        """``Z'WZ`` of z = (y, [1], x...) with ``z_j = v_j + shift_j``, and the rows."""
        z = self._z(shift, intercept)
        pairs = [self._sum(f"({a}) * ({b})") for i, a in enumerate(z) for b in z[i:]]
        got = self.con.execute(f"SELECT {', '.join(pairs)} FROM {self.rows}").fetchone()
        m = len(z)
        out = np.zeros((m, m))
        out[np.triu_indices(m)] = got
        return out + np.triu(out, 1).T, self.count()

    def weight_total(self) -> float:
        """``sum w`` over the rows (the number of rows unweighted)."""
        return float(self.con.execute(f"SELECT {self._sum('1.0')} FROM {self.rows}").fetchone()[0])

    def _z(self, shift: np.ndarray, intercept: bool) -> list[str]:
        """y, then the intercept (a column of ones) if any, then the regressors."""
        z = [f"(__v{j} + CAST({float(shift[j])!r} AS DOUBLE))" for j in range(self.k)]
        return [z[0], "1.0", *z[1:]] if intercept else z

    def residual(self, shift: np.ndarray, intercept: bool, b: np.ndarray) -> tuple[str, list]:
        """SQL expression of e = y - X b and the regressor expressions (the handle that
        :meth:`hc_meat`, :meth:`score_sums` and :meth:`sums_of_squares` take)."""
        z = self._z(shift, intercept)
        return f"({z[0]} - {combination(b, z[1:])})", z[1:]

    def linear_scores(self, e: np.ndarray, x: np.ndarray) -> tuple[str, list[str]]:
        """SQL of residuals and score regressors linear in the value columns (the handle
        :meth:`residual` returns): ``e = [1, v] e`` and ``x = [1, v] x``, coefficients over
        a constant and ``__v0``, ``__v1``... (``x`` one column per regressor). With ``e`` a
        matrix (one column per residual e_j) the residual is 1 and the regressors are the
        products ``e_j x_m`` (j outer): the scores of stacked regressions."""
        basis = ["1.0", *(f"__v{j}" for j in range(self.k))]
        xs = [combination(x[:, m], basis) for m in range(x.shape[1])]
        if np.ndim(e) == 1:
            return combination(e, basis), xs
        es = [combination(e[:, j], basis) for j in range(e.shape[1])]
        return "1.0", [f"{a} * {b}" for a in es for b in xs]

    def hc_meat(self, resid: tuple[str, Sequence[str]]) -> np.ndarray:
        """``sum_i e_i^2 x_i x_i'``, times ``w_i^2`` (analytic) or ``w_i`` (frequency)."""
        e, x = resid
        w = ("__w * " if self.frequency else "__w * __w * ") if self.weighted else ""
        pairs = [f"sum({w}{e} * {e} * {a} * {b})" for i, a in enumerate(x) for b in x[i:]]
        got = self.con.execute(f"SELECT {', '.join(pairs)} FROM {self.rows}").fetchone()
        out = np.zeros((len(x), len(x)))
        out[np.triu_indices(len(x))] = got
        return out + np.triu(out, 1).T

    def score_sums(
        self, resid: tuple[str, Sequence[str]], by: Sequence[str]
    ) -> tuple[list, np.ndarray]:
        """Per cell of the columns ``by``: their labels and ``sum w e x'`` (cells x K)."""
        e, x = resid
        keys = ", ".join(quote_name(c) for c in by)
        sums = ", ".join(self._sum(f"{e} * {a}") for a in x)
        got = self.con.execute(
            f"SELECT {keys}, {sums} FROM {self.rows} GROUP BY {keys}"
        ).fetchnumpy()
        cols = [np.asarray(c) for c in got.values()]
        return cols[: len(by)], np.column_stack(cols[len(by) :]).astype(float)

    def null_count(self, column: str) -> int:
        return int(
            self.con.execute(
                f"SELECT count(*) FILTER (WHERE {quote_name(column)} IS NULL) FROM {self.rows}"
            ).fetchone()[0]
        )

    def nested(self, column: str) -> list[bool]:
        """For each effect set: True if every level lies in one value of ``column`` (its
        smallest and largest value within each level agree; ``column`` has no missing
        values, checked before)."""
        c = quote_name(column)
        return [
            bool(
                self.con.execute(
                    f"SELECT coalesce(bool_and(lo = hi), true) FROM (SELECT min({c}) AS lo, "
                    f"max({c}) AS hi FROM {self.rows} GROUP BY __e{i})"
                ).fetchall()[0][0]
            )
            for i in range(self.n_effects)
        ]

    def sums_of_squares(
        self, shift: np.ndarray, centre: float, resid: tuple[str, Sequence[str]]
    ) -> tuple[float, float]:
        """``sum w e^2`` and ``sum w (y_within - centre)^2``, y_within = v_0 + shift_0."""
        e = resid[0]
        within = (
            f"power(__v0 + CAST({float(shift[0])!r} AS DOUBLE) "
            f"- CAST({float(centre)!r} AS DOUBLE), 2)"
        )
        got = self.con.execute(
            f"SELECT {self._sum(f'{e} * {e}')}, {self._sum(within)} FROM {self.rows}"
        ).fetchone()
        return float(got[0]), float(got[1])

    def column_scale(self) -> np.ndarray:
        """Largest absolute value of each value column (k,)."""
        parts = ", ".join(f"max(abs(__v{j}))" for j in range(self.k))
        return np.array(self.con.execute(f"SELECT {parts} FROM {self.rows}").fetchone(), float)

    def centred_square_sum(self, j: int) -> float:
        """``sum w (v_j - mean v_j)^2`` (before any sweep: the total sum of squares of y),
        the mean weighted."""
        mean = f"(SELECT {self._mean(f'__v{j}')} FROM {self.rows})"
        return float(
            self.con.execute(
                f"SELECT {self._sum(f'power(__v{j} - {mean}, 2)')} FROM {self.rows}"
            ).fetchone()[0]
        )

    def check_numeric(self, columns: Sequence[str]) -> None:
        """SpecificationError naming source columns that are not numeric."""
        sql = f"SELECT column_name, column_type FROM (DESCRIBE {self.src})"
        types = dict(self.con.execute(sql).fetchall())
        bad = [c for c in columns if not str(types.get(c, "")).startswith(NUMERIC)]
        refuse_non_numeric(bad, [types[c] for c in bad])


def combination(coefs: Sequence[float], exprs: Sequence[str]) -> str:
    """SQL expression of ``sum_j coefs[j] * exprs[j]`` (exact doubles; zero terms left out,
    the values being finite)."""
    pairs = zip(coefs, exprs, strict=True)
    terms = [f"CAST({float(c)!r} AS DOUBLE) * {x}" for c, x in pairs if float(c) != 0.0]
    return f"({' + '.join(terms) or '0.0'})"


def _gamma_frame(gamma: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(np.asarray(gamma, float), columns=[f"c{j}" for j in range(gamma.shape[1])])
    frame.insert(0, "lvl", np.arange(len(frame), dtype=np.int64))
    return frame
