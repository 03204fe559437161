"""Panel and spatial panel estimators; every one returns a Results."""

from spillover.models._results import Results, Summary

__all__ = ["Results", "Summary"]
