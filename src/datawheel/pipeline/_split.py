"""Splits in the workspace: the split becomes a version of ``NAME.split``, with lineage and a leakage check.

Naming: splitting a version of ``NAME`` commits every row, with a ``split`` column, as the next
version of ``NAME.split`` (splitting a ``NAME.split`` version again writes to ``NAME.split``
too). The source dataset's history stays the data itself, and the splits of its successive
versions line up as ``NAME.split@1``, ``NAME.split@2``…, each with lineage to the version it
split. Exported files (one per split) are recorded in lineage as ``file`` artifacts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl

from datawheel.errors import SplitError
from datawheel.lineage import VersionInfo
from datawheel.pipeline._fingerprint import code_fingerprint
from datawheel.pipeline._record import StepRun, run_step
from datawheel.pipeline._replay import replayable
from datawheel.split import GAP, SPLIT_COLUMN, LeakageReport, SplitReport, check_leakage, split_frame
from datawheel.store import ROW_HASH, ROW_ID, ExportFormat, write_frame
from datawheel.workspace import Workspace

SPLIT_SUFFIX = ".split"


@dataclass(frozen=True)
class SplitVersion:
    """What a split step committed: the version, its input, the report and the leakage found."""

    version: VersionInfo
    input: VersionInfo
    report: SplitReport
    leakage: LeakageReport
    exports: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of ``datawheel split``: ``version`` and ``splits`` at least."""
        return {
            "dataset": self.version.dataset,
            "version": self.version.version,
            "ref": self.version.ref,
            "input": self.input.ref,
            **self.report.to_dict(),
            "leakage": self.leakage.to_dict(),
            "exports": self.exports,
            "execution": self.version.execution_id,
        }


def split_name(name: str) -> str:
    """The dataset that holds the splits of ``name``.

    Example:
        >>> split_name("sms"), split_name("sms.split")
        ('sms.split', 'sms.split')
    """
    return name if name.endswith(SPLIT_SUFFIX) else f"{name}{SPLIT_SUFFIX}"


@replayable(outside=("export",))
def split_dataset(
    workspace: Workspace,
    ref: str,
    ratios: Sequence[float],
    *,
    names: Sequence[str] | None = None,
    stratify: Sequence[str] | None = None,
    group: str | None = None,
    multilabel: Sequence[str] | None = None,
    time: str | None = None,
    cutoffs: Sequence[Any] | None = None,
    gap: str | float | timedelta | None = None,
    stable: bool = False,
    seed: int = 0,
    bins: int = 10,
    content: Sequence[str] | None = None,
    near: str | None = None,
    near_threshold: float = 0.8,
    export: Path | None = None,
    export_format: ExportFormat = "parquet",
) -> SplitVersion:
    """Split a version (see ``datawheel.split.split_frame``), commit it to ``NAME.split``, check leakage.

    The leakage check compares exact content (``content`` columns, default all data columns),
    the ``group`` column when given, and near-duplicates of the ``near`` text column (MinHash,
    ``datawheel.clean.near_duplicates``) when given. With ``export``, each split is also written
    to ``EXPORT/SPLIT.FORMAT`` with its data columns.

    Example:
        >>> import tempfile
        >>> with Workspace.init(Path(tempfile.mkdtemp())) as ws:
        ...     _ = ws.commit("sms", pl.DataFrame({"label": ["spam"] * 30 + ["ham"] * 70, "n": range(100)}))
        ...     done = split_dataset(ws, "sms", [0.6, 0.2, 0.2], stratify=["label"])
        ...     done.version.ref, done.to_dict()["splits"]["dev"]["classes"]
        ('sms.split@1', {'ham': 14, 'spam': 6})
    """
    source = workspace.resolve(ref)
    parameters: dict[str, Any] = {
        "input": source.ref,
        "ratios": list(ratios),
        "names": list(names) if names else None,
        "stratify": list(stratify or []),
        "group": group,
        "multilabel": list(multilabel or []),
        "time": time,
        "cutoffs": [str(c) for c in cutoffs] if cutoffs else None,
        "gap": None if gap is None else str(gap),
        "stable": stable,
        "seed": seed,
        "bins": bins,
        "near": near,
        "near_threshold": near_threshold if near else None,
    }
    with run_step(
        workspace, "split", parameters=parameters, code_fingerprint=code_fingerprint(split_frame)
    ) as run:
        frame = run.read(source.ref).drop(ROW_HASH, strict=False)
        result = split_frame(
            frame,
            ratios,
            names=names,
            stratify=stratify,
            group=group,
            multilabel=multilabel,
            time=time,
            cutoffs=cutoffs,
            gap=gap,
            stable=stable,
            seed=seed,
            bins=bins,
        )
        leakage = check_leakage(
            result.frame,
            content=content,
            group=group,
            near_pairs=_near_pairs(result.frame, near, near_threshold) if near else None,
        )
        version = run.commit(
            split_name(source.dataset), result.frame, message=f"{result.report.mode} split of {source.ref}"
        )
        exports = _export(run, result.frame, result.report.names, export, export_format) if export else {}
    return SplitVersion(version, source, result.report, leakage, exports)


def _near_pairs(frame: pl.DataFrame, column: str, threshold: float) -> pl.DataFrame:
    """Near-duplicate pairs of ``column`` as row ids ``a`` (the duplicate) and ``b`` (its representative)."""
    from datawheel.clean import near_duplicates

    if column not in frame.columns:
        raise SplitError(
            f"no column {column!r} for the near-duplicate check", hint="pass a text column to --near"
        )
    found = near_duplicates(frame.drop(SPLIT_COLUMN), column, threshold=threshold).removed
    return found.select(
        pl.col(ROW_ID).alias("a"), pl.col("duplicate_of").alias("b"), pl.col("similarity").round(4)
    )


def _export(
    run: StepRun, frame: pl.DataFrame, names: Sequence[str], folder: Path, fmt: ExportFormat
) -> dict[str, str]:
    """Write each split's data columns to ``folder/NAME.FORMAT``; record each file in lineage."""
    written: dict[str, str] = {}
    suffix = {"parquet": ".parquet", "csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl"}[fmt]
    data = [c for c in frame.columns if not c.startswith("_") and c != SPLIT_COLUMN]
    for name in [*names, GAP]:
        part = frame.filter(pl.col(SPLIT_COLUMN) == name).select(data)
        if name == GAP and part.height == 0:
            continue
        path = (folder / f"{name}{suffix}").resolve()
        write_frame(part, path)
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        artifact = run.workspace.lineage.add_artifact(
            "file",
            str(path),
            digest=digest,
            uri=path.as_uri(),
            properties={"split": name, "rows": part.height},
        )
        run.workspace.lineage.record_event(run.execution.id, artifact.id, "output")
        written[name] = str(path)
    return written
