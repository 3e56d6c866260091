"""Cleaning steps in the workspace: kept rows become the next version, the rest go to NAME.removed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from datawheel.errors import CleanError
from datawheel.lineage import VersionInfo
from datawheel.pipeline._fingerprint import code_fingerprint
from datawheel.pipeline._record import StepRun, run_step
from datawheel.pipeline._replay import replayable
from datawheel.store import ROW_HASH, ROW_ID
from datawheel.workspace import Workspace

REMOVED_SUFFIX = ".removed"


@dataclass(frozen=True)
class Cleaned:
    """What a cleaning capability returns to the workspace.

    Rows kept, rows removed (with a ``reason`` column), and statistics for the report.
    """

    kept: pl.DataFrame
    removed: pl.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, pl.DataFrame] = field(default_factory=dict)  # more outputs, e.g. PII findings


@dataclass(frozen=True)
class CleanReport:
    """What a cleaning step committed: rows in = kept + removed, always."""

    step: str
    version: VersionInfo
    rows_in: int
    kept: int
    removed: int
    removed_version: VersionInfo | None
    stats: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)  # output name -> ref

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of a cleaning step."""
        return {
            **self.stats,
            "step": self.step,
            "dataset": self.version.dataset,
            "version": self.version.version,
            "ref": self.version.ref,
            "rows_in": self.rows_in,
            "kept": self.kept,
            "removed": self.removed,
            "removed_ref": self.removed_version.ref if self.removed_version else None,
            "outputs": self.extra,
            "execution": self.version.execution_id,
        }


def removed_name(name: str) -> str:
    """The dataset that holds the rows cleaning steps took out of ``name``."""
    return f"{name}{REMOVED_SUFFIX}"


def clean(
    workspace: Workspace,
    ref: str,
    *,
    step: str,
    parameters: dict[str, Any],
    capability: Callable[[pl.DataFrame], Cleaned],
    message: str,
) -> CleanReport:
    """Run a cleaning capability on a version and commit what it keeps, recorded in lineage.

    The kept rows (with their row ids) become the next version of the dataset; the removed rows
    are appended to ``NAME.removed`` with their original row id, the step, the execution and
    the reason, so nothing vanishes. Extra outputs (e.g. PII findings) become ``NAME.OUTPUT``.
    """
    version = workspace.resolve(ref)
    with run_step(
        workspace, step, parameters=parameters, code_fingerprint=code_fingerprint(capability)
    ) as run:
        frame = run.read(version.ref)
        result = capability(frame)
        if result.kept.height + result.removed.height != frame.height:
            raise CleanError(
                f"step {step} kept {result.kept.height} and removed {result.removed.height} "
                f"of {frame.height} rows",
                hint="report this as a bug: rows in must equal rows kept plus rows removed",
            )
        kept = run.commit(version.dataset, result.kept, message=message)
        gone = (
            _commit_removed(workspace, run, version.dataset, result.removed, step)
            if result.removed.height
            else None
        )
        extra = {
            name: run.commit(f"{version.dataset}.{name}", table, message=f"{step}: {name}").ref
            for name, table in result.extra.items()
        }
    return CleanReport(
        step, kept, frame.height, result.kept.height, result.removed.height, gone, result.stats, extra
    )


def set_aside(removed: pl.DataFrame) -> pl.DataFrame:
    """Removed rows as a table of their own: their old ids kept as ``removed_row_id``, not as ids."""
    rows = removed.drop(ROW_HASH, strict=False)
    return rows.rename({ROW_ID: "removed_row_id"}) if ROW_ID in rows.columns else rows


def findings_table(findings: pl.DataFrame) -> pl.DataFrame:
    """PII findings as a table of their own: a row with two findings would repeat its ``_row_id``."""
    return findings.rename({ROW_ID: "source_row_id"}) if ROW_ID in findings.columns else findings


def _commit_removed(
    workspace: Workspace, run: StepRun, name: str, removed: pl.DataFrame, step: str
) -> VersionInfo:
    rows = set_aside(removed).with_columns(
        pl.lit(step).alias("step"), pl.lit(run.execution.id, pl.Int64).alias("execution")
    )
    target = removed_name(name)
    if any(d.name == target for d in workspace.datasets()):
        earlier = workspace.read(target).drop(ROW_ID, ROW_HASH, strict=False)
        rows = pl.concat([earlier, rows], how="diagonal_relaxed")
    return run.commit(target, rows, message=f"rows {step} took out of {name}")


@replayable()
def filter_dataset(workspace: Workspace, ref: str, *, column: str, **options: Any) -> CleanReport:
    """Drop low-quality rows (see ``datawheel.clean.quality_filter``); each removed row keeps its reason."""
    from datawheel.clean import quality_filter

    def capability(frame: pl.DataFrame) -> Cleaned:
        result = quality_filter(frame, column, **options)
        return Cleaned(result.kept, result.removed, result.to_dict())

    return clean(
        workspace,
        ref,
        step="filter",
        parameters={"column": column, **options},
        capability=capability,
        message=f"quality filter on {column}",
    )


@replayable()
def anonymize_dataset(
    workspace: Workspace,
    ref: str,
    *,
    quasi_identifiers: list[str],
    k: int,
    generalize: dict[str, dict[str, Any]] | None = None,
    max_suppression: int | float | None = None,
) -> CleanReport:
    """Make a version k-anonymous on its quasi-identifiers (see ``datawheel.clean.k_anonymize``)."""
    from datawheel.clean import k_anonymize

    def capability(frame: pl.DataFrame) -> Cleaned:
        result = k_anonymize(
            frame, quasi_identifiers, k=k, generalize=generalize, max_suppression=max_suppression
        )
        return Cleaned(result.kept, result.removed, result.to_dict())

    parameters = {
        "quasi_identifiers": quasi_identifiers,
        "k": k,
        "generalize": generalize or {},
        "max_suppression": max_suppression,
    }
    return clean(
        workspace,
        ref,
        step="anonymize",
        parameters=parameters,
        capability=capability,
        message=f"{k}-anonymous on {', '.join(quasi_identifiers)}",
    )


@replayable()
def dedup_dataset(
    workspace: Workspace,
    ref: str,
    *,
    column: str,
    threshold: float = 0.8,
    exact: bool = False,
    **options: Any,
) -> CleanReport:
    """Drop exact or near duplicates of ``column`` (see ``datawheel.clean``).

    Each removed row names the kept row it duplicates (``duplicate_of``, a ``_row_id``) and the
    similarity.
    """
    from datawheel.clean import exact_duplicates, near_duplicates

    def capability(frame: pl.DataFrame) -> Cleaned:
        if exact:
            result = exact_duplicates(frame, column, **options)
        else:
            result = near_duplicates(frame, column, threshold=threshold, **options)
        return Cleaned(result.kept, result.removed, result.to_dict())

    parameters = {"column": column, "threshold": None if exact else threshold, "exact": exact, **options}
    what = "exact duplicates" if exact else f"near duplicates (Jaccard >= {threshold})"
    return clean(
        workspace, ref, step="dedup", parameters=parameters, capability=capability, message=f"drop {what}"
    )


@replayable(secrets=("salt",))
def redact_dataset(
    workspace: Workspace,
    ref: str,
    *,
    column: str,
    mode: str = "mask",
    salt: str | None = None,
    types: list[str] | None = None,
) -> CleanReport:
    """Redact PII in ``column`` (see ``datawheel.clean.redact``); no row is removed.

    Where PII was (row, type, offsets, detector; never the value) goes to ``NAME.pii_findings``.
    The salt is recorded only as given or not, never its value.
    """
    from datawheel.clean import redact

    def capability(frame: pl.DataFrame) -> Cleaned:
        result = redact(frame, column, mode=mode, salt=salt, types=types)  # type: ignore[arg-type]
        findings = findings_table(result.findings.table)
        return Cleaned(result.frame, frame.clear(), result.to_dict(), {"pii_findings": findings})

    parameters = {"column": column, "mode": mode, "types": types, "salt": "given" if salt else None}
    return clean(
        workspace,
        ref,
        step="redact",
        parameters=parameters,
        capability=capability,
        message=f"redact PII ({mode})",
    )
