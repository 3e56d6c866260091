"""Cleaning: duplicates, quality filters, PII redaction, k-anonymity — plain functions over frames.

Each takes a frame and returns what it keeps and what it removes (with a reason), so that rows in
= rows kept + rows removed; the pipeline layer commits both, with lineage.
"""

from datawheel.clean._anonymity import AggregationResult, AnonymityResult, aggregate_unique, k_anonymize
from datawheel.clean._filters import FilterResult, detect_language, quality_filter, word_list_pattern

__all__ = [
    "AggregationResult",
    "AnonymityResult",
    "FilterResult",
    "aggregate_unique",
    "detect_language",
    "k_anonymize",
    "quality_filter",
    "word_list_pattern",
]
