"""Compressed files (gzip, bzip2, xz, zstd): told by their first bytes, read through a plain copy.

Datasets often ship as ``train.csv.gz`` or ``docs.jsonl.zst``. Every reader reads a plain file
(Polars and the survey need one to seek in), so the file is decompressed as it streams, a
block at a time, into a scratch folder that goes once the rows are read. What the user sees
names the file as given: the rows' ``_source``, the quarantine's ``file`` and every error;
line numbers count the decompressed text's lines; the digest is the given file's bytes.
"""

from __future__ import annotations

import bz2
import lzma
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, cast

import polars as pl
import pyarrow as pa
from zlib_ng import gzip_ng, zlib_ng

from datawheel.errors import IngestError
from datawheel.ingest._batch import Batch, Reading

_BLOCK = 8 << 20
_BZIP2_BLOCK = b"1AY&SY"  # after "BZh" and the block size digit: bzip2's first block starts so
_MAGIC = {b"\x1f\x8b": "gzip", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd"}
_SUFFIXES = (".gz", ".gzip", ".bz2", ".xz", ".zst", ".zstd")
_BROKEN: tuple[type[Exception], ...] = (
    OSError,
    EOFError,
    cast("type[Exception]", zlib_ng.error),  # a class, which zlib-ng's stub declares as an instance
    lzma.LZMAError,
    pa.ArrowException,
)
"""What a stream raises on a file cut short or corrupt (gzip.BadGzipFile is an OSError)."""


def compression_of(path: Path) -> str | None:
    r"""The codec a file is compressed with (``gzip``, ``bzip2``, ``xz``, ``zstd``), by its first bytes.

    The bytes decide, not the name: a ``.gz`` that is plain text is read as text.

    Example:
        >>> import gzip, tempfile
        >>> p = Path(tempfile.mkdtemp()) / "t.csv"
        >>> _ = p.write_bytes(gzip.compress(b"a,b\\n1,2\\n"))
        >>> compression_of(p), compression_of(p.with_name("absent.csv"))
        ('gzip', None)
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(10)
    except OSError:
        return None
    for magic, codec in _MAGIC.items():
        if head.startswith(magic):
            return codec
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] == _BZIP2_BLOCK:
        return "bzip2"
    return None


def plain_name(path: Path) -> str:
    """The file's name without its compression suffix, whose own suffix tells the format.

    Example:
        >>> plain_name(Path("data/train.csv.gz")), plain_name(Path("dump.zst"))
        ('train.csv', 'dump')
    """
    return path.stem if path.suffix.lower() in _SUFFIXES else path.name


class _Stream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None, /
    ) -> object: ...


def _open(path: Path, codec: str) -> _Stream:
    """A stream of the decompressed bytes (every member or frame of the file, one after another).

    gzip is inflated by zlib-ng, some 2.5 times faster than the standard library's zlib
    (``benchmarks/ingest_csv.py --gzip``).
    """
    if codec == "gzip":
        return cast(_Stream, gzip_ng.open(path, "rb"))  # type: ignore[no-untyped-call]
    if codec == "bzip2":
        return bz2.open(path, "rb")
    if codec == "xz":
        return lzma.open(path, "rb")
    stream: _Stream = pa.CompressedInputStream(pa.OSFile(str(path)), "zstd")
    return stream


def head(path: Path, codec: str, size: int) -> bytes:
    """The first ``size`` decompressed bytes (fewer if the file holds fewer, or stops short)."""
    try:
        with _open(path, codec) as stream:
            return stream.read(size)
    except _BROKEN:
        return b""


def decompressed(path: Path, codec: str, folder: Path) -> Path:
    """Write the decompressed bytes of ``path`` to a file in ``folder``, a block at a time."""
    plain = folder / plain_name(path)
    try:
        with _open(path, codec) as stream, plain.open("wb") as out:
            while block := stream.read(_BLOCK):
                out.write(block)
    except _BROKEN as exc:
        raise IngestError(
            f"{path} cannot be decompressed as {codec}: {exc}",
            hint="check the file was fully downloaded or copied (a cut-off file ends too soon)",
        ) from exc
    if plain.stat().st_size == 0:
        raise IngestError(f"{path} is empty once decompressed ({codec})", hint="check the file")
    return plain


def scratch_folder(scratch: Path | None) -> Path:
    """A new folder for one plain copy, in ``scratch`` (made if need be) or the system's temp folder."""
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="datawheel-plain-", dir=scratch))


def _renamed_error(exc: IngestError, copy: Path, given: Path | str) -> IngestError:
    """The error with the local copy's path replaced by the given file's (or URL)."""
    return IngestError(exc.message.replace(str(copy), str(given)), hint=exc.hint)


def read_copy(
    copy: Path, given: Path | str, open_copy: Callable[[Path], Reading], *, folder: Path | None = None
) -> Reading:
    """The reading ``open_copy`` makes of the local ``copy``, naming ``given`` (a file or URL) instead.

    Errors, the quarantine's ``file`` and the reading's location name ``given``. ``folder``
    (which holds the copy), if given, goes when the batches are all read or closed, or else when
    they are dropped unread, or at once if opening fails; without it, whoever made the copy
    removes it. A consumer runs the one-pass scan (``whole``), which reads the copy, before the
    batches. The digest is left out: it would be the copy's, not the given file's.
    """
    try:
        reading = open_copy(copy)
    except IngestError as exc:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise _renamed_error(exc, copy, given) from exc
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    inner, name = reading.batches, str(copy)

    def batches() -> Iterator[Batch]:
        try:
            for batch in inner:
                quarantine = batch.quarantine
                if quarantine.height:
                    quarantine = quarantine.with_columns(
                        pl.when(pl.col("file") == name)
                        .then(pl.lit(str(given)))
                        .otherwise(pl.col("file"))
                        .alias("file")
                    )
                yield replace(batch, quarantine=quarantine)
        except IngestError as exc:
            raise _renamed_error(exc, copy, given) from exc
        finally:
            close = getattr(inner, "close", None)
            if close is not None:
                close()
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)

    stream = batches()
    if folder is not None:
        weakref.finalize(stream, shutil.rmtree, folder, True)
    return replace(reading, location=str(given), batches=stream, digest=None)
