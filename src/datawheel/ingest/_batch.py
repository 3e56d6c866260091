"""What every reader produces: batches of rows, each with the rows it could not take."""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar, cast

import polars as pl

from datawheel.errors import IngestError

SourceFormat = Literal["csv", "tsv", "json", "jsonl", "parquet", "excel", "sql", "files"]

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


@dataclass(frozen=True)
class Batch:
    """Part of a source: the rows read (data columns, ``_line``, maybe ``_file``) and the rest."""

    frame: pl.DataFrame
    quarantine: pl.DataFrame = field(default_factory=quarantine_frame)
    bytes_read: int = 0
    """How far into the source this batch reached, for progress bars (0 if unknown)."""


@dataclass(frozen=True)
class Reading:
    """A source opened for reading: its batches come lazily, one at a time.

    ``total_bytes`` is the size to report progress against (0 if unknown); ``encoding`` the
    text encoding used, given or detected (None for binary formats). ``whole``, when a reader
    has proved every row of the source sound beforehand, is the same rows as ``batches`` (with
    ``_line``, never a quarantined row) as one lazy frame of ``rows`` rows, for a consumer that
    runs it as one streaming query; if that query raises, ``batches`` are still unread.
    ``digest`` is the BLAKE3 digest of the file's bytes, when the reader read them all
    already.
    """

    format: SourceFormat
    location: str
    batches: Iterable[Batch]
    encoding: str | None = None
    total_bytes: int = 0
    whole: pl.LazyFrame | None = None
    rows: int = 0
    digest: str | None = None


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
