"""Monitoring new batches against a reference: contract, drift and data failures in one report.

Data failures per batch: an empty batch, reference columns missing, a null spike (a column's
null share above the reference's by more than ``null_spike`` and at least double it), a
duplicate spike (more than ``max_duplicates`` of the batch's rows repeat another of its rows;
rows with a null are not counted),
and a volume drop (fewer rows than ``volume_drop`` times the median of the batches before it).
Any error-level finding raises the alert. :func:`drifted_rows` picks a batch's rows in the
drifted slice (values in the bins or categories that grew), to send back for labelling.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from datawheel.validate._contract import Anomaly, Contract, ValidationResult, check_contract
from datawheel.validate._drift import DriftReport, compare_profiles
from datawheel.validate._profile import Profile, profile


@dataclass(frozen=True)
class BatchCheck:
    """What monitoring found in one batch."""

    name: str
    rows: int
    failures: list[Anomaly]
    validation: ValidationResult | None = None
    drift: DriftReport | None = None

    @property
    def alert(self) -> bool:
        """A data failure, an error-level contract anomaly, or a drifted column."""
        return (
            any(f.severity == "error" for f in self.failures)
            or (self.validation is not None and not self.validation.ok)
            or bool(self.drift and self.drift.drifted)
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of a batch: ``alert``, ``failures``, ``anomalies``, ``drifted``, ``drift``."""
        return {
            "batch": self.name,
            "rows": self.rows,
            "alert": self.alert,
            "failures": [f.to_dict() for f in self.failures],
            "anomalies": [a.to_dict() for a in self.validation.anomalies] if self.validation else [],
            "drifted": self.drift.drifted if self.drift else [],
            "drift": {n: c.to_dict() for n, c in self.drift.columns.items()} if self.drift else {},
        }


@dataclass(frozen=True)
class MonitorReport:
    """Every batch's checks; ``alert`` if any batch raised one."""

    reference_rows: int
    batches: list[BatchCheck] = field(default_factory=list)

    @property
    def alert(self) -> bool:
        """Whether any batch raised an alert."""
        return any(b.alert for b in self.batches)

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape: ``alert``, ``reference_rows``, ``batches``."""
        return {
            "alert": self.alert,
            "reference_rows": self.reference_rows,
            "batches": [b.to_dict() for b in self.batches],
        }


def monitor(
    reference: Profile,
    batches: Iterable[tuple[str, pl.DataFrame]],
    *,
    contract: Contract | None = None,
    null_spike: float = 0.1,
    max_duplicates: float = 0.05,
    volume_drop: float = 0.5,
) -> MonitorReport:
    """Check each named batch: data failures, the contract (if given), drift against ``reference``.

    Example:
        >>> ref = profile(pl.DataFrame({"x": [float(i) for i in range(500)]}))
        >>> ok = pl.DataFrame({"x": [float(i) + 0.5 for i in range(500)]})
        >>> bad = pl.DataFrame({"x": [None] * 100 + [float(i) + 900 for i in range(400)]})
        >>> report = monitor(ref, [("mon", ok), ("tue", bad)])
        >>> [(b.name, b.alert, [f.check for f in b.failures], b.drift.drifted) for b in report.batches]
        [('mon', False, [], []), ('tue', True, ['null_spike'], ['x'])]
    """
    checks: list[BatchCheck] = []
    for name, frame in batches:
        failures = _failures(
            reference, frame, [c.rows for c in checks], null_spike, max_duplicates, volume_drop
        )
        if frame.height == 0:
            checks.append(BatchCheck(name, 0, failures))
            continue
        validation = check_contract(frame, contract) if contract is not None else None
        thresholds = contract.thresholds() if contract is not None else None
        drift = compare_profiles(reference, profile(frame), thresholds=thresholds)
        checks.append(BatchCheck(name, frame.height, failures, validation, drift))
    return MonitorReport(reference.rows, checks)


def _failures(
    reference: Profile,
    frame: pl.DataFrame,
    earlier: list[int],
    null_spike: float,
    max_duplicates: float,
    volume_drop: float,
) -> list[Anomaly]:
    out: list[Anomaly] = []
    if frame.height == 0:
        return [Anomaly("", "empty", "error", "rows", 0)]
    missing = [c for c in reference.columns if c not in frame.columns]
    out += [Anomaly(c, "missing_column", "error", "present", "absent") for c in missing]
    if earlier:
        usual = statistics.median(earlier)
        if frame.height < volume_drop * usual:
            out.append(
                Anomaly("", "volume_drop", "error", f">= {volume_drop:.0%} of {usual:g} rows", frame.height)
            )
    present = [c for c in reference.columns if c in frame.columns]
    nulls = frame.select(pl.col(c).null_count() for c in present).row(0, named=True) if present else {}
    for c in present:
        ref = reference.columns[c]
        before, now = ref.nulls / ref.count if ref.count else 0.0, nulls[c] / frame.height
        if now > before + null_spike and now >= 2 * before:
            out.append(
                Anomaly(c, "null_spike", "error", f"<= {before + null_spike:.2%}", f"{now:.2%}", nulls[c])
            )
    data = [c for c in frame.columns if not c.startswith("_")]
    complete = frame.select(data).drop_nulls()  # rows with a null are not counted as repeats
    repeats = complete.height - complete.n_unique() if data else 0
    if repeats > max_duplicates * frame.height:
        out.append(
            Anomaly(
                "",
                "duplicate_spike",
                "error",
                f"<= {max_duplicates:.0%} of rows",
                f"{repeats / frame.height:.2%}",
                repeats,
            )
        )
    return out


def drifted_rows(frame: pl.DataFrame, drift: DriftReport) -> pl.DataFrame:
    """The rows of ``frame`` in the drifted slice: a value, in a drifted column, whose bin or category grew.

    Example:
        >>> ref = profile(pl.DataFrame({"c": ["a"] * 90 + ["b"] * 10}))
        >>> cur = pl.DataFrame({"c": ["a"] * 50 + ["b"] * 30 + ["new"] * 20})
        >>> drifted_rows(cur, compare_profiles(ref, profile(cur)))["c"].unique().sort().to_list()
        ['b', 'new']
    """
    conditions: list[pl.Expr] = []
    for name in drift.drifted:
        column = drift.columns[name]
        grew = [b for b, r, c in zip(column.bins, column.reference, column.current, strict=True) if c > r]
        if not grew or name not in frame.columns:
            continue
        if column.kind == "category":
            conditions.append(pl.col(name).cast(pl.String).is_in(pl.Series(grew, dtype=pl.String).implode()))
            continue
        value = _numeric_view(name, column.kind)
        for label in grew:
            low, high = (float(x) for x in label.strip("[)").split(", "))
            conditions.append((value >= low) & (value < high))
    if not conditions:
        return frame.clear()
    return frame.filter(pl.any_horizontal(conditions).fill_null(False))


def _numeric_view(name: str, kind: str) -> pl.Expr:
    if kind == "datetime":
        return pl.col(name).dt.epoch("ms").cast(pl.Float64) / 1000.0
    if kind == "text":
        return pl.col(name).cast(pl.String).str.len_chars().cast(pl.Float64)
    return pl.col(name).cast(pl.Float64)
