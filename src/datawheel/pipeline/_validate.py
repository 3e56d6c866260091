"""Validation in the workspace: saved profiles, contracts, drift, and monitoring that feeds labelling.

A profile of a version is saved as the artifact ``NAME@N`` of kind ``profile`` (one JSON file,
sketches included), written by a ``profile`` execution that read the version. Drift and
monitoring load the saved profile of a version when there is one, and profile it otherwise.
On an alert, monitoring can commit the rows of the drifted slice as a dataset to label
(e.g. ``adult.to_label``), with lineage back to the batches: the flywheel turning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from datawheel.errors import IngestError, ValidationError
from datawheel.ingest import ReadOptions, read_frame
from datawheel.lineage import ArtifactInfo, VersionInfo
from datawheel.pipeline._artifacts import artifact_versions, save_artifact
from datawheel.pipeline._fingerprint import code_fingerprint
from datawheel.pipeline._record import StepRun, run_step
from datawheel.store import ROW_ID, SOURCE
from datawheel.validate import (
    Contract,
    DriftReport,
    MonitorReport,
    Profile,
    ValidationResult,
    check_contract,
    compare_profiles,
    compare_slices,
    drifted_rows,
    infer_contract,
    load_profile,
    monitor,
    profile,
)
from datawheel.workspace import Workspace

PROFILE = "profile"
CONTRACT = "contract"


@dataclass(frozen=True)
class SavedProfile:
    """A version's profile and the artifact it was saved as."""

    version: VersionInfo
    profile: Profile
    artifact: ArtifactInfo


@dataclass(frozen=True)
class MonitorRun:
    """A monitoring report, and the dataset version opened for labelling on alert (if any)."""

    report: MonitorReport
    to_label: VersionInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of ``monitor``: the report's, plus ``to_label`` (a ref or null)."""
        return {**self.report.to_dict(), "to_label": self.to_label.ref if self.to_label else None}


def profile_version(workspace: Workspace, ref: str, *, label: str | None = None) -> SavedProfile:
    """Profile a version and save the profile as the next ``profile`` artifact named after the dataset.

    Example:
        >>> import tempfile
        >>> with Workspace.init(Path(tempfile.mkdtemp())) as ws:
        ...     _ = ws.commit("t", pl.DataFrame({"x": [1, 2, 3]}))
        ...     saved = profile_version(ws, "t")
        ...     saved.artifact.name, saved.profile.columns["x"].mean, version_profile(ws, "t@1").rows
        ('t@1', 2.0, 3)
    """
    version = workspace.resolve(ref)
    with run_step(
        workspace,
        "profile",
        parameters={"label": label},
        code_fingerprint=code_fingerprint(profile),
    ) as run:
        frame = run.read(version.ref)
        result = profile(frame, label=label)
        properties = {"profiled": version.ref, "rows": result.rows, "label": label}
        artifact = save_artifact(
            run, PROFILE, version.dataset, result.to_bytes(), suffix=".json", properties=properties
        )
    return SavedProfile(version, result, artifact)


def version_profile(workspace: Workspace, ref: str) -> Profile:
    """The saved profile of the version ``ref`` names, else a new one (not saved)."""
    version = workspace.resolve(ref)
    for artifact in reversed(artifact_versions(workspace, PROFILE, version.dataset)):
        if artifact.properties.get("profiled") == version.ref:
            return load_profile(workspace.blobs.path(artifact.digest))
    return profile(workspace.read(version))


def read_target(
    workspace: Workspace | None, target: str, *, options: ReadOptions | None = None
) -> pl.DataFrame:
    """The rows of a file (any format datawheel reads), or of the version a ref names."""
    path = Path(target)
    if path.is_file() or path.is_dir():
        return _read_file(path, options=options)
    if workspace is None:
        raise ValidationError(f"no file {target}", hint="give a file, or run in a workspace to use a ref")
    return workspace.read(target)


def _read_file(path: Path, *, options: ReadOptions | None = None) -> pl.DataFrame:
    try:
        return read_frame(path, options=options)
    except IngestError as exc:
        raise ValidationError(
            f"cannot read {path}: {exc.message}", hint=exc.hint or "check the file"
        ) from exc


def infer_version_contract(workspace: Workspace, ref: str, output: Path) -> tuple[Contract, ArtifactInfo]:
    """Draft a contract from a version's profile; write it to ``output`` and save it as a ``contract``."""
    version = workspace.resolve(ref)
    with run_step(
        workspace,
        "contract-infer",
        inputs=[workspace.lineage.artifact(version.artifact_id)],
        code_fingerprint=code_fingerprint(infer_contract),
    ) as run:
        contract = infer_contract(version_profile(workspace, version.ref))
        contract.save(output)
        artifact = save_artifact(
            run, CONTRACT, version.dataset, output, suffix=".yaml", properties={"inferred_from": version.ref}
        )
    return contract, artifact


def validate_target(workspace: Workspace | None, target: str, contract: Contract) -> ValidationResult:
    """Check a file or a version against ``contract`` (a version's check is recorded in lineage)."""
    path = Path(target)
    if workspace is None or path.is_file() or path.is_dir():
        return check_contract(read_target(workspace, target), contract)
    version = workspace.resolve(target)
    with run_step(workspace, "validate", code_fingerprint=code_fingerprint(check_contract)) as run:
        result = check_contract(run.read(version.ref), contract)  # the execution records the read
    return result


def drift_versions(
    workspace: Workspace,
    reference: str,
    current: str,
    *,
    contract: Contract | None = None,
    tests: bool = False,
) -> DriftReport:
    """Drift of ``current`` against ``reference`` (refs or files), from saved profiles where there are."""
    thresholds = contract.thresholds() if contract else None
    return compare_profiles(
        _profile_of(workspace, reference), _profile_of(workspace, current), thresholds=thresholds, tests=tests
    )


def drift_slices(
    workspace: Workspace, reference: str, current: str, *, by: str, contract: Contract | None = None
) -> dict[str, DriftReport]:
    """Drift per value of the column ``by`` (see :func:`datawheel.validate.compare_slices`)."""
    thresholds = contract.thresholds() if contract else None
    ref, cur = (_data(read_target(workspace, t)) for t in (reference, current))
    return compare_slices(ref, cur, by=by, thresholds=thresholds)


def monitor_batches(
    workspace: Workspace,
    reference: str,
    batches: list[str],
    *,
    contract: Contract | None = None,
    label_on_alert: str | None = None,
) -> MonitorRun:
    """Monitor batches (files or refs) against a reference version; on alert, open a labelling batch.

    The rows of each alerting batch's drifted slice are committed as the next version of
    ``label_on_alert`` (with a ``monitor_batch`` column naming their batch), by a ``monitor``
    execution that read the reference and the batches.
    """
    if not batches:
        raise ValidationError("no batch to monitor", hint="give one or more files or refs after the options")
    with run_step(
        workspace,
        "monitor",
        parameters={"reference": reference, "batches": batches, "label_on_alert": label_on_alert},
        code_fingerprint=code_fingerprint(monitor),
    ) as run:
        base = version_profile(workspace, reference)
        if base.rows == 0:
            raise ValidationError(
                f"the reference {reference} has no rows", hint="monitor against a non-empty version"
            )
        run.use(workspace.lineage.artifact(workspace.resolve(reference).artifact_id), role="reference")
        frames = [(name, _read_batch(run, name)) for name in batches]
        report = monitor(base, frames, contract=contract)
        to_label = None
        if report.alert and label_on_alert:
            to_label = _open_labelling(run, report, frames, label_on_alert)
    return MonitorRun(report, to_label)


def _read_batch(run: StepRun, name: str) -> pl.DataFrame:
    path = Path(name)
    if path.is_file() or path.is_dir():
        return _data(_read_file(path))
    return run.read(name, role="batch")


def _open_labelling(
    run: StepRun, report: MonitorReport, frames: list[tuple[str, pl.DataFrame]], name: str
) -> VersionInfo | None:
    parts = []
    for check, (batch, frame) in zip(report.batches, frames, strict=True):
        if check.alert and check.drift is not None:
            rows = drifted_rows(frame, check.drift)
            parts.append(rows.drop(SOURCE, strict=False).with_columns(pl.lit(batch).alias("monitor_batch")))
    parts = [p for p in parts if p.height]
    if not parts:
        return None
    rows = pl.concat(parts, how="diagonal_relaxed")
    return run.commit(name, rows, message=f"drifted rows to label, from {len(parts)} batches")


def _profile_of(workspace: Workspace, target: str) -> Profile:
    path = Path(target)
    if path.is_file() or path.is_dir():
        return profile(_read_file(path))
    return version_profile(workspace, target)


def _data(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop([c for c in frame.columns if c.startswith("_") and c != ROW_ID])
