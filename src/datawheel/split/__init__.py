"""Train/dev/test splits: exact stratification, groups, time, stable assignment, leakage checks."""

__all__: list[str] = []
