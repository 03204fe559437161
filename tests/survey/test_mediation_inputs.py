"""Mediation refuses bad inputs before estimating, naming the column or rows and the fix."""

import warnings

import numpy as np
import pytest

from spillover.errors import DroppedRowsWarning, SpecificationError
from spillover.inference import Cluster
from spillover.survey import Mediation
from spillover.survey.mediation import example_survey

BASE = {"x": "environment", "mediators": ["transfer"], "y": "spillover", "covariates": ["size"]}


@pytest.fixture
def data():
    return example_survey(n=60, seed=4)


def _build(data, **changes):
    return Mediation(data, **{**BASE, **changes})


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"mediators": ["nope"]}, "no column.*'nope'"),
        ({"covariates": ["age"]}, "no column.*'age'"),
        ({"mediators": ["environment"]}, "mediator 'environment' is also x"),
        ({"mediators": ["spillover"]}, "mediator 'spillover' is also y"),
        ({"mediators": []}, "at least one mediator"),
        ({"mediators": "transfer"}, "lists of column names"),
        ({"covariates": ["transfer"]}, "more than one role"),
        ({"y": "environment"}, "x and y are the same"),
        ({"kind": "moderated"}, "kind must be"),
        ({"cluster": "size"}, "also a model variable"),
    ],
)
def test_bad_roles(data, changes, match):
    with pytest.raises(SpecificationError, match=match):
        _build(data, **changes)


def test_too_few_observations(data):
    with pytest.raises(SpecificationError, match=r"4 observations.*at least 6"):
        _build(data.head(4))


def test_constant_variable(data):
    with pytest.raises(SpecificationError, match="'size' is constant"):
        _build(data.assign(size=1.0))


def test_collinear_covariate(data):
    with pytest.raises(SpecificationError, match=r"'twice'.*linear combination"):
        _build(data.assign(twice=2 * data["size"]), covariates=["size", "twice"])


def test_missing_rows_are_named_or_dropped_on_request(data):
    holed = data.copy()
    holed.loc[[7, 31], "transfer"] = np.nan
    with pytest.raises(SpecificationError, match=r"2 rows.*'transfer'.*rows 7, 31.*listwise"):
        _build(holed)
    with pytest.warns(DroppedRowsWarning, match="dropped 2 rows"):
        model = _build(holed, missing="listwise")
    assert model.fit(bootstrap=0).nobs == 58
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _build(data, missing="listwise")


def test_non_numeric_column(data):
    with pytest.raises(SpecificationError, match=r"'size'.*cannot be used as a number"):
        _build(data.assign(size="big"))


def test_bad_fit_options(data):
    model = _build(data)
    with pytest.raises(SpecificationError, match="unknown vcov 'sandwich'"):
        model.fit(vcov="sandwich")
    with pytest.raises(SpecificationError, match="ci must be"):
        model.fit(ci="bca")
    with pytest.raises(SpecificationError, match="one-way"):
        model.fit(vcov=Cluster("cluster", "size"), bootstrap=0)
    with pytest.raises(SpecificationError, match="engine='sem' takes vcov='ml'"):
        model.fit(vcov="robust", engine="sem")
    with pytest.raises(SpecificationError, match="level"):
        model.fit(level=95)


def test_cluster_vcov_by_a_column_outside_the_model(data):
    res = _build(data.assign(region=np.arange(60) % 6)).fit(vcov=Cluster("region"), bootstrap=0)
    assert res.df_resid == 5


def test_infinite_values_are_named(data):
    data.loc[12, "size"] = np.inf
    with pytest.raises(SpecificationError, match="1 rows have infinite values, at rows 12"):
        _build(data)
