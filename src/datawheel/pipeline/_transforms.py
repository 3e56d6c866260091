"""Transforms in the workspace: fitted once on a version, saved as versioned artifacts with lineage."""

from __future__ import annotations

import tempfile
from pathlib import Path

from datawheel.errors import RefError
from datawheel.lineage import ArtifactInfo
from datawheel.pipeline._fingerprint import code_fingerprint
from datawheel.pipeline._record import run_step
from datawheel.store import check_dataset_name, parse_ref
from datawheel.transform import FittedTransform, Transform
from datawheel.workspace import Workspace

TRANSFORM = "transform"


def fit_transform(workspace: Workspace, transform: Transform, ref: str, *, name: str) -> ArtifactInfo:
    """Fit ``transform`` on the version ``ref`` names and save it as the next version of ``name``.

    The fitted transform (one JSON file, in the blob store) becomes the artifact ``name@N`` of
    kind ``transform``, written by a ``fit-transform`` execution that read the version: its
    lineage reaches the data it learned from.

    Example:
        >>> import tempfile
        >>> import polars as pl
        >>> from datawheel.transform import Standardize
        >>> with Workspace.init(Path(tempfile.mkdtemp())) as ws:
        ...     _ = ws.commit("train", pl.DataFrame({"x": [1.0, 3.0]}))
        ...     saved = fit_transform(ws, Transform([Standardize("x")]), "train@1", name="scaler")
        ...     load_transform(ws, "scaler").apply(pl.DataFrame({"x": [2.0]}))["x"].to_list()
        [0.0]
    """
    check_dataset_name(name)
    version = workspace.resolve(ref)
    number = 1 + len(_versions(workspace, name))
    ops = [op.to_dict() for op in transform.ops]
    with run_step(
        workspace,
        "fit-transform",
        parameters={"name": name, "ops": ops},
        inputs=[workspace.lineage.artifact(version.artifact_id)],
        code_fingerprint=code_fingerprint(Transform.fit),
    ) as run:
        fitted = transform.fit(workspace.read(version), source={"dataset": version.ref})
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}.json"
            fitted.save(path)
            blob = workspace.blobs.put_file(path)
        artifact = workspace.lineage.add_artifact(
            TRANSFORM,
            f"{name}@{number}",
            digest=blob,
            uri=workspace.blobs.path(blob).as_uri(),
            properties={
                "transform": name,
                "version": number,
                "fitted_on": version.ref,
                "digest": fitted.digest,
            },
        )
        workspace.lineage.record_event(run.execution.id, artifact.id, "output")
    return artifact


def transform_path(workspace: Workspace, ref: str) -> Path:
    """The saved file of a transform version (``NAME`` for the latest, or ``NAME@N``).

    Copy it anywhere: ``Transform.load(path).apply(batch)`` needs no workspace.
    """
    parsed = parse_ref(ref)
    versions = _versions(workspace, parsed.name)
    if not versions:
        raise RefError(f"no transform '{parsed.name}'", hint="fit one with fit_transform")
    if parsed.version is None:
        return workspace.blobs.path(versions[-1].digest)
    if not 1 <= parsed.version <= len(versions):
        raise RefError(
            f"transform '{parsed.name}' has no version {parsed.version} (it has 1..{len(versions)})",
            hint="check the version",
        )
    return workspace.blobs.path(versions[parsed.version - 1].digest)


def load_transform(workspace: Workspace, ref: str) -> FittedTransform:
    """Load a transform version from the workspace (``NAME`` for the latest, or ``NAME@N``)."""
    return Transform.load(transform_path(workspace, ref))


def _versions(workspace: Workspace, name: str) -> list[ArtifactInfo]:
    found: list[ArtifactInfo] = []
    while True:
        matches = workspace.lineage.find_artifacts(TRANSFORM, f"{name}@{len(found) + 1}")
        if not matches:
            return found
        found.append(matches[-1])
