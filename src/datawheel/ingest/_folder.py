"""Reading a folder of files (images, audio, text, documents) into one row per file."""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mutagen
import polars as pl
from PIL import Image

from datawheel.errors import IngestError
from datawheel.ingest._batch import FILE, LINE, Batch, Reading, quarantine_frame

_BATCH_FILES = 2_000

_MEASURES = ("width", "height", "duration", "sample_rate", "channels")
_BUILT_IN_COLUMNS = ("path", "blob", "size", "media_type", *_MEASURES, FILE, LINE)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Python's own table (never the machine's /etc/mime.types, so every machine agrees), completed.
_MIME = mimetypes.MimeTypes()
_MEDIA_TYPES = {
    ".7z": "application/x-7z-compressed",
    ".bz2": "application/x-bzip2",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".flac": "audio/flac",
    ".gz": "application/gzip",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".jsonl": "application/jsonl",
    ".jxl": "image/jxl",
    ".m4a": "audio/mp4",
    ".md": "text/markdown",
    ".mid": "audio/midi",
    ".midi": "audio/midi",
    ".mkv": "video/x-matroska",
    ".ndjson": "application/x-ndjson",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".oga": "audio/ogg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".parquet": "application/vnd.apache.parquet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".rtf": "application/rtf",
    ".toml": "application/toml",
    ".wav": "audio/wav",
    ".webp": "image/webp",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xz": "application/x-xz",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".zst": "application/zstd",
}
_UNKNOWN_TYPE = "application/octet-stream"
# Audio whose header mutagen reads (other audio files are taken without these measures).
_AUDIO_SUFFIXES = frozenset(
    {".aif", ".aiff", ".flac", ".m4a", ".mp3", ".oga", ".ogg", ".opus", ".wav", ".wma"}
)


@dataclass(frozen=True)
class Listed:
    """A file found in a folder: its path relative to the folder (POSIX style), and its path."""

    relative: str
    path: Path


@dataclass(frozen=True)
class _Measured:
    """What a file's header tells: an image's size in pixels, an audio file's length and form."""

    width: int | None = None
    height: int | None = None
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None


_NOTHING = _Measured()


def read_folder(root: Path, *, pattern: str | None = None, put_blob: Callable[[Path], str]) -> Reading:
    """Read every file under ``root`` as one row, its bytes stored through ``put_blob``.

    Each row has ``path`` (relative to ``root``, POSIX style), one String column per field of
    ``pattern``, ``blob`` (the digest ``put_blob`` returned for the file), ``size`` (bytes),
    ``media_type`` (from the suffix; ``application/octet-stream`` if unknown), ``width`` and
    ``height`` (pixels, for images Pillow reads), ``duration`` (seconds), ``sample_rate`` (Hz)
    and ``channels`` (for audio mutagen reads: WAV, FLAC, MP3, Ogg, Opus, M4A, AIFF, WMA), each
    null where it does not apply, ``_file`` (the absolute path) and ``_line`` (always null).
    Rows come in order of ``path``, in batches of 2,000 files.

    ``pattern`` describes the relative path, e.g. ``{label}/{name}.png``: a ``{field}`` matches
    one path segment or part of one (as little as it can, so in ``{a}_{b}`` the first ``_``
    splits), the text between fields must match exactly (case counts), and a field named twice
    must match the same text both times. Field names are letters, digits and ``_``, starting
    with a letter.

    Files and folders whose names start with ``.`` (``.DS_Store``, ``.git/``) are skipped and
    counted nowhere; links to folders are not followed (links to files are read).

    Quarantined, with the relative path as ``raw`` and the absolute path as ``file``: a path
    that does not match ``pattern``, an empty file, a file that cannot be opened, an image
    Pillow cannot read (the header is read and the structure checked; pixels are not decoded),
    and an audio file whose header mutagen cannot read, or a WAV file shorter than its header
    says (samples are not decoded).

    Args:
        root: The folder to read, searched recursively.
        pattern: The shape of each file's relative path, naming the fields to take from it.
        put_blob: Stores a file's bytes and returns their digest (e.g. ``BlobStore.put_file``).

    Raises:
        IngestError: ``root`` is missing, is not a folder, holds no files or has a folder that
            cannot be listed, or ``pattern`` is malformed.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> for name, text in [("ham/1.txt", "hi"), ("spam/2.txt", "WIN")]:
        ...     (root / name).parent.mkdir()
        ...     _ = (root / name).write_text(text)
        >>> reading = read_folder(root, pattern="{label}/{name}.txt", put_blob=lambda p: p.read_text())
        >>> frame = next(iter(reading.batches)).frame
        >>> frame.select("path", "label", "name", "blob", "size").rows()
        [('ham/1.txt', 'ham', '1', 'hi', 2), ('spam/2.txt', 'spam', '2', 'WIN', 3)]
        >>> frame["media_type"].to_list(), frame["width"].to_list()
        (['text/plain', 'text/plain'], [None, None])
    """
    regex, fields = compile_pattern(pattern, taken=_BUILT_IN_COLUMNS) if pattern is not None else (None, [])
    files = list_files(root)
    total = sum(_size(f.path) or 0 for f in files)
    batches = _batches(files, regex=regex, pattern=pattern, fields=fields, put_blob=put_blob)
    return Reading(format="files", location=str(root.resolve()), batches=batches, total_bytes=total)


def _media_type(path: Path) -> str:
    """The media type a file's suffix names, ``application/octet-stream`` when unknown.

    Example:
        >>> _media_type(Path("a/b.PNG")), _media_type(Path("song.flac")), _media_type(Path("x.zzz"))
        ('image/png', 'audio/flac', 'application/octet-stream')
    """
    suffix = path.suffix.lower()
    return _MEDIA_TYPES.get(suffix) or _MIME.guess_type(f"file{suffix}")[0] or _UNKNOWN_TYPE


def compile_pattern(pattern: str, *, taken: tuple[str, ...] = ()) -> tuple[re.Pattern[str], list[str]]:
    """A regular expression for the relative paths ``pattern`` describes, and the fields it names.

    ``taken`` are names a field may not have (columns every row has already).

    Example:
        >>> regex, fields = compile_pattern("{label}/{name}.png")
        >>> regex.fullmatch("cat/1.png").groupdict(), fields
        ({'label': 'cat', 'name': '1'}, ['label', 'name'])
    """
    parts: list[str] = []
    fields: list[str] = []
    end = 0
    for match in _PLACEHOLDER.finditer(pattern):
        parts.append(_literal(pattern[end : match.start()], pattern))
        name = match.group(1)
        _check_field(name, pattern, taken)
        parts.append(f"(?P={name})" if name in fields else f"(?P<{name}>[^/]+?)")
        if name not in fields:
            fields.append(name)
        end = match.end()
    parts.append(_literal(pattern[end:], pattern))
    return re.compile("".join(parts)), fields


def _literal(text: str, pattern: str) -> str:
    if "{" in text or "}" in text:
        raise IngestError(
            f"pattern {pattern} has an unmatched brace",
            hint="write each field as {name}, e.g. {label}/{name}.png",
        )
    return re.escape(text)


def _check_field(name: str, pattern: str, taken: tuple[str, ...]) -> None:
    if not _FIELD_NAME.fullmatch(name):
        raise IngestError(
            f"pattern {pattern} has a field '{{{name}}}' that is not a name",
            hint="name fields with letters, digits and _, starting with a letter, e.g. {label}/{name}.png",
        )
    if name in taken:
        raise IngestError(
            f"pattern {pattern} names a field '{name}', a column every file already has",
            hint=f"rename the field; taken are {', '.join(taken)}",
        )


def list_files(root: Path) -> list[Listed]:
    """Every file under ``root``, in order of relative path, names starting with ``.`` skipped.

    An error if ``root`` is missing, not a folder, holds no files or has a folder that cannot be listed.
    """
    if not root.exists():
        raise IngestError(
            f"no folder {root}", hint="check the path; datawheel ingest reads a folder of files"
        )
    if not root.is_dir():
        raise IngestError(
            f"{root} is not a folder", hint="pass a folder, or give a single file another --format"
        )
    base = root.resolve()
    found: list[Listed] = []
    for folder, subfolders, names in os.walk(base, onerror=_cannot_list):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        for name in names:
            if not name.startswith("."):
                path = Path(folder, name)
                found.append(Listed(path.relative_to(base).as_posix(), path))
    if not found:
        raise IngestError(
            f"{root} holds no files (names starting with '.' are skipped)", hint="check the path"
        )
    return sorted(found, key=lambda f: f.relative)


def _cannot_list(exc: OSError) -> None:
    raise IngestError(
        f"cannot list the folder {exc.filename}: {exc.strerror}",
        hint="check its permissions, or move it out of the folder you ingest",
    ) from exc


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _batches(
    files: list[Listed],
    *,
    regex: re.Pattern[str] | None,
    pattern: str | None,
    fields: list[str],
    put_blob: Callable[[Path], str],
) -> Iterator[Batch]:
    bytes_read = 0
    for start in range(0, len(files), _BATCH_FILES):
        rows: list[dict[str, str | int | float | None]] = []
        quarantined: list[tuple[int | None, str | None, str, str]] = []
        for listed in files[start : start + _BATCH_FILES]:
            size = _size(listed.path) or 0
            bytes_read += size
            match = regex.fullmatch(listed.relative) if regex is not None else None
            problem, measured = (
                (f"path does not match pattern {pattern}", _NOTHING)
                if regex is not None and match is None
                else _inspect(listed.path, size)
            )
            if problem is None:
                fields_found = match.groupdict() if match else {}
                rows.append(_row(listed, fields_found, size, measured, put_blob))
            else:
                quarantined.append((None, str(listed.path), listed.relative, problem))
        yield Batch(pl.DataFrame(rows, schema=_schema(fields)), quarantine_frame(quarantined), bytes_read)


def _row(
    listed: Listed,
    fields: dict[str, str],
    size: int,
    measured: _Measured,
    put_blob: Callable[[Path], str],
) -> dict[str, str | int | float | None]:
    return {
        "path": listed.relative,
        **fields,
        "blob": put_blob(listed.path),
        "size": size,
        "media_type": _media_type(listed.path),
        **{name: getattr(measured, name) for name in _MEASURES},
        FILE: str(listed.path),
        LINE: None,
    }


def _inspect(path: Path, size: int) -> tuple[str | None, _Measured]:
    """Why a file cannot be taken (None if it can), and what its header tells."""
    try:
        with path.open("rb") as stream:
            start = stream.read(12)
    except OSError as exc:
        return f"cannot open file: {exc.strerror or exc}", _NOTHING
    if size == 0:
        return "empty file (0 bytes)", _NOTHING
    if _is_image(path):
        return _image(path)
    if path.suffix.lower() in _AUDIO_SUFFIXES:
        return _audio(path, size, start)
    return None, _NOTHING


def _image(path: Path) -> tuple[str | None, _Measured]:
    try:
        with Image.open(path) as image:  # reads the header, not the pixels
            width, height = image.size
            image.verify()  # checks the structure (e.g. PNG checksums) without decoding
    except Exception as exc:  # Pillow raises many kinds (OSError, SyntaxError, ValueError…)
        return f"not a readable image: {_said(exc)}", _NOTHING
    return None, _Measured(width=width, height=height)


def _audio(path: Path, size: int, start: bytes) -> tuple[str | None, _Measured]:
    """An audio file's length, sample rate and channels, from its header (nothing decoded)."""
    if start[:4] == b"RIFF" and start[8:12] == b"WAVE":
        claimed = int.from_bytes(start[4:8], "little") + 8
        if claimed > size:  # a cut-off download or copy: its header still claims every sample
            return f"cut-off audio: the header says {claimed:,} bytes, the file has {size:,}", _NOTHING
    try:
        found = mutagen.File(path)
    except Exception as exc:  # mutagen raises MutagenError, and struct or index errors on odd bytes
        return f"not a readable audio file: {_said(exc)}", _NOTHING
    info = getattr(found, "info", None)
    if info is None:
        return "not a readable audio file: no audio format recognised in its bytes", _NOTHING
    length, rate, channels = (getattr(info, k, None) for k in ("length", "sample_rate", "channels"))
    return None, _Measured(
        duration=None if length is None else float(length),
        sample_rate=int(rate) if rate else None,  # 0 where a format's header does not say
        channels=int(channels) if channels else None,
    )


def _said(exc: Exception) -> str:
    return str(exc).strip() or type(exc).__name__


def _is_image(path: Path) -> bool:
    """Whether the file is an image of a kind Pillow can open (not e.g. SVG or HEIC)."""
    if not _media_type(path).startswith("image/"):
        return False
    Image.init()
    return Image.registered_extensions().get(path.suffix.lower()) in Image.OPEN


def _schema(fields: list[str]) -> pl.Schema:
    return pl.Schema(
        {
            "path": pl.String(),
            **{name: pl.String() for name in fields},
            "blob": pl.String(),
            "size": pl.Int64(),
            "media_type": pl.String(),
            "width": pl.Int64(),
            "height": pl.Int64(),
            "duration": pl.Float64(),
            "sample_rate": pl.Int64(),
            "channels": pl.Int64(),
            FILE: pl.String(),
            LINE: pl.Int64(),
        }
    )
