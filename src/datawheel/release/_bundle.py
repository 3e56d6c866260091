"""A release bundle on disk: its files, their BLAKE3 checksums in ``manifest.json``, and the check.

A bundle is a folder. ``manifest.json`` lists every other file with its size and BLAKE3
checksum; :func:`verify_bundle` recomputes them and reports each file that is missing,
changed, or not in the manifest. The manifest itself is checked for shape.
"""

from __future__ import annotations

import gzip
import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import blake3

from datawheel.errors import DatawheelError

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
_CHUNK = 1 << 20


class ReleaseError(DatawheelError):
    """A release cannot be made, read, verified, pushed or pulled."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a bundle: the file (relative to the bundle) and what is wrong."""

    file: str
    problem: str

    def to_dict(self) -> dict[str, str]:
        """The ``--json`` shape of a problem."""
        return {"file": self.file, "problem": self.problem}


@dataclass(frozen=True)
class Verification:
    """The result of checking a bundle against its manifest."""

    bundle: Path
    files: int
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when every file is present, unchanged, and listed."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape: ``ok``, ``problems``, and the files checked."""
        return {
            "ok": self.ok,
            "bundle": str(self.bundle),
            "files": self.files,
            "problems": [p.to_dict() for p in self.problems],
        }


def file_checksum(path: Path) -> str:
    """The BLAKE3 checksum of a file, as 64 hex digits."""
    hasher = blake3.blake3()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return str(hasher.hexdigest())


def bundle_files(folder: Path) -> dict[str, dict[str, Any]]:
    """Every file of the bundle but the manifest, with its size and checksum, in path order."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    return {
        p.relative_to(folder).as_posix(): {"bytes": p.stat().st_size, "blake3": file_checksum(p)}
        for p in files
    }


def write_manifest(folder: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    r"""Write ``manifest.json``: the given fields plus ``files`` (every other file's checksum).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "data.csv").write_text("a\\n1\\n")
        >>> written = write_manifest(folder, {"release": "v1"})
        >>> list(written["files"]), verify_bundle(folder).ok
        (['data.csv'], True)
    """
    full = {"format": MANIFEST_FORMAT, **manifest, "files": bundle_files(folder)}
    (folder / MANIFEST).write_text(json.dumps(full, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return full


def read_manifest(folder: Path) -> dict[str, Any]:
    """The bundle's manifest, checked for shape."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ReleaseError(f"{folder} holds no {MANIFEST}", hint="pass the folder a release wrote")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReleaseError(
            f"{path} is not valid JSON: {exc}", hint="the bundle is damaged; pull it again"
        ) from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ReleaseError(f"{path} lists no files", hint="the bundle is damaged; pull it again")
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ReleaseError(
            f"{path} has manifest format {manifest.get('format')!r}; this datawheel reads {MANIFEST_FORMAT}",
            hint="upgrade datawheel to read this bundle",
        )
    return manifest


def verify_bundle(folder: Path) -> Verification:
    """Check every file of a bundle against its manifest: present, same size, same checksum.

    Files on disk that the manifest does not list are problems too: a bundle is exactly
    what was released.
    """
    manifest = read_manifest(folder)
    listed: dict[str, Any] = manifest["files"]
    problems = []
    for name, expected in listed.items():
        path = folder / name
        if not path.is_file():
            problems.append(Problem(name, "missing"))
        elif path.stat().st_size != expected.get("bytes"):
            problems.append(
                Problem(name, f"size {path.stat().st_size} bytes, expected {expected.get('bytes')}")
            )
        elif file_checksum(path) != expected.get("blake3"):
            problems.append(Problem(name, "checksum differs: the file was changed"))
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    problems += [Problem(name, "not in the manifest") for name in sorted(on_disk - set(listed) - {MANIFEST})]
    return Verification(folder, len(listed), tuple(problems))


def pack_bundle(folder: Path, archive: Path | None = None) -> Path:
    """Write the bundle as one ``.tar.gz``, byte for byte the same for the same files."""
    target = archive or folder.with_name(f"{folder.name}.tar.gz")

    def fixed(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
        return info

    with (
        target.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=f"{folder.name}/{path.relative_to(folder).as_posix()}", filter=fixed)
    return target


def unpack_bundle(archive: Path, into: Path) -> Path:
    """Unpack a bundle archive into ``into``; return the bundle folder."""
    with tarfile.open(archive, "r:gz") as tar:
        names = {Path(m.name).parts[0] for m in tar.getmembers()}
        if len(names) != 1:
            raise ReleaseError(
                f"{archive} holds no single bundle folder", hint="pass an archive a release wrote"
            )
        tar.extractall(into, filter="data")
    return into / names.pop()
