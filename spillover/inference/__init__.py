"""spillover.inference: covariance estimators, kernels, impacts."""

from spillover.inference.vcov import Cluster, Conley, DriscollKraay

__all__ = ["Cluster", "Conley", "DriscollKraay"]
