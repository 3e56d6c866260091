"""What every reader produces: batches of rows, each with the rows it could not take."""

from __future__ import annotations

import queue
import threading
import unicodedata
from collections.abc import Collection, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar, cast

import polars as pl

from datawheel.errors import IngestError

SourceFormat = Literal["csv", "tsv", "json", "jsonl", "parquet", "arrow", "excel", "sql", "files"]

LINE = "_line"
"""Column of a batch: the 1-based line of a text file a row came from (the row number in a
Parquet file, Excel sheet or query result)."""

FILE = "_file"
"""Optional column of a batch: the file a row came from, when rows come from many files."""

QUARANTINE_SCHEMA = pl.Schema(
    {"line": pl.Int64(), "file": pl.String(), "raw": pl.String(), "reason": pl.String()}
)
"""The rows a reader could not take: where (line, file), what (raw text) and why (reason)."""


def quarantine_frame(rows: Iterable[tuple[int | None, str | None, str, str]] = ()) -> pl.DataFrame:
    """A quarantine frame from (line, file, raw, reason) tuples.

    Example:
        >>> quarantine_frame([(3, "a.csv", "1,2,3", "expected 2 fields, found 3")]).row(0)
        (3, 'a.csv', '1,2,3', 'expected 2 fields, found 3')
    """
    return pl.DataFrame(list(rows), schema=QUARANTINE_SCHEMA, orient="row")


def renamed(frame: pl.DataFrame, columns: Sequence[str], location: str) -> pl.DataFrame:
    """``frame`` with its data columns named ``columns``, in order (``--columns``).

    Example:
        >>> renamed(pl.DataFrame({"a": [1], "_line": [2]}), ["n"], "t.xlsx").columns
        ['n', '_line']
    """
    data = [c for c in frame.columns if not c.startswith("_")]
    if len(data) != len(columns):
        raise IngestError(
            f"{location} has {len(data)} columns ({', '.join(data)}) but --columns names {len(columns)}",
            hint="give one name per column, in order",
        )
    return frame.rename(dict(zip(data, columns, strict=True)))


def read_as(names: Iterable[str]) -> tuple[dict[str, str], str | None]:
    """The name datawheel reads each of ``names`` as, and what clashes if two become one.

    A name starting with '_' is read without it, as such names are datawheel's own.

    Example:
        >>> read_as(["_id", "v"])
        ({'_id': 'id', 'v': 'v'}, None)
        >>> read_as(["_id", "__id"])[1]
        "'_id' and '__id' clash, as a name starting with '_' is read without it (such names are datawheel's)"
    """
    read = {name: name.lstrip("_") or name for name in names}
    first: dict[str, str] = {}  # each name read, and the first name read as it
    for name, as_read in read.items():
        if as_read in first:
            one, other = sorted((first[as_read], name), key=lambda n: read[n] == n)  # a '_' name first
            return read, (
                f"{one!r} and {other!r} clash, as a name starting with '_' is read "
                "without it (such names are datawheel's)"
            )
        first[as_read] = name
    return read, None


def in_nfc(frame: pl.DataFrame, *, keep: Collection[str] = ()) -> pl.DataFrame:
    """``frame`` with its text in Unicode NFC: column names, and the values of its text columns.

    Columns ``keep`` and ``_file`` (file names, which must still find their files) are left as
    they are. Text inside lists and structs (from JSON, Parquet) is normalised too. A text column holding
    only ASCII, the usual case, is checked (bytes = characters) and left as it is. Two column
    names that become one are an error.

    Example:
        >>> in_nfc(pl.DataFrame({"cafe\u0301": ["e\u0301", "x"]})).rows(named=True) == [
        ...     {"caf\u00e9": "\u00e9"}, {"caf\u00e9": "x"}]
        True
    """
    names = {c: unicodedata.normalize("NFC", c) for c in frame.columns}
    if len(set(names.values())) < len(names):
        twins = [c for c in frame.columns if list(names.values()).count(names[c]) > 1]
        raise IngestError(
            f"columns {twins[0]!r} and {twins[1]!r} are the same name once in Unicode NFC",
            hint="rename one of them in the source",
        )
    if any(c != n for c, n in names.items()):
        frame = frame.rename(names)
    keep = {*keep, FILE}  # a file's name as the file system spells it finds the file again
    text = [c for c, t in frame.schema.items() if t == pl.String and c not in keep]
    plain = (
        frame.select((pl.col(c).str.len_bytes() == pl.col(c).str.len_chars()).all() for c in text).row(0)
        if text
        else ()
    )
    exprs = [
        _nfc(pl.col(c), pl.String()) for c, ascii_only in zip(text, plain, strict=True) if not ascii_only
    ]
    exprs += [_nfc(pl.col(c), t) for c, t in frame.schema.items() if c not in keep and t.is_nested()]
    found = [e for e in exprs if e is not None]
    return frame.with_columns(found) if found else frame


def _nfc(expr: pl.Expr, dtype: pl.DataType | pl.datatypes.DataTypeClass) -> pl.Expr | None:
    """``expr`` (of type ``dtype``) with its text in NFC, or None if it holds no text."""
    if dtype == pl.String:
        return (
            pl.when(expr.str.len_bytes() != expr.str.len_chars())
            .then(expr.str.normalize("NFC"))
            .otherwise(expr)
        )
    if isinstance(dtype, pl.List):
        inner = _nfc(pl.element(), dtype.inner)
        return None if inner is None else expr.list.eval(inner)
    if isinstance(dtype, pl.Struct):
        fields = [(f.name, _nfc(pl.field(f.name), f.dtype)) for f in dtype.fields]
        found = [e.alias(name) for name, e in fields if e is not None]
        return expr.struct.with_fields(found) if found else None
    return None


@dataclass(frozen=True)
class Batch:
    """Part of a source: the rows read (data columns, ``_line``, maybe ``_file``) and the rest."""

    frame: pl.DataFrame
    quarantine: pl.DataFrame = field(default_factory=quarantine_frame)
    bytes_read: int = 0
    """How far into the source this batch reached, for progress bars (0 if unknown)."""


@dataclass
class Reading:
    """A source opened for reading: its batches come lazily, one at a time.

    ``total_bytes`` is the size to report progress against (0 if unknown); ``encoding`` the
    text encoding used, given or detected (None for binary formats). ``whole``, when a reader
    has proved every row of the source sound beforehand, is the same rows as ``batches`` (with
    ``_line``, never a quarantined row) as one lazy frame of ``rows`` rows, for a consumer that
    runs it as one streaming query; if that query raises, ``batches`` are still unread.
    ``digest`` is the BLAKE3 digest of the file's bytes, when the reader read them all
    already. ``files`` is how many files are read as one table (shards: see
    :func:`read_shards`), None for one file; the shards' ``encoding`` grows as they are read.
    """

    format: SourceFormat
    location: str
    batches: Iterable[Batch]
    encoding: str | None = None
    total_bytes: int = 0
    whole: pl.LazyFrame | None = None
    rows: int = 0
    digest: str | None = None
    files: int | None = None


def check_file(path: Path) -> int:
    """The size of the file at ``path``; an error if there is none or it is empty."""
    if not path.is_file():
        raise IngestError(f"no file {path}", hint="check the path")
    size = path.stat().st_size
    if size == 0:
        raise IngestError(f"{path} is empty (0 bytes)", hint="check the file was fully written or copied")
    return size


T = TypeVar("T")
_DONE = object()
_WAIT_SECONDS = 0.1


def read_ahead(items: Iterable[T], *, depth: int = 1) -> Generator[T, None, None]:
    """The items of ``items``, made by a background thread up to ``depth`` items ahead.

    While the caller works on one batch, the next is read and parsed: Polars and NumPy release
    the GIL, so the two run on two cores. Nothing starts before the first item is asked for;
    an error in the thread is raised to the caller, and when the caller stops early the thread
    stops too (after the item it is making) and closes ``items``.

    Example:
        >>> list(read_ahead(iter(range(5))))
        [0, 1, 2, 3, 4]
    """
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    worker = threading.Thread(
        target=_produce, args=(items, ready, stop), name="datawheel-read-ahead", daemon=True
    )
    worker.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, _Failure):
                raise item.error
            yield cast(T, item)
    finally:
        stop.set()
        while worker.is_alive():
            _drain(ready)
            worker.join(_WAIT_SECONDS)


@dataclass(frozen=True)
class _Failure:
    error: BaseException


def _produce(items: Iterable[object], ready: queue.Queue[object], stop: threading.Event) -> None:
    """Put each item of ``items``, then ``_DONE`` (or the error), on ``ready`` until ``stop``."""
    source = iter(items)
    try:
        for item in source:
            if not _put(ready, item, stop):
                return
        _put(ready, _DONE, stop)
    except BaseException as exc:  # handed to the consumer, which raises it
        _put(ready, _Failure(exc), stop)
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _put(ready: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Put ``item`` once there is room; False if the consumer stopped first."""
    while not stop.is_set():
        try:
            ready.put(item, timeout=_WAIT_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def _drain(ready: queue.Queue[object]) -> None:
    while True:
        try:
            ready.get_nowait()
        except queue.Empty:
            return
