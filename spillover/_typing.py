"""Array aliases and option types shared across modules."""

from __future__ import annotations

from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.intp]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

Effects = Literal["none", "entity", "time", "twoway"]
Unmatched = Literal["raise", "drop", "keep"]
Metric = Literal["haversine", "euclidean"]
