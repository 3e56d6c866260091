"""Transforms in the workspace: fitted once on a version, saved as versioned artifacts with lineage."""

from __future__ import annotations

import tempfile
from pathlib import Path

from datawheel.lineage import ArtifactInfo
from datawheel.pipeline._artifacts import artifact_path, save_artifact
from datawheel.pipeline._fingerprint import code_fingerprint
from datawheel.pipeline._record import run_step
from datawheel.store import check_dataset_name
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
            properties = {"transform": name, "fitted_on": version.ref, "digest": fitted.digest}
            return save_artifact(run, TRANSFORM, name, path, properties=properties)


def transform_path(workspace: Workspace, ref: str) -> Path:
    """The saved file of a transform version (``NAME`` for the latest, or ``NAME@N``).

    Copy it anywhere: ``Transform.load(path).apply(batch)`` needs no workspace.
    """
    return artifact_path(workspace, TRANSFORM, ref)


def load_transform(workspace: Workspace, ref: str) -> FittedTransform:
    """Load a transform version from the workspace (``NAME`` for the latest, or ``NAME@N``)."""
    return Transform.load(transform_path(workspace, ref))
