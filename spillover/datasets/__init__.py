"""spillover.datasets: bundled real data sets, one loader each."""
