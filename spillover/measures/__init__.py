"""spillover.measures: R&D stocks, spillover pools, cluster indices."""
