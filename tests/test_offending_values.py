"""Error messages quote the offending values and rows, not the first value of a column."""

import numpy as np
import pandas as pd
import pytest

from spillover import Panel, PanelError, SpecificationError
from spillover._validate import require_numeric
from spillover.diagnostics import pesaran_cd
from spillover.measures import rd_stock


def test_non_numeric_column_quotes_the_bad_values():
    frame = pd.DataFrame({"x": pd.Series([1.5, 2.0, "n/a", 4.0, "?"], dtype=object)})
    with pytest.raises(
        SpecificationError, match=r"2 of 5 values are not numbers, e\.g\. 'n/a', '\?' \(at 2, 4\)"
    ):
        require_numeric(frame, ["x"])


def test_negative_rd_quotes_the_values_and_keys():
    df = pd.DataFrame({"firm": [1, 1, 2], "year": [2000, 2001, 2000], "rd": [3.0, -2.0, -0.5]})
    with pytest.raises(PanelError, match=r"-2 at \(1, 2001\), -0\.5 at \(2, 2000\)"):
        rd_stock(Panel(df, entity="firm", time="year"), "rd", growth=0.05)


def test_missing_residuals_name_their_rows():
    idx = pd.MultiIndex.from_product([["a", "b"], [2000, 2001]])
    r = pd.Series([0.1, np.nan, -0.1, 0.2], index=idx)
    with pytest.raises(SpecificationError, match=r"1 missing values, e\.g\. at \('a', 2001\)"):
        pesaran_cd(r)
