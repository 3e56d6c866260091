"""Baseline models: text, table and image classifiers, and out-of-fold probabilities."""

__all__: list[str] = []
