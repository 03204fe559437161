import matplotlib

matplotlib.use("Agg")  # headless and deterministic, whatever the environment sets

import numpy as np
import pandas as pd
import pytest

from spillover.models import Results


def make_results(params, ses, *, model, dependent, fe=(), fit=None, info=None, nobs=100):
    names = list(params)
    return Results(
        params=pd.Series(params, dtype=float),
        vcov=pd.DataFrame(np.diag(np.square(ses)), index=names, columns=names),
        nobs=nobs,
        df_resid=None,
        vcov_name="robust (HC1)",
        model=model,
        dependent=dependent,
        fixed_effects=fe,
        n_entities=10,
        n_periods=10,
        fit_stats=fit or {},
        info=info or {},
    )


@pytest.fixture
def two_models():
    # z = 2.0 (p=.0455, **), 1.5 (p=.134, none), 1.8 (p=.0719, *), 5 (***)
    a = make_results(
        {"x_1": 0.2, "z": 0.15},
        [0.1, 0.1],
        model="OLS",
        dependent="log_emp",
        fit={"r2": 0.5},
        nobs=1234,
    )
    b = make_results(
        {"x_1": 0.18, "rho": 0.5},
        [0.1, 0.1],
        model="SAR",
        dependent="log_emp",
        fe=("firm", "year"),
        fit={"loglik": -123.4567},
        info={"Weights": "queen, row"},
    )
    return a, b
