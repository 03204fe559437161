"""The top-level package: what `import spillover as sp` gives a study script."""

from __future__ import annotations

import subprocess
import sys

import pytest

import spillover as sp


def test_estimators_inference_and_reporting_reachable_from_the_package():
    from spillover.inference import Conley
    from spillover.models import FixedEffects
    from spillover.report import regression_table

    assert sp.models.FixedEffects is FixedEffects
    assert sp.inference.Conley is Conley
    assert sp.report.regression_table is regression_table
    assert {"models", "inference", "report"} <= set(dir(sp))


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'modles'"):
        sp.modles  # noqa: B018


def test_import_does_not_load_estimation_or_plotting_stacks():
    # The heavy stacks load on first use of sp.models / sp.report, not on `import spillover`.
    code = (
        "import sys, spillover; "
        "print(','.join(m for m in ('linearmodels', 'matplotlib', 'spillover.models') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
