"""Exception and warning hierarchy.

Every error raised on purpose by spillover derives from :class:`SpilloverError`, and
every warning from :class:`SpilloverWarning`, so callers can catch the whole family.
The ``ValueError``/``RuntimeError`` bases keep ``except ValueError`` working for code
written against pandas or linearmodels.
"""

from __future__ import annotations


class SpilloverError(Exception):
    """Root of every error raised by spillover."""


class PanelError(SpilloverError, ValueError):
    """Malformed panel: duplicate or missing keys, bad time index, gaps."""


class AlignmentError(SpilloverError, ValueError):
    """Panel, weights and geography disagree on their entities."""


class WeightsError(SpilloverError, ValueError):
    """Invalid weights: islands, non-square, degrees where distances are needed."""


class GeographyError(SpilloverError, ValueError):
    """Missing or inconsistent geometry or coordinate reference system."""


class SpecificationError(SpilloverError, ValueError):
    """Model cannot be estimated as specified: collinear regressors, bad option."""


class ConvergenceError(SpilloverError, RuntimeError):
    """An iterative estimator did not converge."""


class SpilloverWarning(UserWarning):
    """Root of every warning issued by spillover."""


class DroppedRowsWarning(SpilloverWarning):
    """Rows were dropped on the user's request; the message gives count and reason."""


class DroppedColumnsWarning(SpilloverWarning):
    """Regressors were dropped (e.g. left collinear once separated rows were dropped); the
    message names them and gives the reason."""


class ApproximationWarning(SpilloverWarning):
    """An approximation (e.g. of a log-determinant) may be inaccurate."""


class DisconnectedWeightsWarning(SpilloverWarning):
    """The weights graph splits into several groups that never exchange spillovers."""


class WeightsAssumptionWarning(SpilloverWarning):
    """The weights depart from what a model assumes (islands, negative weights); the
    message says what that does to the estimates and how to avoid it."""


class SurveyError(SpilloverError, ValueError):
    """Malformed questionnaire data or codebook: no respondent id column, duplicate
    respondents or items, bad answer ranges, answers that are not numbers."""


class SurveyDataWarning(SpilloverWarning):
    """Questionnaire answers with problems (out of range, unknown or absent items,
    straight-lining); the message gives counts and ``Questionnaire.check()`` lists them."""


class ImproperSolutionWarning(SpilloverWarning):
    """A fitted factor or structural model is improper (a Heywood case): a negative variance
    estimate, a standardized loading beyond 1 or a communality reaching 1; the message names
    the variables."""


class BackendError(SpilloverError, RuntimeError):
    """An out-of-core backend (DuckDB) could not run: out of memory, unreadable input."""
