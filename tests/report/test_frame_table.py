"""frame_table: a DataFrame rendered cell by cell, checked against the expected text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spillover.errors import SpecificationError
from spillover.report import frame_table


def test_cells_index_and_caption_render_in_markdown_and_latex():
    frame = pd.DataFrame(
        {"p": [0.12345, np.nan], "n": [1200, 3], "best": [True, False], "w": ["geo", "tech"]},
        index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)]),
    )
    table = frame_table(frame, digits=2, caption="Cap", label="tab:x", notes=["A note."])
    md = table.to_markdown()
    assert "|  | p | n | best | w |" in md
    assert "| a, 1 | 0.12 | 1,200 | True | geo |" in md
    assert "| b, 2 |  | 3 | False | tech |" in md  # NaN is an empty cell
    assert "A note." in md and "**Cap**" in md
    tex = table.to_latex()
    assert r"\label{tab:x}" in tex and "0.12" in tex and "1,200" in tex


@pytest.mark.parametrize("bad", [pd.DataFrame(), [[1, 2]]])
def test_empty_or_non_frame_is_refused(bad):
    with pytest.raises(SpecificationError, match="non-empty pandas DataFrame"):
        frame_table(bad)
