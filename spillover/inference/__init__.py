"""spillover.inference: covariance estimators, kernels, impacts."""
