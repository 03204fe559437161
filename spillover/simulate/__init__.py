"""spillover.simulate: data-generating processes with known truth."""
