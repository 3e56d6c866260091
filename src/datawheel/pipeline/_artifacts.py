"""Files as versioned artifacts: a model, a profile, a contract, a report saved as ``NAME@N`` of a kind.

The bytes go to the blob store (content-addressed, BLAKE3); the lineage record gets an
artifact of the kind, named ``NAME@N``, whose ``uri`` is the blob's path. An execution that
wrote it records it as its output, so lineage reaches the data it was made from.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from datawheel.errors import RefError
from datawheel.lineage import ArtifactInfo
from datawheel.pipeline._record import StepRun
from datawheel.store import check_dataset_name, parse_ref
from datawheel.workspace import Workspace


def save_artifact(
    run: StepRun,
    kind: str,
    name: str,
    data: bytes | Path,
    *,
    suffix: str = "",
    properties: dict[str, Any] | None = None,
) -> ArtifactInfo:
    """Save ``data`` (bytes or a file) as the next version of the ``kind`` artifact ``name``.

    The artifact is recorded as an output of ``run``'s execution. Its properties hold
    ``name``, ``version`` and whatever else is given.

    Example:
        >>> import tempfile
        >>> from datawheel.pipeline import run_step
        >>> with Workspace.init(Path(tempfile.mkdtemp())) as ws:
        ...     with run_step(ws, "profile") as run:
        ...         saved = save_artifact(run, "profile", "sms-profile", b"{}", suffix=".json")
        ...     saved.name, artifact_path(ws, "profile", "sms-profile").read_bytes()
        ('sms-profile@1', b'{}')
    """
    check_dataset_name(name)
    workspace = run.workspace
    number = 1 + len(artifact_versions(workspace, kind, name))
    if isinstance(data, Path):
        blob = workspace.blobs.put_file(data)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}{suffix}"
            path.write_bytes(data)
            blob = workspace.blobs.put_file(path)
    artifact = workspace.lineage.add_artifact(
        kind,
        f"{name}@{number}",
        digest=blob,
        uri=workspace.blobs.path(blob).as_uri(),
        properties={"name": name, "version": number, **(properties or {})},
    )
    workspace.lineage.record_event(run.execution.id, artifact.id, "output")
    return artifact


def artifact_versions(workspace: Workspace, kind: str, name: str) -> list[ArtifactInfo]:
    """The versions of the ``kind`` artifact ``name``, oldest first."""
    found: list[ArtifactInfo] = []
    while True:
        matches = workspace.lineage.find_artifacts(kind, f"{name}@{len(found) + 1}")
        if not matches:
            return found
        found.append(matches[-1])


def resolve_artifact(workspace: Workspace, kind: str, ref: str) -> ArtifactInfo:
    """The artifact ``ref`` names (``NAME`` for the latest version, or ``NAME@N``)."""
    parsed = parse_ref(ref)
    versions = artifact_versions(workspace, kind, parsed.name)
    if not versions:
        raise RefError(
            f"no {kind} '{parsed.name}'",
            hint=f"check the name; a {kind} is saved by the command that makes it",
        )
    if parsed.version is None:
        return versions[-1]
    if not 1 <= parsed.version <= len(versions):
        raise RefError(
            f"{kind} '{parsed.name}' has no version {parsed.version} (it has 1..{len(versions)})",
            hint="check the version",
        )
    return versions[parsed.version - 1]


def artifact_path(workspace: Workspace, kind: str, ref: str) -> Path:
    """The stored file of the ``kind`` artifact ``ref`` names."""
    return workspace.blobs.path(resolve_artifact(workspace, kind, ref).digest)
