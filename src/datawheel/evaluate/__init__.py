"""Evaluation: metrics, slices, fairness and learning curves over predictions."""

__all__: list[str] = []
