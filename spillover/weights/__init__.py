"""Spatial and technological weights aligned to panel entities."""

from spillover.weights._base import Weights

__all__ = ["Weights"]
