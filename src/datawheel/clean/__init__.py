"""Cleaning: duplicates, quality filters, PII redaction, k-anonymity — plain functions over frames.

Each takes a frame and returns what it keeps and what it removes (with a reason), so that rows in
= rows kept + rows removed; the pipeline layer commits both, with lineage.
"""

from datawheel.clean._anonymity import AggregationResult, AnonymityResult, aggregate_unique, k_anonymize
from datawheel.clean._dedup import DedupResult, choose_bands, exact_duplicates, near_duplicates
from datawheel.clean._filters import FilterResult, detect_language, quality_filter, word_list_pattern
from datawheel.clean._pii import (
    PII_TYPES,
    Detector,
    PiiFindings,
    RedactResult,
    Span,
    detect_pii,
    luhn_valid,
    redact,
    valid_iban,
    valid_kr_brn,
    valid_kr_rrn,
)

__all__ = [
    "PII_TYPES",
    "AggregationResult",
    "AnonymityResult",
    "DedupResult",
    "Detector",
    "FilterResult",
    "PiiFindings",
    "RedactResult",
    "Span",
    "aggregate_unique",
    "choose_bands",
    "detect_language",
    "detect_pii",
    "exact_duplicates",
    "k_anonymize",
    "luhn_valid",
    "near_duplicates",
    "quality_filter",
    "redact",
    "valid_iban",
    "valid_kr_brn",
    "valid_kr_rrn",
    "word_list_pattern",
]
