"""A content-addressed store of binary assets, keyed by their BLAKE3 digest."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import blake3

from datawheel.errors import StoreError

_CHUNK = 1 << 20
_Writer = Callable[[BinaryIO], object]


class BlobStore:
    """Stores each distinct content once, under ``root/<2 hex>/<62 hex>``.

    Writes go to a temporary file first and are renamed into place, so a crash never leaves a
    half-written blob under its digest.

    Example:
        >>> import tempfile
        >>> blobs = BlobStore(Path(tempfile.mkdtemp()))
        >>> digest = blobs.put(b"hello")
        >>> digest == blobs.put(b"hello"), blobs.get(digest), blobs.exists(digest)
        (True, b'hello', True)
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        """Where the blob with ``digest`` lives (whether or not it exists)."""
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise StoreError(
                f"'{digest}' is not a blob digest",
                hint="a digest is 64 lowercase hex characters (BLAKE3)",
            )
        return self.root / digest[:2] / digest[2:]

    def exists(self, digest: str) -> bool:
        """Whether a blob with ``digest`` is stored."""
        return self.path(digest).is_file()

    def put(self, data: bytes) -> str:
        """Store ``data``; return its digest. Storing the same bytes again costs nothing."""
        digest: str = blake3.blake3(data).hexdigest()
        if not self.exists(digest):
            self._install(digest, lambda out: out.write(data))
        return digest

    def put_file(self, path: Path) -> str:
        """Store the bytes of the file at ``path``, streaming; return their digest."""
        hasher = blake3.blake3()
        try:
            with path.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    hasher.update(chunk)
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror}", hint="check the path") from exc
        digest: str = hasher.hexdigest()
        if not self.exists(digest):
            self._install(digest, lambda out: _copy(path, out))
        return digest

    def get(self, digest: str) -> bytes:
        """The bytes of the blob with ``digest``."""
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError as exc:
            raise StoreError(
                f"no blob {digest} in {self.root}",
                hint="the blob store was pruned or copied without it; ingest the file again",
            ) from exc

    def _install(self, digest: str, write: _Writer) -> None:
        target = self.path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _copy(path: Path, out: BinaryIO) -> None:
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            out.write(chunk)
