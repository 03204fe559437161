"""spillover.report: publication-ready tables (LaTeX, Markdown, HTML, text) and figures."""

from spillover.report._adapt import as_results
from spillover.report._event_study import event_study_plot
from spillover.report._files import write_atomic
from spillover.report._format import Latex
from spillover.report._frame import frame_table
from spillover.report._latex import PREAMBLE as LATEX_PREAMBLE
from spillover.report._latex import bad_boxes as latex_bad_boxes
from spillover.report._latex import document as latex_document
from spillover.report._scree import scree_plot
from spillover.report.choice_tables import model_choice_table
from spillover.report.describe import (
    correlation_table,
    diagnostics_table,
    panel_summary,
    summary_table,
)
from spillover.report.figures import (
    choropleth,
    coef_plot,
    distance_decay_plot,
    effects_plot,
    lisa_map,
    moran_scatter,
    print_style,
    save_figure,
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
    "LATEX_PREAMBLE",
    "Latex",
    "as_results",
    "choropleth",
    "coef_plot",
    "construct_correlation_table",
    "correlation_table",
    "diagnostics_table",
    "distance_decay_plot",
    "effects_plot",
    "effects_table",
    "event_study_plot",
    "frame_table",
    "latex_bad_boxes",
    "latex_document",
    "lisa_map",
    "loadings_table",
    "mediation_table",
    "model_choice_table",
    "moran_scatter",
    "network_map",
    "panel_summary",
    "path_diagram",
    "print_style",
    "regression_table",
    "save_figure",
    "scree_plot",
    "sem_fit_table",
    "stack_panels",
    "summary_table",
    "validity_table",
    "write_atomic",
]
