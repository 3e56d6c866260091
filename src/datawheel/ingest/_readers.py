"""Reading a file into a table, with the line each row came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from datawheel.errors import IngestError

FileFormat = Literal["csv", "tsv", "jsonl", "parquet"]
LINE = "_line"
_SUFFIXES: dict[str, FileFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True)
class ReadResult:
    """A file read into a table.

    ``frame`` holds the file's columns and ``_line``: the 1-based line of a text file the row
    came from, or the 1-based row number in a Parquet file.
    """

    frame: pl.DataFrame
    format: FileFormat
    path: Path


def detect_format(path: Path) -> FileFormat:
    """The format a file's suffix names.

    Example:
        >>> detect_format(Path("data/train.tsv"))
        'tsv'
    """
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(
            f"cannot tell the format of {path} from its suffix '{path.suffix}'",
            hint="pass --format csv|tsv|jsonl|parquet",
        )
    return fmt


def read_file(
    path: Path,
    *,
    format: FileFormat | None = None,
    has_header: bool = True,
    columns: list[str] | None = None,
    separator: str | None = None,
    quote_char: str | None = '"',
) -> ReadResult:
    r"""Read a CSV, TSV, JSONL or Parquet file; every row keeps the line it came from.

    TSV is read without quoting (a quote is an ordinary character in TSV), CSV with ``"``.
    ``columns`` names the columns of a file without a header, or renames those of one with.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "sms.tsv"
        >>> _ = p.write_text('ham\tsee you "soon"\nspam\tWIN now\n', encoding="utf-8")
        >>> r = read_file(p, has_header=False, columns=["label", "text"])
        >>> r.frame.rows()
        [('ham', 'see you "soon"', 1), ('spam', 'WIN now', 2)]
    """
    fmt = format or detect_format(path)
    if not path.is_file():
        raise IngestError(f"no file {path}", hint="check the path; datawheel ingest reads one file")
    if path.stat().st_size == 0:
        raise IngestError(f"{path} is empty (0 bytes)", hint="check the file was fully written or copied")
    try:
        frame = _read(
            path,
            fmt,
            has_header=has_header,
            columns=columns,
            separator=separator,
            quote_char=quote_char,
        )
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise IngestError(
            f"cannot read {path} as {fmt}: {_first_line(exc)}",
            hint="check --format, --separator and --no-header, or fix the file at the place named",
        ) from exc
    if columns is not None and fmt in ("jsonl", "parquet"):
        frame = _rename(frame, columns, path)
    return ReadResult(frame, fmt, path)


def _read(
    path: Path,
    fmt: FileFormat,
    *,
    has_header: bool,
    columns: list[str] | None,
    separator: str | None,
    quote_char: str | None,
) -> pl.DataFrame:
    if fmt in ("csv", "tsv"):
        return pl.read_csv(
            path,
            separator=separator or ("\t" if fmt == "tsv" else ","),
            has_header=has_header,
            new_columns=columns,
            quote_char=None if fmt == "tsv" and quote_char == '"' else quote_char,
            row_index_name=LINE,
            row_index_offset=2 if has_header else 1,
            infer_schema_length=10_000,
        ).select(pl.exclude(LINE), pl.col(LINE).cast(pl.Int64))
    frame = pl.read_ndjson(path) if fmt == "jsonl" else pl.read_parquet(path)
    return frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(LINE))


def _rename(frame: pl.DataFrame, columns: list[str], path: Path) -> pl.DataFrame:
    data = [c for c in frame.columns if c != LINE]
    if len(columns) != len(data):
        raise IngestError(
            f"{path} has {len(data)} columns ({', '.join(data)}) but --columns names {len(columns)}",
            hint="give one name per column, in order",
        )
    return frame.rename(dict(zip(data, columns, strict=True)))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
