"""Number formatting for tables: the rule in ``spillover.report._format.number``.

Expected strings are written by hand from the documented rule (``digits`` decimals; a nonzero
value that would round to zero keeps two significant digits; at most nine decimals and
magnitudes below 1e9 in fixed point, with thousands separators; a power of ten beyond,
written per output format).
"""

import math
import re
import shutil
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spillover.report import describe, tables
from spillover.report._format import Number, format_number, number
from spillover.report._table import Cell, Row, Section, Table
from tests.report.conftest import make_results

CASES = [
    # ordinary values: exactly `digits` decimals, as %.3f
    (0.12345, 3, "0.123"),
    (-0.12345, 3, "-0.123"),
    (2.0, 3, "2.000"),
    (123.4567, 3, "123.457"),
    (-123.4567, 3, "-123.457"),
    (0.0006, 3, "0.001"),  # does not round to zero: stays at 3 decimals
    (0.0026, 3, "0.003"),
    # zero and negative zero
    (0.0, 3, "0.000"),
    (-0.0, 3, "0.000"),
    (-0.0, 2, "0.00"),
    # would round to zero: two significant digits instead
    (0.00031, 3, "0.00031"),
    (-0.0004, 3, "-0.00040"),
    (0.000314159, 3, "0.00031"),
    (0.00049999, 3, "0.00050"),
    (0.000099996, 3, "0.00010"),  # rounding to 2 digits carries into the next power
    (0.0000123, 3, "0.000012"),
    (-5.297e-7, 3, "-0.00000053"),
    (1.5e-8, 3, "0.000000015"),  # nine decimals: the cap
    (1.04e-8, 3, "0.000000010"),
    # other precisions
    (0.004, 2, "0.0040"),
    (2.0, 2, "2.00"),
    (3.6666, 1, "3.7"),
    (0.04, 1, "0.040"),
    (12.7, 0, "13"),
    (0.3, 0, "0.30"),
    # thousands separators
    (1234.5, 3, "1,234.500"),
    (-12345.6789, 3, "-12,345.679"),
    (987654321.0, 3, "987,654,321.000"),
    (987654321.25, 1, "987,654,321.2"),  # .25 is exact in binary: ties to even
    # beyond fixed point: a power of ten
    (9.6e-9, 3, "9.6e-09"),  # would need ten decimals
    (1.2e-9, 3, "1.2e-09"),
    (-3.14e-12, 3, "-3.1e-12"),
    (999999999.9996, 3, "1.000e+09"),  # rounds up to 1e9
    (1234567890.0, 3, "1.235e+09"),
    (-2.5e12, 3, "-2.500e+12"),
    (2.5e12, 2, "2.50e+12"),
    # missing and infinite
    (float("nan"), 3, ""),
    (None, 3, ""),
    (float("inf"), 3, "inf"),
    (float("-inf"), 3, "-inf"),
    (np.float64(0.00031), 3, "0.00031"),
]


@pytest.mark.parametrize(("value", "digits", "expected"), CASES)
def test_value_table(value, digits, expected):
    assert format_number(value, digits) == expected
    assert number(value, digits).plain() == expected


@pytest.mark.parametrize(
    ("value", "text", "latex", "html"),
    [
        # LaTeX and HTML write a true minus sign ($-$, U+2212); plain() stays ASCII
        (1.2e-9, "1.2e-09", r"1.2${}\times10^{-9}$", "1.2&times;10<sup>\u22129</sup>"),
        (
            -3.14e-12,
            "-3.1e-12",
            r"$-$3.1${}\times10^{-12}$",
            "\u22123.1&times;10<sup>\u221212</sup>",
        ),
        (1234567890.0, "1.235e+09", r"1.235${}\times10^{9}$", "1.235&times;10<sup>9</sup>"),
        (0.00031, "0.00031", "0.00031", "0.00031"),
        (12345.6789, "12,345.679", "12,345.679", "12,345.679"),
    ],
)
def test_notation_per_format(value, text, latex, html):
    n = number(value)
    assert (n.plain(), str(n), n.latex(), n.html()) == (text, text, latex, html)


@given(st.floats(min_value=-9.9e8, max_value=9.9e8, allow_nan=False))
def test_fixed_point_properties(v):
    """Between 1.1e-8 and 9.9e8 in magnitude: fixed point, within half a unit of the last
    decimal, never shown as zero when nonzero; 3 decimals unless that would show zero, then
    exactly two significant digits."""
    if v != 0 and abs(v) < 1.1e-8:
        v = math.copysign(1.1e-8, v)
    s = format_number(v, 3)
    assert "e" not in s
    whole, _, frac = s.lstrip("-").partition(".")
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", whole), s
    shown = float(s.replace(",", ""))
    # half a unit in the last place, plus float slack for |v| near 1e9
    assert abs(shown - v) <= 0.5 * 10 ** -len(frac) + abs(v) * 1e-15
    if round(v, 3) != 0:
        assert len(frac) == 3
    elif v != 0:
        assert shown != 0 and len(frac) <= 9
        assert len(frac.lstrip("0")) == 2  # two significant digits
    if s.startswith("-"):
        assert v < 0 and shown != 0  # no "-0.000"


def _table(*cells: Cell) -> Table:
    header = (tuple((f"({i + 1})", 1) for i in range(len(cells))),)
    return Table(header, (Section((Row("x", cells),)),))


def test_renderers_write_powers_of_ten_in_their_notation():
    t = _table(Cell.of("(", number(1.2e-9), ")"), Cell.of(number(-2.5e12), sup="**"))
    latex = t.to_latex()
    # stars after an exponent get a thin space so they do not read as part of it
    assert r"(1.2${}\times10^{-9}$) & $-$2.500${}\times10^{12}$\,\sym{**} \\" in latex
    html = t.to_html()
    assert "<td>(1.2&times;10<sup>\u22129</sup>)</td>" in html
    assert "<td>\u22122.500&times;10<sup>12</sup>&thinsp;<sup>**</sup></td>" in html
    assert "| (1.2e\u221209) | \u22122.500e+12\\*\\* |" in t.to_markdown()
    assert "(1.2e\u221209)" in str(t) and "\u22122.500e+12**" in str(t)


def test_text_around_numbers_is_still_escaped():
    t = _table(Cell.of("<", number(1.2e-9), " & up"))
    assert r"\textless{}1.2${}\times10^{-9}$ \& up" in t.to_latex()
    assert "&lt;1.2&times;10<sup>\u22129</sup> &amp; up" in t.to_html()
    assert t.sections[0].rows[0].cells[0].text == "<1.2e-09 & up"


def test_siunitx_columns_brace_what_they_cannot_parse():
    # siunitx reads "1,234" as 1.234 (comma = decimal marker), so separators are braced
    t = _table(Cell.of(number(0.5)), Cell("1,234"), Cell.of(number(1.2e-9)), Cell("(0.100)"))
    row = next(line for line in t.to_latex(siunitx=True).splitlines() if line.startswith("x &"))
    assert row == r"x & 0.500 & {1,234} & {1.2${}\times10^{-9}$} & {(0.100)} \\"


def test_cell_of_keeps_plain_text_for_text_and_markdown():
    c = Cell.of("[", number(0.00031), ", ", number(0.0012), "]", sup="*")
    assert c.text == "[0.00031, 0.001]" and c.plain() == "[0.00031, 0.001]*"
    assert c.parts[1] == Number("0.00031")


@pytest.fixture(scope="module")
def tiny_scale_fits():
    """FE fits of Munnell's model with unemployment in percent and in 1e-4 percent units."""
    from spillover import datasets
    from spillover.models import FixedEffects

    panel = datasets.us_states()
    scaled = panel.assign(unemp_bp=panel.data["unemp"] * 1e4)
    f = "log_gsp ~ log_pcap + log_pc + log_emp + unemp"
    base = FixedEffects(f, panel, effects="entity").fit(vcov="robust")
    tiny = FixedEffects(f.replace("unemp", "unemp_bp"), scaled, effects="entity").fit(vcov="robust")
    return base, tiny


def _two_significant_scaled(x: float, power: int) -> str:
    """Independent oracle: ``x`` rounded to two significant digits, times 10**power, in
    plain decimal notation (Decimal arithmetic, not the formatter)."""
    return format(Decimal(f"{x:.1e}").scaleb(power), "f")


def test_regression_table_tiny_scale_regressor_prints_fixed_point(tiny_scale_fits):
    base, tiny = tiny_scale_fits
    # rescaling a regressor by 1e4 divides its coefficient and SE by 1e4 (exact algebra)
    b, se = float(base.params["unemp"]), float(base.std_errors["unemp"])
    assert float(tiny.params["unemp_bp"]) == pytest.approx(b / 1e4, rel=1e-9)
    assert 1e-8 < abs(b / 1e4) < 1e-5 and 1e-8 < se / 1e4 < 1e-5
    t = tables.regression_table([base, tiny])
    rows = {r.label: r for s in t.sections for r in s.rows}
    labels = [r.label for s in t.sections for r in s.rows]
    se_row = t.sections[0].rows[labels.index("unemp_bp") + 1]
    assert rows["unemp_bp"].cells[1].text == _two_significant_scaled(b, -4)
    assert se_row.cells[1].text == f"({_two_significant_scaled(se, -4)})"
    assert rows["unemp"].cells[0].text == f"{b:.3f}"  # ordinary scale: 3 decimals as before
    for text in (t.to_latex(), t.to_latex(siunitx=True), t.to_html(), t.to_markdown(), str(t)):
        assert not re.search(r"\d[eE][-+]?\d", text)


def test_diagnostics_and_summary_tables_use_the_rule():
    from types import SimpleNamespace

    from tests.report.test_describe import small_panel

    d = describe.diagnostics_table({"F": SimpleNamespace(statistic=3.5, df=(47, 764), pvalue=1e-9)})
    # p-values as journals print them: a bound below 0.001, never a power of ten
    assert r"\textless{} 0.001" in d.to_latex() and "< 0.001" in str(d)
    assert "10^{" not in d.to_latex() and "e-09" not in str(d)
    p = small_panel()
    p = p.assign(x_small=p.data["x"] * 1e-6)
    s = describe.summary_table(p, ["x_small"], decomposition=False)
    sd = float(p.data["x_small"].std(ddof=1))
    assert s.sections[0].rows[0].cells[1].text == _two_significant_scaled(sd, 0)
    assert "e-" not in s.to_latex()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_tables_with_tiny_and_huge_numbers_compile(tmp_path, tiny_scale_fits):
    from types import SimpleNamespace

    from tests.report.test_tables import _compile

    extreme = make_results(
        {"tiny": 1.2e-9, "huge": 2.5e12, "small": 3.1e-4},
        [3.4e-10, 1.1e12, 1e-4],
        model="X",
        dependent="y",
        fit={"r2": 0.5, "loglik": -1.5e10},
    )
    diag = {"F": SimpleNamespace(statistic=3.5, df=(47, 764), pvalue=1e-12)}
    parts = [
        tables.regression_table(list(tiny_scale_fits)).to_latex(),
        tables.regression_table([extreme]).to_latex(),
        tables.regression_table([extreme], stat="conf_int").to_latex(siunitx=True),
        describe.diagnostics_table(diag).to_latex(siunitx=True),
    ]
    assert r"1.2${}\times10^{-9}$" in parts[1] and r"$-$1.500${}\times10^{10}$" in parts[1]
    out = _compile(tmp_path, "\n".join(parts))
    assert out.returncode == 0, out.stdout[-3000:]
    assert "Output written on doc.pdf" in out.stdout
