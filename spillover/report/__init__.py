"""spillover.report: publication-ready tables (LaTeX, Markdown, HTML, text) and figures."""

from spillover.report._files import write_atomic
from spillover.report._scree import scree_plot
from spillover.report.describe import (
    correlation_table,
    diagnostics_table,
    panel_summary,
    summary_table,
)
from spillover.report.survey_figures import network_map, path_diagram
from spillover.report.survey_tables import (
    construct_correlation_table,
    loadings_table,
    mediation_table,
    sem_fit_table,
    validity_table,
)
from spillover.report.tables import effects_table, regression_table, stack_panels

__all__ = [
    "construct_correlation_table",
    "correlation_table",
    "diagnostics_table",
    "effects_table",
    "loadings_table",
    "mediation_table",
    "network_map",
    "panel_summary",
    "path_diagram",
    "regression_table",
    "scree_plot",
    "sem_fit_table",
    "stack_panels",
    "summary_table",
    "validity_table",
    "write_atomic",
]
