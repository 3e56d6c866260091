"""Pushing a bundle to a remote location and pulling it back, checked against its manifest.

A remote is a folder or an object-storage URI (``s3://bucket/prefix``, ``gs://…``,
``file:///…``), opened through Arrow's file systems. A bundle ``NAME`` lives at
``REMOTE/NAME/``. The manifest is written last on push, so a push cut short leaves no
manifest, and a pull refuses it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from datawheel.release._bundle import MANIFEST, ReleaseError, Verification, read_manifest, verify_bundle

_CHUNK = 1 << 20


def _open(remote: str) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    if "://" not in remote:
        path = Path(remote).expanduser().resolve()
        return pafs.LocalFileSystem(), path.as_posix()
    try:
        fs, path = pafs.FileSystem.from_uri(remote)
        return fs, str(path)
    except (ValueError, OSError) as exc:  # an unknown scheme, or no credentials
        raise ReleaseError(
            f"cannot open the remote '{remote}': {exc}", hint="pass a folder or an s3:// URI"
        ) from exc


def push_bundle(folder: Path, remote: str) -> str:
    """Copy the bundle to ``REMOTE/NAME/`` (the manifest last); return where it went.

    A bundle already on the remote under that name is left alone if identical, and refused
    if different: a release never changes.
    """
    manifest = read_manifest(folder)
    fs, base = _open(remote)
    target = f"{base.rstrip('/')}/{folder.name}"
    existing = _remote_manifest(fs, f"{target}/{MANIFEST}")
    if existing is not None:
        if existing == (folder / MANIFEST).read_bytes():
            return target
        raise ReleaseError(
            f"{remote} already holds a different release '{folder.name}'",
            hint="releases never change: release under a new name",
        )
    fs.create_dir(target, recursive=True)
    for name in manifest["files"]:
        _copy_out(fs, folder / name, f"{target}/{name}")
    _copy_out(fs, folder / MANIFEST, f"{target}/{MANIFEST}")
    return target


def pull_bundle(remote: str, name: str, into: Path) -> tuple[Path, Verification]:
    """Copy ``REMOTE/NAME/`` into ``into/NAME`` and verify it against its manifest.

    Nothing is left in ``into`` unless the bundle verifies.
    """
    fs, base = _open(remote)
    source = f"{base.rstrip('/')}/{name}"
    raw = _remote_manifest(fs, f"{source}/{MANIFEST}")
    if raw is None:
        raise ReleaseError(
            f"{remote} holds no release '{name}' (no {MANIFEST})", hint="check the name and the remote"
        )
    target = into / name
    if target.exists():
        raise ReleaseError(f"{target} already exists", hint="pull into another folder, or remove it first")
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=into) as tmp:
        staged = Path(tmp) / name
        staged.mkdir()
        (staged / MANIFEST).write_bytes(raw)
        for file in read_manifest(staged)["files"]:
            _copy_in(fs, f"{source}/{file}", staged / file)
        verification = verify_bundle(staged)
        if not verification.ok:
            first = verification.problems[0]
            raise ReleaseError(
                f"the release '{name}' on {remote} fails its manifest: {first.file}: {first.problem}"
                + (f" (and {len(verification.problems) - 1} more)" if len(verification.problems) > 1 else ""),
                hint="push the release again from a workspace that verifies",
            )
        shutil.move(staged, target)
    return target, verify_bundle(target)


def _remote_manifest(fs: Any, path: str) -> bytes | None:
    import pyarrow.fs as pafs

    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(path) as stream:
        return bytes(stream.read())


def _copy_out(fs: Any, source: Path, target: str) -> None:
    parent = target.rsplit("/", 1)[0]
    fs.create_dir(parent, recursive=True)
    with source.open("rb") as handle, fs.open_output_stream(target) as out:
        while chunk := handle.read(_CHUNK):
            out.write(chunk)


def _copy_in(fs: Any, source: str, target: Path) -> None:
    import pyarrow.fs as pafs

    if fs.get_file_info(source).type != pafs.FileType.File:
        return  # left missing: the verification names it
    target.parent.mkdir(parents=True, exist_ok=True)
    with fs.open_input_stream(source) as stream, target.open("wb") as out:
        while chunk := stream.read(_CHUNK):
            out.write(chunk)
