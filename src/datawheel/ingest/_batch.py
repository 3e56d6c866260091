"""What every reader produces: batches of rows, each with the rows it could not take."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

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
    text encoding used, given or detected (None for binary formats).
    """

    format: SourceFormat
    location: str
    batches: Iterable[Batch]
    encoding: str | None = None
    total_bytes: int = 0


def check_file(path: Path) -> int:
    """The size of the file at ``path``; an error if there is none or it is empty."""
    if not path.is_file():
        raise IngestError(f"no file {path}", hint="check the path")
    size = path.stat().st_size
    if size == 0:
        raise IngestError(f"{path} is empty (0 bytes)", hint="check the file was fully written or copied")
    return size
