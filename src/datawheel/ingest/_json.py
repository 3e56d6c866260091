"""JSON Lines and JSON arrays: rows with their line number, misfits quarantined."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import NoReturn

import polars as pl

from datawheel.errors import IngestError
from datawheel.ingest._batch import LINE, Batch, Reading, check_file, quarantine_frame, read_as
from datawheel.ingest._conform import RAW, check_declared, cleaned, conform, time_types
from datawheel.ingest._encoding import UNDECODABLE, codec_name, detect_encoding, escape_undecodable

CHUNK_LINES = 200_000


def read_jsonl(
    path: Path,
    *,
    encoding: str = "auto",
    schema: Mapping[str, pl.DataType] | None = None,
    null_values: Collection[str] = (),
    trim: bool = False,
    chunk_lines: int = CHUNK_LINES,
    times: bool = True,
) -> Reading:
    r"""Open a JSON Lines file: one object a line, read in chunks of lines.

    The columns and types come from the first chunk, and from the declared ``schema``, whose
    types win: a declared field may first appear later in the file, but one that no line holds
    is an error (a misspelt name, say). A line that is not a JSON object, holds a field neither
    the first chunk nor ``schema`` has, or a value that does not fit its column's type goes to
    the quarantine with its line number; blank lines are skipped. Text equal to one of
    ``null_values`` (after stripping its spaces, with ``trim``) is null before it is typed.
    With ``times``, text fields the first chunk shows to hold dates or times, and ``schema``
    does not declare, are typed so (JSON has no type for them).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "events.jsonl"
        >>> _ = p.write_text('{"id": 1, "t": "a"}\n{"id": 2, "t": \n{"id": 3, "t": "c"}\n', encoding="utf-8")
        >>> (batch,) = read_jsonl(p).batches
        >>> batch.frame.rows(), batch.quarantine["line"].to_list()
        ([(1, 'a', 1), (3, 'c', 3)], [2])
    """
    size = check_file(path)
    with path.open("rb") as handle:
        enc = detect_encoding(handle.read(1 << 20)) if encoding == "auto" else codec_name(encoding)
    cleaning = partial(cleaned, null_values=null_values, trim=trim)
    batches = _jsonl_batches(path, enc, dict(schema or {}), cleaning, chunk_lines, times)
    return Reading("jsonl", str(path), batches, enc, size)


def _jsonl_batches(
    path: Path,
    enc: str,
    declared: dict[str, pl.DataType],
    cleaning: Callable[[pl.DataFrame], pl.DataFrame],
    chunk_lines: int,
    times: bool,
) -> Iterator[Batch]:
    schema: pl.Schema | None = None
    line, done = 1, 0
    unseen = set(declared)  # declared fields no line has held yet
    before: list[pl.DataFrame] = []  # lines set aside before the first object, which sets the columns
    with path.open("r", encoding=enc, errors="surrogateescape", newline="\n") as handle:
        while True:
            lines = [handle.readline() for _ in range(chunk_lines)]
            lines = [x for x in lines if x]
            if not lines:
                break
            done += sum(len(x) for x in lines)
            rows, bad = _parse_lines(lines, line, str(path))
            line += len(lines)
            if schema is None and not rows:
                before.append(bad)
                continue
            frame = cleaning(pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame())
            unseen.difference_update(frame.columns)
            if schema is None:
                schema = _first_schema(frame, declared, times=times)
            frame, extra = _fit(frame, schema, str(path))
            yield Batch(frame, pl.concat([*before, bad, extra]).sort("line"), bytes_read=done)
            before = []
    if schema is None:
        _no_objects(path, pl.concat(before) if before else quarantine_frame())
    if unseen:  # a declared field no line held: the same error as a column a CSV file lacks
        check_declared(declared, [c for c in schema if c not in unseen], str(path))


def _first_schema(frame: pl.DataFrame, declared: Mapping[str, pl.DataType], *, times: bool) -> pl.Schema:
    """The columns and types of the first chunk's objects, with ``times``: text of dates or times typed so.

    ``declared`` types win, and declared fields the chunk lacks are added at the end.
    """
    data = frame.drop(LINE, RAW, strict=False)
    inferred = time_types(data, declared) if times else {}
    found = {c: declared.get(c, inferred.get(c, t)) for c, t in data.schema.items()}
    return pl.Schema({**found, **{c: t for c, t in declared.items() if c not in found}})


def _no_objects(path: Path, bad: pl.DataFrame) -> NoReturn:
    """The error for a file with no JSON object to read: with no columns, there is no table."""
    if not bad.height:
        raise IngestError(
            f"{path} holds no JSON object with a field: no rows, no columns", hint="check the file"
        )
    first = bad.row(0, named=True)
    raise IngestError(
        f"{path} holds no JSON object that could be read: "
        f"{bad.height} line{'s' if bad.height != 1 else ''} could not "
        f"(the first, line {first['line']}: {first['reason']})",
        hint="fix the file: a JSON Lines file has one object a line",
    )


def _parse_lines(lines: list[str], first: int, file: str) -> tuple[list[dict[str, object]], pl.DataFrame]:
    rows: list[dict[str, object]] = []
    bad: list[tuple[int | None, str | None, str, str]] = []
    for i, text in enumerate(lines):
        number, stripped = first + i, text.strip()
        if not stripped:
            continue
        if UNDECODABLE.search(stripped):
            bad.append(
                (
                    number,
                    file,
                    escape_undecodable(stripped),
                    "bytes that do not decode in the file's encoding",
                )
            )
            continue
        try:
            value = json.loads(unicodedata.normalize("NFC", stripped))
        except json.JSONDecodeError as exc:
            bad.append((number, file, stripped, f"not valid JSON: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(value, dict):
            bad.append((number, file, stripped, f"not a JSON object but a {type(value).__name__}"))
            continue
        if any(k.startswith("_") for k in value):
            names, clash = read_as(value)
            if clash is not None:
                bad.append((number, file, stripped, f"fields {clash}"))
                continue
            value = {names[k]: v for k, v in value.items()}
        value[LINE] = number
        value[RAW] = stripped
        rows.append(value)
    return rows, quarantine_frame(bad)


def _fit(frame: pl.DataFrame, schema: pl.Schema, file: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The frame in the schema of the first chunk; rows with unknown fields or misfits set aside."""
    if frame.is_empty():
        return pl.DataFrame(schema={**schema, LINE: pl.Int64()}), quarantine_frame()
    unknown = [c for c in frame.columns if c not in schema and c not in (LINE, RAW)]
    strays = pl.lit(False)
    for column in unknown:
        strays = strays | pl.col(column).is_not_null()
    flagged = frame.with_columns(strays.alias("_stray"))
    stray = flagged.filter(pl.col("_stray"))
    kept = flagged.filter(~pl.col("_stray")).drop("_stray", *unknown)
    bad = stray.select(
        pl.col(LINE).alias("line"),
        pl.lit(file).alias("file"),
        pl.col(RAW).alias("raw"),
        pl.lit(f"field(s) not in the columns read from the first lines: {', '.join(unknown)}").alias(
            "reason"
        ),
    )
    texts = {c: pl.String() for c, t in schema.items() if t != pl.String and c in kept.columns}
    as_text = kept.with_columns(
        [
            pl.col(c).cast(pl.String) if kept.schema[c] != pl.String else pl.col(c)
            for c in texts
            if kept.schema[c] != schema[c]
        ]
    )
    for column, dtype in schema.items():
        if column not in as_text.columns:
            as_text = as_text.with_columns(pl.lit(None, dtype).alias(column))
    typed = {c: t for c, t in schema.items() if as_text.schema[c] == pl.String and t != pl.String}
    good, wrong = conform(as_text, typed, file=file)
    good = good.select([*schema.names(), LINE]).cast(schema, strict=False)
    return good, pl.concat([bad.cast({"line": pl.Int64}), wrong])


def read_json(path: Path, *, encoding: str = "auto") -> Reading:
    """Open a JSON file holding an array of objects (read whole: JSON has no record boundary).

    Row numbers stand in for lines. A file that is not valid JSON is an error naming its line
    and column.
    """
    size = check_file(path)
    raw = path.read_bytes()
    enc = detect_encoding(raw[: 1 << 20]) if encoding == "auto" else codec_name(encoding)
    try:
        value = json.loads(unicodedata.normalize("NFC", raw.decode(enc)))
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path}: bytes that are not valid {enc} at byte {exc.start}", hint="pass --encoding"
        ) from exc
    except json.JSONDecodeError as exc:
        raise IngestError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            hint="fix the file there, or use JSON Lines (one object a line): bad lines are then quarantined",
        ) from exc
    if isinstance(value, dict):
        value = next((v for v in value.values() if isinstance(v, list)), [value])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise IngestError(f"{path} does not hold a list of objects", hint="give a JSON array of objects")
    if not any(value):  # [] or [{}, …]: not even a column to make a table of
        _no_objects(path, quarantine_frame())
    frame = pl.DataFrame(value, infer_schema_length=None)
    frame = frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(LINE))
    return Reading("json", str(path), [Batch(frame, bytes_read=size)], enc, size)
