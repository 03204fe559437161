"""spillover.report: text summaries, LaTeX tables, figures."""
