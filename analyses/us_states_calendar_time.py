"""Calendar time against positions: serial-correlation standard errors on gapped US states data.

The serial terms of ``Conley(lags=)`` and ``DriscollKraay(lags=)`` count calendar periods.
Counting positions among the periods present instead (spillover before calendar time;
linearmodels' and plm's Driscoll-Kraay) is the same computation on the panel with its years
recoded as ranks 0..T-1, which is how the second column is obtained. Two panels from the
Munnell data (entity FE, log GSP on the four inputs, 48 states):

* ``missing 1980``: 1970-1986 without 1980, so 1979 and 1981 are two years apart;
* ``biennial``: the even years 1970-1986, waves two years apart.

Writes ``calendar_time.csv``: one row per panel, covariance and coefficient, with the
standard error under each convention and their ratio. Run with
``python -m analyses.us_states_calendar_time``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analyses._common import run_cli
from spillover import Panel, datasets
from spillover.inference import Conley, DriscollKraay
from spillover.models import FixedEffects

FORMULA = "log_gsp ~ log_pcap + log_pc + log_emp + unemp"
SPECS = [Conley(cutoff_km=500, lags=lags) for lags in (1, 2, 3)]
SPECS += [DriscollKraay(lags=lags) for lags in (1, 2, 3)]


FIGURE: str | None = None
"""This study writes a table only; the README shows no figure for it."""


def ranks(panel: Panel) -> Panel:
    """``panel`` with its years replaced by their ranks: positions instead of calendar time."""
    d = panel.data.reset_index()
    d[panel.time_name] = pd.factorize(d[panel.time_name], sort=True)[0]
    return Panel(d, entity=panel.entity_name, time=panel.time_name, geo=panel.geo)


def compare(name: str, panel: Panel) -> pd.DataFrame:
    rows = []
    for spec in SPECS:
        calendar = FixedEffects(FORMULA, panel).fit(vcov=spec)
        positions = FixedEffects(FORMULA, ranks(panel)).fit(vcov=spec)
        for coef in calendar.params.index.drop("Intercept"):
            se_c, se_p = calendar.std_errors[coef], positions.std_errors[coef]
            rows.append((name, calendar.vcov_name, coef, se_c, se_p, se_p / se_c))
    columns = ["panel", "vcov", "coefficient", "se_calendar", "se_positions", "ratio"]
    return pd.DataFrame(rows, columns=columns)


def main(output: Path) -> list[Path]:
    panel = datasets.us_states()
    cases = {
        "missing 1980": panel.subset(periods=[y for y in panel.periods if y != 1980]),
        "biennial": panel.subset(periods=[y for y in panel.periods if y % 2 == 0]),
    }
    table = pd.concat([compare(name, p) for name, p in cases.items()], ignore_index=True)
    output.mkdir(parents=True, exist_ok=True)
    path = output / "calendar_time.csv"
    table.to_csv(path, index=False, float_format="%.6g")
    return [path]


if __name__ == "__main__":
    run_cli(main, __file__)
