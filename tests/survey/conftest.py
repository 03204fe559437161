"""Data and psych reference values for the survey measurement tests."""

import json
from pathlib import Path

import pandas as pd
import pytest

REFERENCES = Path(__file__).resolve().parents[1] / "references"


@pytest.fixture(scope="session")
def psych_ref():
    """psych 2.2.9 results written by tests/references/psych_survey.R."""
    return json.loads((REFERENCES / "psych_survey.json").read_text())


@pytest.fixture(scope="session")
def hs():
    """Holzinger-Swineford (1939), x1..x9 of 301 pupils, as psych read them."""
    return pd.read_csv(REFERENCES / "psych_survey_hs.csv")


@pytest.fixture(scope="session")
def bfi():
    """psych's bfi, 25 items of 2800 respondents with missing answers, reverse keys recoded."""
    return pd.read_csv(REFERENCES / "psych_survey_bfi.csv")
