"""Student-versus-teacher reliability: agreement metrics, dimension masks, demo teacher labels."""

from mira_core.reliability.metrics import ALL_SOURCES, bootstrap, mae, reliability_matrix, spearman

__all__ = ["ALL_SOURCES", "bootstrap", "mae", "reliability_matrix", "spearman"]
