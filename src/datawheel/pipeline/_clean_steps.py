"""The cleaning capabilities as built-in pipeline steps: each keeps rows and sets the rest aside."""

from __future__ import annotations

import polars as pl

from datawheel.clean import exact_duplicates, k_anonymize, near_duplicates, quality_filter, redact
from datawheel.pipeline._clean import findings_table, set_aside
from datawheel.pipeline._step import Step, step


@step(name="dedup", outputs=["output", "removed"])
def dedup_rows(
    table: pl.DataFrame, *, column: str = "text", threshold: float = 0.8, exact: bool = False
) -> dict[str, pl.DataFrame]:
    """Exact or near duplicates of ``column`` dropped; ``removed`` names what each duplicates."""
    found = exact_duplicates(table, column) if exact else near_duplicates(table, column, threshold=threshold)
    return {"output": found.kept, "removed": set_aside(found.removed)}


@step(name="quality_filter", outputs=["output", "removed"])
def filter_quality(
    table: pl.DataFrame,
    *,
    column: str = "text",
    max_special_ratio: float | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    languages: list[str] | None = None,
    words: list[str] | None = None,
) -> dict[str, pl.DataFrame]:
    """Low-quality rows dropped, each with its reason code in ``removed``."""
    found = quality_filter(
        table,
        column,
        max_special_ratio=max_special_ratio,
        min_length=min_length,
        max_length=max_length,
        languages=languages,
        words=words,
    )
    return {"output": found.kept, "removed": set_aside(found.removed)}


@step(name="redact", outputs=["output", "findings"])
def redact_pii(
    table: pl.DataFrame, *, column: str = "text", mode: str = "mask", salt: str | None = None
) -> dict[str, pl.DataFrame]:
    """PII in ``column`` redacted; ``findings`` says where (never what)."""
    found = redact(table, column, mode=mode, salt=salt)  # type: ignore[arg-type]
    return {"output": found.frame, "findings": findings_table(found.findings.table)}


@step(name="anonymize", outputs=["output", "removed"])
def anonymize_rows(
    table: pl.DataFrame,
    *,
    quasi_identifiers: list[str] | None = None,
    k: int = 5,
    buckets: dict[str, float] | None = None,
    prefixes: dict[str, int] | None = None,
) -> dict[str, pl.DataFrame]:
    """k-anonymous on the quasi-identifiers; suppressed rows in ``removed``."""
    rules = {c: {"bucket": w} for c, w in (buckets or {}).items()}
    rules.update({c: {"prefix": n} for c, n in (prefixes or {}).items()})
    found = k_anonymize(table, quasi_identifiers or [], k=k, generalize=rules or None)
    return {"output": found.kept, "removed": set_aside(found.removed)}


CLEANING: dict[str, Step] = {s.name: s for s in (dedup_rows, filter_quality, redact_pii, anonymize_rows)}
