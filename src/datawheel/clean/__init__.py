"""Cleaning: duplicates, quality filters, PII redaction, k-anonymity — plain functions over frames."""

__all__: list[str] = []
