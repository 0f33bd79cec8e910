"""Reliability-aware selection: aggregates, the retention preview, the budget solver, policies, exports."""
