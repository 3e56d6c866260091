"""One entry to every reader: the source's kind is told from its name, or from its first bytes."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from datawheel.errors import IngestError
from datawheel.ingest._batch import FILE, LINE, Batch, Reading, SourceFormat, in_nfc, renamed
from datawheel.ingest._columnar import read_arrow, read_parquet
from datawheel.ingest._compressed import (
    compression_of,
    decompressed,
    head,
    plain_name,
    read_copy,
    scratch_folder,
)
from datawheel.ingest._conform import check_declared, cleaned, conform, time_types
from datawheel.ingest._dialect import QuoteChar
from datawheel.ingest._excel import read_excel
from datawheel.ingest._folder import read_folder
from datawheel.ingest._json import read_json, read_jsonl
from datawheel.ingest._shards import is_glob, list_shards, read_shards
from datawheel.ingest._sql import read_sql
from datawheel.ingest._text import read_delimited

_SUFFIXES: dict[str, SourceFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".arrows": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".ods": "excel",
}
# An Arrow IPC stream starts with a continuation marker and its schema message's length.
_BINARY = {b"PAR1": "parquet", b"PK\x03\x04": "excel", b"ARROW1": "arrow", b"\xff\xff\xff\xff": "arrow"}
_SNIFF_BYTES = 64 << 10


@dataclass(frozen=True)
class ReadOptions:
    """How to read a source; each reader takes the options that apply to it.

    ``columns`` names (or renames, in order) the columns; ``schema`` declares column types
    (others are inferred); ``null_values`` are read as null; ``trim`` strips spaces around text
    fields; ``query`` makes the source a database URL; ``pattern`` parses a folder's paths;
    ``sheet`` picks a spreadsheet's sheet; ``decimal_comma`` says whether a CSV or TSV file
    writes floats ``1,5`` (None: guessed for ``;``-separated files).
    """

    separator: str | None = None
    has_header: bool | None = None
    columns: tuple[str, ...] | None = None
    quote_char: QuoteChar = "auto"
    encoding: str = "auto"
    null_values: tuple[str, ...] = ()
    trim: bool = False
    schema: dict[str, pl.DataType] = field(default_factory=dict)
    query: str | None = None
    pattern: str | None = None
    sheet: str | None = None
    decimal_comma: bool | None = None


def detect_format(location: str | Path, *, query: str | None = None) -> SourceFormat:
    """The kind of a source: a query, a folder, a file's suffix, else its first bytes.

    A glob (``data/*.parquet``) is the format its files' names say (see :func:`list_shards`).
    A compressed file (see :func:`compression_of`) is the kind its name tells without the
    compression suffix (``train.csv.gz`` is CSV), else the kind its decompressed bytes show.

    Example:
        >>> detect_format("data/train.tsv"), detect_format("sqlite:///x.db", query="SELECT 1")
        ('tsv', 'sql')
    """
    if query is not None:
        return "sql"
    path = Path(location)
    if path.is_dir():
        return "files"
    if is_glob(path):
        return list_shards(path, None, _named_format)[2]
    codec = compression_of(path)
    found = _SUFFIXES.get(Path(plain_name(path) if codec else path.name).suffix.lower())
    if found is not None:
        return found
    if not path.is_file():
        raise IngestError(f"no file or folder {path}", hint="check the path")
    if codec is not None:
        return _sniff(head(path, codec, _SNIFF_BYTES))
    with path.open("rb") as handle:
        return _sniff(handle.read(_SNIFF_BYTES))


def shards_of(location: str | Path, kind: SourceFormat) -> tuple[Path, list[Path], SourceFormat] | None:
    """The shards a folder or glob read as one table of format ``kind`` holds (see :func:`list_shards`).

    None when ``location`` is one file, a folder read as a folder of files, or a query.
    """
    path = Path(location)
    if kind in ("files", "sql") or not (path.is_dir() or is_glob(path)):
        return None
    return list_shards(path, kind, _named_format)


def _named_format(path: Path) -> SourceFormat | None:
    """The format a file's name says, past a compression suffix (``a.csv.gz`` is CSV); None if none."""
    return _SUFFIXES.get(Path(plain_name(path)).suffix.lower())


def _sniff(start: bytes) -> SourceFormat:
    for magic, kind in _BINARY.items():
        if start.startswith(magic):
            return kind  # type: ignore[return-value]
    text = start.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "jsonl"
    if text.startswith(b"["):
        return "json"
    lines = start.split(b"\n")[:50]
    return "tsv" if sum(line.count(b"\t") for line in lines) >= len(lines) - 1 > 0 else "csv"


def open_source(
    location: str | Path,
    *,
    format: SourceFormat | None = None,
    options: ReadOptions | None = None,
    put_blob: Callable[[Path], str] | None = None,
    whole: bool = False,
    scratch: Path | None = None,
    fit: Mapping[str, pl.DataType] | None = None,
) -> Reading:
    r"""Open any source datawheel reads: CSV, TSV, JSON, JSON Lines, Parquet, Arrow IPC, Excel, SQL, folders.

    A folder given a table's format (``format="parquet"``), or a glob (``data/*.jsonl.gz``), is
    read as shards of one table, one file after the other (see :func:`read_shards`).
    ``whole`` asks a reader that can to offer the rows as one lazy scan too, when it can prove
    them sound beforehand (see :func:`read_delimited`). A compressed file (gzip, bzip2, xz,
    zstd) is read through a plain copy in a folder of its own in ``scratch`` (else the system's
    temp folder), gone once its rows are read (see :mod:`datawheel.ingest._compressed`).
    ``fit`` gives a CSV or TSV file's reader types its values must fit where it has the
    column, as ``--schema`` would, so that a misfit is quarantined with its line's text (a
    later shard fitted to the first's types).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "SMSSpam"
        >>> _ = p.write_text("ham\tsee you\nspam\tWIN now\n", encoding="utf-8")
        >>> reading = open_source(p, options=ReadOptions(has_header=False, columns=("label", "text")))
        >>> reading.format, [b.frame.rows() for b in reading.batches]
        ('tsv', [[('ham', 'see you', 1), ('spam', 'WIN now', 2)]])
    """
    opts = options or ReadOptions()
    kind = format or detect_format(location, query=opts.query)
    if kind == "sql":
        if opts.query is None:
            raise IngestError(
                "a SQL source needs a query", hint="pass --query 'SELECT …' with the database URL"
            )
        return _finished(read_sql(str(location), opts.query), opts)
    path = Path(location)
    shards = shards_of(path, kind)
    if shards is not None:
        root, files, kind = shards
        one = replace(opts, pattern=None)
        return read_shards(
            root,
            files,
            kind=kind,
            location=str(path.resolve()),
            pattern=opts.pattern,
            open_one=lambda file, types: open_source(
                file, format=kind, options=one, scratch=scratch, fit=types
            ),
            survey=(lambda file: _delimited(file, kind, one, whole=True, whole_from=0))
            if whole and kind in ("csv", "tsv")
            else None,
        )
    codec = compression_of(path) if kind != "files" else None
    if codec is not None:
        return _through_plain_copy(path, codec, kind, opts, scratch, whole=whole, fit=fit)
    if kind in ("csv", "tsv"):
        return _delimited(path, kind, opts, whole=whole, fit=fit)
    if kind == "jsonl":
        named = bool(opts.columns)  # names given by --columns: typed once named, not by the reader
        jsonl = read_jsonl(
            path,
            encoding=opts.encoding,
            schema=None if named else opts.schema,
            null_values=opts.null_values,
            trim=opts.trim,
            times=not named,
        )
        # cleaned before typed, by the reader
        return _finished(jsonl, replace(opts, null_values=(), trim=False), times=named)
    if kind == "json":
        return _finished(read_json(path, encoding=opts.encoding), opts, times=True)
    if kind == "parquet":
        return _finished(read_parquet(path), opts)
    if kind == "arrow":
        return _finished(read_arrow(path), opts)
    if kind == "excel":
        excel = read_excel(
            path,
            sheet=opts.sheet,
            has_header=opts.has_header is not False,
            columns=opts.columns,
            schema=opts.schema,
            null_values=opts.null_values,
            trim=opts.trim,
        )
        return _finished(excel, ReadOptions())  # named, cleaned and typed by the reader, before NFC
    if put_blob is None:
        raise IngestError("reading a folder of files needs a blob store", hint="ingest it into a workspace")
    return _finished(read_folder(path, pattern=opts.pattern, put_blob=put_blob), opts, keep=("path",))


def _delimited(
    path: Path,
    kind: SourceFormat,
    opts: ReadOptions,
    *,
    whole: bool,
    whole_from: int | None = None,
    fit: Mapping[str, pl.DataType] | None = None,
) -> Reading:
    return read_delimited(
        path,
        format="tsv" if kind == "tsv" else "csv",
        separator=opts.separator,
        has_header=opts.has_header,
        columns=opts.columns,
        quote_char=opts.quote_char,
        encoding=opts.encoding,
        null_values=opts.null_values,
        trim=opts.trim,
        schema=opts.schema,
        fit=fit,
        decimal_comma=opts.decimal_comma,
        whole=whole,
        whole_from=whole_from,
    )


def _through_plain_copy(
    path: Path,
    codec: str,
    kind: SourceFormat,
    opts: ReadOptions,
    scratch: Path | None,
    *,
    whole: bool,
    fit: Mapping[str, pl.DataType] | None,
) -> Reading:
    """A compressed file's rows, read from a plain copy but naming the file as given."""
    folder = scratch_folder(scratch)
    try:
        plain = decompressed(path, codec, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return read_copy(
        plain,
        path,
        lambda copy: open_source(copy, format=kind, options=opts, whole=whole, fit=fit),
        folder=folder,
    )


def _finished(
    reading: Reading, opts: ReadOptions, *, keep: tuple[str, ...] = (), times: bool = False
) -> Reading:
    """The reading's batches made as a CSV file's are, whatever the format.

    Their text is put in Unicode NFC (see :func:`in_nfc`); their columns are named
    ``opts.columns`` (``--columns``), if given; text equal to one of ``opts.null_values`` is
    made null, and stripped first with ``opts.trim``; columns are cast to the types
    ``opts.schema`` declares (the first batch must have every column it names), misfits going
    to the quarantine. Columns ``keep`` (a folder's ``path``, which must still find its file)
    are left as they are. With ``times`` (JSON, which has no type for them), text columns
    the first batch shows to hold dates or times, and ``opts.schema`` does not declare, are
    typed so (see :func:`time_types`).
    """

    def batches(source: Iterator[Batch]) -> Iterator[Batch]:
        first, types = True, dict(opts.schema)
        try:
            for batch in source:
                frame = in_nfc(batch.frame, keep=keep)
                if opts.columns:
                    frame = renamed(frame, opts.columns, reading.location)
                frame = cleaned(frame, null_values=opts.null_values, trim=opts.trim, keep=keep)
                if first:
                    check_declared(opts.schema, frame.columns, reading.location)
                    if times:
                        types.update(time_types(frame, types))
                    first = False
                frame, misfits = conform(frame, types, file=reading.location)
                quarantine = (
                    pl.concat([batch.quarantine, misfits]).sort("line")
                    if misfits.height
                    else batch.quarantine
                )
                yield replace(batch, frame=frame, quarantine=quarantine)
        finally:  # stop the reader at once when the consumer stops
            close = getattr(source, "close", None)
            if close is not None:
                close()

    return replace(reading, batches=batches(iter(reading.batches)))


def read_frame(location: str | Path, *, options: ReadOptions | None = None) -> pl.DataFrame:
    r"""All the rows of a source as one frame (data columns only), or an error naming the first bad line.

    For a file given to a check or a report (predictions, annotations, a batch to validate):
    nothing is quarantined or dropped silently, so a row that cannot be read is an error.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "votes.csv"
        >>> _ = p.write_text("item,label\n1,spam\n2,ham\n", encoding="utf-8")
        >>> read_frame(p).rows()
        [(1, 'spam'), (2, 'ham')]
    """
    frames = []
    for batch in open_source(location, options=options).batches:
        if batch.quarantine.height:
            bad = batch.quarantine.row(0, named=True)
            raise IngestError(
                f"{location}, line {bad['line']}: {bad['reason']}"
                + (f" (and {batch.quarantine.height - 1} more rows)" if batch.quarantine.height > 1 else ""),
                hint="fix the file, or ingest it with `datawheel ingest` to set bad rows aside",
            )
        frames.append(batch.frame.drop(LINE, FILE, strict=False))
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
