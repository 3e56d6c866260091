"""CSV and TSV: read in chunks, any encoding, bad rows to quarantine with their line numbers."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import blake3
import numpy as np
import polars as pl

from datawheel.errors import IngestError
from datawheel.ingest._batch import LINE, Batch, Reading, check_file, quarantine_frame, read_ahead
from datawheel.ingest._conform import RAW, FrameT, check_declared, cleaned, conform, infer_types
from datawheel.ingest._dialect import Dialect, QuoteChar, dialect_of
from datawheel.ingest._encoding import UNDECODABLE, codec_name, detect_encoding, escape_undecodable
from datawheel.ingest._quoting import count_bytes, plain_quoting, separators_outside_quotes, within_lines

CHUNK_BYTES = 16 << 20
STREAM_BYTES = 64 << 20
"""Files at least this large are surveyed, to be read in one streaming pass if every row is sound."""
SAMPLE_BYTES = 1 << 20
_PROBE_BYTES = 1 << 16
_MARKS_IN_A_ROW = 32
"""Enough for any run of combining marks in Unicode's stream-safe text (at most 30)."""
_ABSENT = ("\x1f", "\x1e", "\x1d", "\x1c", "\x07")


def read_delimited(
    path: Path,
    *,
    format: Literal["csv", "tsv"] = "csv",
    separator: str | None = None,
    has_header: bool | None = None,
    columns: Sequence[str] | None = None,
    quote_char: QuoteChar = "auto",
    encoding: str = "auto",
    null_values: Sequence[str] = (),
    trim: bool = False,
    schema: Mapping[str, pl.DataType] | None = None,
    fit: Mapping[str, pl.DataType] | None = None,
    decimal_comma: bool | None = None,
    infer_rows: int = 10_000,
    chunk_bytes: int = CHUNK_BYTES,
    whole: bool = False,
    whole_from: int | None = None,
) -> Reading:
    r"""Open a CSV or TSV file for reading in chunks; nothing is read until the batches are.

    Separator, header and quoting are detected unless given: TSV is read without quoting (a
    quote is an ordinary character in TSV), CSV with ``"``. The encoding is detected unless
    given. Text is normalised to Unicode NFC; empty fields and ``null_values`` become null;
    ``trim`` strips spaces around fields. Column types are inferred from the first
    ``infer_rows`` rows unless declared in ``schema`` (or in ``fit``, which may name columns
    the file lacks: the types of a table's first shard); floats may be written with a decimal
    comma (``1,5``) when ``decimal_comma``, or when a ``;``-separated file's numbers show it.
    A row with the wrong number of fields, bytes that do not decode, or a value that does not
    fit its column's type goes to the quarantine with its line number, raw text and reason;
    blank lines are skipped. The file is
    read in chunks of ``chunk_bytes``, the next one read and parsed in a background thread
    while the caller works on the current one. With ``whole``, a file of ``STREAM_BYTES`` (or
    ``whole_from``) bytes or more is surveyed at once (one read, which also takes its digest)
    and, if every row is sure to be sound, offered as one lazy scan too (``Reading.whole``).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "people.csv"
        >>> _ = p.write_text("id,name\n1,Ann\n2,Bo,extra\nx,Cy\n", encoding="utf-8")
        >>> batches = list(read_delimited(p, schema={"id": pl.Int64()}).batches)
        >>> batches[0].frame.rows()
        [(1, 'Ann', 2)]
        >>> batches[0].quarantine.select("line", "reason").rows()
        [(3, 'expected 2 fields, found 3'), (4, "column 'id': 'x' is not int")]
    """
    size = check_file(path)
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    enc = detect_encoding(sample) if encoding == "auto" else codec_name(encoding)
    text = _decode_sample(sample, enc, final=len(sample) == size)
    dialect = dialect_of(
        text,
        format=format,
        separator=separator,
        has_header=has_header,
        columns=columns,
        quote_char=quote_char,
        path=path,
        decimal_comma=decimal_comma,
    )
    check_declared(schema or {}, dialect.columns, str(path))
    declared = {c: t for c, t in (fit or {}).items() if c in dialect.columns} | dict(schema or {})
    options = _Options(null_values=tuple(null_values), trim=trim, declared=declared, infer_rows=infer_rows)
    scan, rows, digest = (
        _whole(path, enc, dialect, options)
        if whole and size >= (STREAM_BYTES if whole_from is None else whole_from)
        else (None, 0, None)
    )
    batches = read_ahead(_batches(path, enc, dialect, options, chunk_bytes))
    return Reading(
        format=format,
        location=str(path),
        batches=batches,
        encoding=enc,
        total_bytes=size,
        whole=scan,
        rows=rows,
        digest=digest,
    )


@dataclass
class _Options:
    null_values: tuple[str, ...]
    trim: bool
    declared: dict[str, pl.DataType]
    infer_rows: int
    types: dict[str, pl.DataType] | None = None


def _decode_sample(sample: bytes, enc: str, *, final: bool) -> str:
    try:
        decoder = codecs.getincrementaldecoder(enc)(errors="replace")
        return decoder.decode(sample, final=final).replace("\r\n", "\n")
    except (UnicodeError, LookupError) as exc:
        raise IngestError(
            f"cannot decode the file as {enc}: {exc}", hint="pass the right --encoding"
        ) from exc


# -- one pass ----------------------------------------------------------------------------


def _whole(
    path: Path, enc: str, dialect: Dialect, options: _Options
) -> tuple[pl.LazyFrame | None, int, str | None]:
    """The whole file as one typed lazy scan with ``_line``, its rows, and its BLAKE3 digest.

    A survey of the file's bytes must prove what the chunked reader checks chunk by chunk
    (see :func:`_read_fast`): valid UTF-8 in NFC, plain quoting, no trimming, and exactly
    (width - 1) separators a line outside quotes, with Polars raising on a line with too many. Then
    Polars can read the file alone, on every core, and give the rows the chunked reader would.
    The survey reads the whole file, so it takes the digest on the way. No scan (None) when a
    row is not sure, or when the first lines already repeat one another; no survey and no
    digest when the file is not UTF-8, or trimmed, or of one column.
    """
    width = len(dialect.columns)
    if enc not in ("utf-8", "utf-8-sig") or options.trim or width < 2:
        return None, 0, None
    start = (3 if enc == "utf-8-sig" else 0) + (_header_length(path, enc) if dialect.header else 0)
    hasher = blake3.blake3()  # one thread: the survey's own thread and this one keep both cores busy
    surveyed = _survey(path, start, dialect, hasher)
    digest: str = hasher.hexdigest()
    if surveyed is None:
        return None, 0, digest
    first_line = 2 if dialect.header else 1
    head = _head_text(path, start)
    options.types = _sample_types(head, first_line, dialect, options, str(path))
    sample = head.split("\n")[:-1]
    if len(set(sample)) < len(sample):
        # Repeated lines in the first megabytes suggest repeats throughout: the chunked read
        # numbers them as it goes, where the one pass would rewrite its files to number them.
        return None, 0, digest
    scan = pl.scan_csv(
        path,
        has_header=False,
        skip_lines=1 if dialect.header else 0,
        separator=dialect.separator,
        quote_char=dialect.quote if surveyed.quoted else None,
        schema={c: options.types[c] for c in dialect.columns},
        null_values=list(options.null_values) or None,
        decimal_comma=dialect.decimal_comma,
        raise_if_empty=False,
        glob=False,
        row_index_name=LINE,
        row_index_offset=first_line,
    )
    if surveyed.quoted:  # a quoted field is text as written: "" and a quoted null value are null
        scan = _clean_values(scan, options)
    return scan.with_columns(pl.col(LINE).cast(pl.Int64)), surveyed.lines, digest


@dataclass(frozen=True)
class _Surveyed:
    lines: int
    quoted: bool  # some field is quoted: Polars must read quotes as quotes


def _survey(path: Path, start: int, dialect: Dialect, hasher: Any) -> _Surveyed | None:
    """The lines of the file after byte ``start`` if each is sure to be one sound row; else None.

    Every byte of the file also goes through ``hasher`` (the reading's digest), so that the
    file is read once for both. Two threads share the work of a block, both releasing the GIL
    for most of it: a second thread hashes it and counts its newlines while this one reads the
    next block, into the other of two buffers, looks in it for what makes a row unsure and
    counts its separators (outside quoted fields, whose quoting must be plain: see
    :class:`PlainQuoting`).
    """
    sep = dialect.separator.encode("utf-8")
    quote = dialect.quote.encode("utf-8") if dialect.quote else None
    quoting = plain_quoting(sep, quote) if quote is not None else None
    decoder = codecs.getincrementaldecoder("utf-8")()
    buffers = (bytearray(CHUNK_BYTES), bytearray(CHUNK_BYTES))
    sound, offset, newlines, separators = True, 0, 0, 0
    last, tail = b"", ""
    pending: Future[tuple[int, bool]] | None = None

    def digest_and_count(
        data: bytearray, skip: int, count: bool, quotes: tuple[np.ndarray, int] | None
    ) -> tuple[int, bool]:
        hasher.update(data)
        mine = data[skip:] if skip else data
        return (count_bytes(mine, b"\n")[0], within_lines(mine, quotes)) if count else (0, True)

    def count_separators(data: bytearray) -> int | None:
        if quoting is not None:
            return quoting.separators(data, lines_later=True)  # checked by the other thread
        return None if quote is not None and quote in data else count_bytes(data, sep)[0]

    with path.open("rb") as handle, ThreadPoolExecutor(1, thread_name_prefix="datawheel-survey") as pool:
        while size := handle.readinto(buffers[offset // CHUNK_BYTES % 2]):  # free: counted a block ago
            block = buffers[offset // CHUNK_BYTES % 2]
            data = block if size == len(block) else block[:size]
            skip = min(max(start - offset, 0), size)
            offset += size
            quotes = None
            if sound and skip < size:
                mine = data[skip:] if skip else data
                sound, tail = _sound_block(mine, decoder, tail)
                counted = count_separators(mine) if sound else None
                sound, separators = counted is not None, separators + (counted or 0)
                quotes = quoting.last if quoting is not None else None
                last = bytes(data[-1:])
            if pending is not None:
                counted_lines, within = pending.result()  # in order, and the other buffer is free again
                newlines, sound = newlines + counted_lines, sound and within
            pending = pool.submit(digest_and_count, data, skip, sound and skip < size, quotes)
        if pending is not None:
            counted_lines, within = pending.result()
            newlines, sound = newlines + counted_lines, sound and within
    if not sound or (quoting is not None and not quoting.ended()):
        return None
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    lines = newlines + (0 if last == b"\n" else 1)
    if not last or separators != (len(dialect.columns) - 1) * lines:
        return None
    return _Surveyed(lines, quoted=quoting is not None and quoting.seen > 0)


def _sound_block(data: bytearray, decoder: Any, tail: str) -> tuple[bool, str]:
    """Whether a block holds nothing that makes a row unsure, and what to carry to the next block.

    Unsure: a carriage return not before a newline (left to the chunked read), bytes that are
    not UTF-8 or text not in NFC. ``decoder`` carries a character cut by the block's end over
    to the next block; ``tail``, the end of the block before from its last starter (see
    :func:`_carried`), is checked with this one, as combining marks may follow their letter
    across blocks.
    """
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return False, tail
    if data.isascii():  # NFC as it is; but a mark that begins the next block may compose with its end
        return True, chr(data[-1]) if data else tail
    try:
        text = tail + decoder.decode(data)
    except UnicodeDecodeError:
        return False, tail
    return unicodedata.is_normalized("NFC", text), _carried(text)


def _carried(text: str) -> str:
    r"""The end of ``text`` from its last starter on: what the next block's first marks may compose with.

    Example:
        >>> _carried("xa\u0323") == "a\u0323", _carried("ab")
        (True, 'b')
    """
    for back in range(1, min(len(text), _MARKS_IN_A_ROW) + 1):
        if not unicodedata.combining(text[-back]):
            return text[-back:]
    return text[-_MARKS_IN_A_ROW:]


def _head_text(path: Path, start: int) -> str:
    """The first whole lines after byte ``start``, as the chunked reader samples them for types."""
    with path.open("rb") as handle:
        handle.seek(start)
        head = handle.read(SAMPLE_BYTES * 4)
    if len(head) == SAMPLE_BYTES * 4:
        head = head[: head.rfind(b"\n") + 1]
    return _unix(head.decode("utf-8", errors="surrogateescape"))


# -- chunks ----------------------------------------------------------------------------------


def _batches(path: Path, enc: str, dialect: Dialect, options: _Options, chunk_bytes: int) -> Iterator[Batch]:
    line = 1
    first = True
    header_bytes = _header_length(path, enc) if dialect.header and enc in ("utf-8", "utf-8-sig") else 0
    for chunk in _chunks(path, enc, dialect.quote, chunk_bytes, header_bytes=header_bytes):
        if first and dialect.header:
            if not header_bytes:
                _drop_first_line(chunk)
            line += 1
        if first:
            if options.types is None:
                options.types = _sample_types(_sample_text(chunk), line, dialect, options, str(path))
            first = False
        fast = _read_fast(chunk, line, dialect, options)
        batch = fast or _read_exactly(chunk.text, line, dialect, options, str(path))
        line += _line_count(chunk)
        yield Batch(batch[0], batch[1], bytes_read=chunk.done)
    if first:  # a header and nothing else: no rows, but the columns
        types = {c: options.declared.get(c, pl.String()) for c in dialect.columns}
        yield Batch(pl.DataFrame(schema={**types, LINE: pl.Int64()}), bytes_read=path.stat().st_size)


def _sample_text(chunk: _Chunk) -> str:
    """The first part of a chunk, decoded, for inferring types (the whole chunk if not UTF-8)."""
    if chunk.raw is None or len(chunk.raw) <= SAMPLE_BYTES * 4:
        return chunk.text
    head = chunk.raw[: SAMPLE_BYTES * 4]
    return _unix(head[: head.rfind(b"\n") + 1].decode("utf-8", errors="surrogateescape"))


def _header_length(path: Path, enc: str) -> int:
    """Bytes of a UTF-8 file's header line, newline included (after a BOM)."""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if enc == "utf-8-sig":
        head = head[3:]
    cut = head.find(b"\n")
    return len(head) if cut < 0 else cut + 1


def _drop_first_line(chunk: _Chunk) -> None:
    if chunk.raw is not None:
        cut = chunk.raw.find(b"\n")
        chunk.raw = b"" if cut < 0 else chunk.raw[cut + 1 :]
        chunk._text = None
    else:
        text = chunk.text
        cut = text.find("\n")
        chunk._text = "" if cut < 0 else text[cut + 1 :]


def _line_count(chunk: _Chunk) -> int:
    if chunk.lines is not None:
        return chunk.lines
    if chunk.raw is not None:
        data = chunk.raw
        return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    text = chunk.text
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def _sample_types(
    text: str, line: int, dialect: Dialect, options: _Options, file: str
) -> dict[str, pl.DataType]:
    """Column types from the first ``infer_rows`` rows (declared ones win)."""
    cut = -1
    for _ in range(options.infer_rows):
        cut = text.find("\n", cut + 1)
        if cut < 0:
            break
    sample = text if cut < 0 else text[: _boundary(text[: cut + 1], dialect.quote) + 1] or text
    frame, _ = _parse(sample, line, dialect, file)
    inferred = infer_types(_clean_values(frame, options).drop(LINE, RAW), decimal_comma=dialect.decimal_comma)
    return {**{c: pl.String() for c in dialect.columns}, **inferred, **options.declared}


def _read_fast(
    chunk: _Chunk, line: int, dialect: Dialect, options: _Options
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """The chunk parsed typed by Polars in one pass, when byte counts prove every row sound; else None.

    Polars raises on a row with too many fields or a value that does not fit its type, and
    fills a row with too few fields with nulls; so if it raises nothing and the chunk holds
    exactly (width - 1) separators a line, outside quoted fields, every row has the right
    width. Quoted fields must keep to one line and their quotes to the edges of fields (see
    :class:`PlainQuoting`). Blank lines, bytes that do not decode, non-NFC text or trimming
    send the chunk to the exact path.
    """
    data = _fast_bytes(chunk)
    if data is None or not data or options.trim:
        return None
    sep, width = dialect.separator.encode("utf-8"), len(dialect.columns)
    quote = dialect.quote.encode("utf-8") if dialect.quote is not None else None
    quoted = quote is not None and quote in data
    # With two columns or more a blank line has no separator, so the count below rules it out;
    # with one, look for blank lines outright.
    if width == 1 and (data.startswith((b"\n", b"\r\n")) or b"\n\n" in data or b"\n\r\n" in data):
        return None
    if quoted:
        assert quote is not None
        outside = separators_outside_quotes(data, sep, quote)
        if outside is None:
            return None
        newlines, separators = count_bytes(data, b"\n")[0], outside
    else:
        newlines, separators = count_bytes(data, b"\n", sep)
    lines = newlines + (0 if data.endswith(b"\n") else 1)
    if data is chunk.raw:
        chunk.lines = lines
    if separators != (width - 1) * lines:
        return None
    assert options.types is not None
    try:
        frame = pl.read_csv(
            data,
            has_header=False,
            separator=dialect.separator,
            quote_char=dialect.quote if quoted else None,
            schema={c: options.types[c] for c in dialect.columns},
            null_values=list(options.null_values) or None,
            decimal_comma=dialect.decimal_comma,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        return None
    if frame.height != lines:
        return None
    if quoted:  # a quoted field is text as written: "" and a quoted null value are null, as unquoted
        frame = _clean_values(frame, options)
    numbers = pl.int_range(line, line + lines, dtype=pl.Int64, eager=True).alias(LINE)
    return frame.with_columns(numbers), quarantine_frame()


def _fast_bytes(chunk: _Chunk) -> bytes | None:
    """UTF-8 bytes of the chunk in NFC, when they can be had cheaply; None otherwise."""
    if chunk.raw is not None and chunk.raw.isascii():
        return chunk.raw  # ASCII is UTF-8, and already NFC
    text = chunk.text
    if not chunk.clean or not unicodedata.is_normalized("NFC", text):
        return None
    return chunk.raw if chunk.raw is not None and "\r" not in text else text.encode("utf-8")


def _read_exactly(
    text: str, line: int, dialect: Dialect, options: _Options, file: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The chunk parsed as text line by line, every fault quarantined, then typed."""
    frame, bad = _parse(text, line, dialect, file)
    assert options.types is not None
    good, wrong = conform(
        _clean_values(frame, options), options.types, file=file, decimal_comma=dialect.decimal_comma
    )
    return good, pl.concat([bad, wrong]).sort("line")


@dataclass
class _Chunk:
    """Whole records of the file: as bytes (UTF-8 files) and/or text, and progress so far."""

    done: int
    raw: bytes | None = None
    _text: str | None = None
    clean: bool = True  # every byte decoded (so the text holds no escaped bytes)
    lines: int | None = None  # counted once, by whoever counts first

    @property
    def text(self) -> str:
        if self._text is None:
            assert self.raw is not None
            try:
                self._text = self.raw.decode("utf-8")
            except UnicodeDecodeError:
                self._text, self.clean = self.raw.decode("utf-8", errors="surrogateescape"), False
            self._text = _unix(self._text)
        return self._text


def _chunks(
    path: Path, enc: str, quote: str | None, chunk_bytes: int, *, header_bytes: int = 0
) -> Iterator[_Chunk]:
    """The file cut into whole records (at a newline outside quotes), one chunk at a time.

    UTF-8 files are cut as bytes (a newline byte never sits inside a UTF-8 character), so a
    chunk of plain ASCII reaches Polars without being decoded at all; their first
    ``header_bytes`` (the header line) are skipped. Other encodings are
    decoded strictly until a byte fails; from there on undecodable bytes are kept as lone
    surrogates (``surrogateescape``), which the parser finds and quarantines line by line.
    """
    if enc in ("utf-8", "utf-8-sig"):
        yield from _utf8_chunks(
            path, quote, chunk_bytes, skip=(3 if enc == "utf-8-sig" else 0) + header_bytes
        )
        return
    decoder = codecs.getincrementaldecoder(enc)(errors="strict")
    clean, carry, done = True, "", 0
    with path.open("rb") as handle:
        while True:
            data = handle.read(chunk_bytes)
            done += len(data)
            try:
                decoded = decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                if enc.startswith("utf-16"):
                    raise IngestError(
                        f"{path}: bytes that are not valid {enc} near byte {done - len(data) + exc.start}",
                        hint="pass the right --encoding",
                    ) from exc
                pending, _ = decoder.getstate()
                decoder = codecs.getincrementaldecoder(enc)(errors="surrogateescape")
                decoded = decoder.decode(pending + data, final=not data)
                clean = False
            text = carry + decoded
            if not data:
                if text:
                    yield _Chunk(done, _text=_unix(text), clean=clean)
                return
            cut = _boundary(text, quote)
            if cut >= 0:
                yield _Chunk(done, _text=_unix(text[: cut + 1]), clean=clean)
                carry = text[cut + 1 :]
            else:
                carry = text


def _utf8_chunks(path: Path, quote: str | None, chunk_bytes: int, *, skip: int) -> Iterator[_Chunk]:
    quote_byte = quote.encode("utf-8") if quote else None
    with path.open("rb") as handle:
        position = skip
        while True:
            data = _read_whole_lines(handle, position, chunk_bytes)
            if data is not None:  # up to the last newline the chunk would hold: no copy to cut it
                quoted = quote_byte if quote_byte is not None and quote_byte in data else None
                if quoted is None or not data.count(quoted, 0, len(data) - 1) % 2:
                    yield _Chunk(position + len(data), raw=data)
                    position += len(data)
                    continue
            handle.seek(position)
            data = handle.read(chunk_bytes)
            if len(data) < chunk_bytes:  # the rest of the file
                if data:
                    yield _Chunk(position + len(data), raw=data)
                return
            cut = data.rfind(b"\n")
            # With no quote in the chunk every newline ends a record: no need to count quotes.
            quoted = quote_byte if quote_byte is not None and quote_byte in data else None
            while quoted is not None and cut >= 0 and data.count(quoted, 0, cut) % 2:
                cut = data.rfind(b"\n", 0, cut)
            if cut < 0:  # one record longer than a chunk: read more at once
                chunk_bytes *= 2
                continue
            yield _Chunk(position + cut + 1, raw=data if cut == len(data) - 1 else data[: cut + 1])
            position += cut + 1


def _read_whole_lines(handle: BinaryIO, position: int, chunk_bytes: int) -> bytes | None:
    """The bytes from ``position`` to the last newline in the next ``chunk_bytes``, read exactly.

    The end of the span is found first from a small read of its last bytes, so the chunk is read
    at its final length rather than read whole and then copied short. None when that is not
    plain: a small chunk, the end of the file, or no newline near the span's end.
    """
    if chunk_bytes <= 2 * _PROBE_BYTES:
        return None
    handle.seek(position + chunk_bytes - _PROBE_BYTES)
    tail = handle.read(_PROBE_BYTES)
    cut = tail.rfind(b"\n")
    if len(tail) < _PROBE_BYTES or cut < 0:
        return None
    length = chunk_bytes - _PROBE_BYTES + cut + 1
    handle.seek(position)
    data = handle.read(length)
    return data if len(data) == length else None


def _unix(text: str) -> str:
    return text.replace("\r\n", "\n") if "\r" in text else text


def _boundary(text: str, quote: str | None) -> int:
    cut = text.rfind("\n")
    if quote is None or quote not in text:
        return cut
    while cut >= 0 and text.count(quote, 0, cut) % 2:
        cut = text.rfind("\n", 0, cut)
    return cut


# -- parsing ---------------------------------------------------------------------------------


def _parse(text: str, first_line: int, dialect: Dialect, file: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows of a chunk as text columns with ``_line`` and ``_raw``, and the rows quarantined."""
    bad_bytes: list[tuple[int | None, str | None, str, str]] = []
    if UNDECODABLE.search(text):
        text, bad_bytes = _drop_undecodable(text, first_line, file)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    lines = _lines(text)
    quote = dialect.quote
    if lines is None or (quote is not None and (lines.str.count_matches(quote, literal=True) % 2 == 1).any()):
        frame, ragged = _parse_slowly(text, first_line, dialect, file)  # records that span lines
    else:
        frame, ragged = _parse_lines(lines, first_line, dialect, file)
    return frame, pl.concat([quarantine_frame(bad_bytes), ragged])


def _drop_undecodable(
    text: str, first_line: int, file: str
) -> tuple[str, list[tuple[int | None, str | None, str, str]]]:
    """Blank out lines holding bytes that did not decode (keeping line numbers) and report them."""
    lines = text.split("\n")
    bad: list[tuple[int | None, str | None, str, str]] = []
    for i, line in enumerate(lines):
        match = UNDECODABLE.search(line)
        if match:
            reason = f"bytes that do not decode in the file's encoding, at character {match.start() + 1}"
            bad.append((first_line + i, file, escape_undecodable(line), reason))
            lines[i] = ""
    return "\n".join(lines), bad


def _lines(text: str) -> pl.Series | None:
    """The chunk's lines as a Series (blank lines null), read by Polars; None if it cannot."""
    absent = next((c for c in _ABSENT if c not in text), None)
    if absent is None or not text:
        return None if text else pl.Series(RAW, [], dtype=pl.String)
    frame = pl.read_csv(
        text.encode("utf-8"),
        has_header=False,
        separator=absent,
        quote_char=None,
        new_columns=[RAW],
        schema={RAW: pl.String()},
        raise_if_empty=False,
    )
    expected = text.count("\n") + (0 if text.endswith("\n") else 1)
    return frame[RAW] if frame.height == expected else None


_QUOTED = {
    q: re.compile(f"{re.escape(q)}(?:[^{re.escape(q)}]|{re.escape(q)}{re.escape(q)})*{re.escape(q)}")
    for q in ('"', "'")
}


def _parse_lines(
    lines: pl.Series, first_line: int, dialect: Dialect, file: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    sep, quote, width = dialect.separator, dialect.quote, len(dialect.columns)
    numbers = pl.int_range(first_line, first_line + len(lines), dtype=pl.Int64, eager=True).alias(LINE)
    table = pl.DataFrame([lines, numbers]).filter(
        pl.col(RAW).is_not_null() & (pl.col(RAW).str.strip_chars() != "")
    )
    raw = table[RAW]
    quoted = quote is not None and raw.str.contains(quote, literal=True).any()
    unquoted = (
        raw.str.replace_all(_QUOTED[quote].pattern if quote in _QUOTED else re.escape(quote), "")
        if quoted and quote
        else raw
    )
    fields = unquoted.str.count_matches(sep, literal=True) + 1
    ok = fields == width
    ragged = table.filter(~ok).with_columns(fields.filter(~ok).alias("_n"))
    bad = ragged.select(
        pl.col(LINE).alias("line"),
        pl.lit(file).alias("file"),
        pl.col(RAW).alias("raw"),
        pl.format("expected {} fields, found {}", pl.lit(width), pl.col("_n")).alias("reason"),
    )
    good = table.filter(ok)
    if quoted:
        try:
            parsed = (
                pl.read_csv(
                    good[RAW].str.join("\n").item().encode("utf-8") + b"\n",
                    has_header=False,
                    separator=sep,
                    quote_char=quote,
                    schema={c: pl.String() for c in dialect.columns},
                    raise_if_empty=False,
                )
                if good.height
                else pl.DataFrame(schema={c: pl.String() for c in dialect.columns})
            )
        except pl.exceptions.PolarsError:  # a quote inside a field (a"b,c") that Polars reads otherwise
            parsed = None
        if parsed is None or parsed.height != good.height:
            return _parse_slowly("\n".join(lines.fill_null("").to_list()), first_line, dialect, file)
    else:
        parsed = (
            good.select(
                pl.col(RAW).str.split_exact(sep, width - 1).struct.rename_fields(dialect.columns)
            ).unnest(RAW)
            if width > 1
            else good.select(pl.col(RAW).alias(dialect.columns[0]))
        )
    frame = pl.concat([parsed, good.select(LINE, RAW)], how="horizontal")
    return frame, bad.cast({"line": pl.Int64, "file": pl.String, "raw": pl.String, "reason": pl.String})


def _parse_slowly(
    text: str, first_line: int, dialect: Dialect, file: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records that may span lines, with Python's csv module: slower, exact for any quoting."""
    width, lines = len(dialect.columns), text.split("\n")
    reader = csv.reader(
        io.StringIO(text),
        delimiter=dialect.separator,
        quotechar=dialect.quote or '"',
        quoting=csv.QUOTE_MINIMAL if dialect.quote else csv.QUOTE_NONE,
        strict=True,
    )
    rows: list[list[str]] = []
    numbers: list[int] = []
    raws: list[str] = []
    bad: list[tuple[int | None, str | None, str, str]] = []
    start = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            end = reader.line_num
            bad.append(
                (first_line + start - 1, file, "\n".join(lines[start - 1 : end]), f"cannot parse: {exc}")
            )
            start = end + 1
            continue
        end = reader.line_num
        raw = "\n".join(lines[start - 1 : end])
        if record and any(cell.strip() for cell in record):
            if len(record) == width:
                rows.append(record)
                numbers.append(first_line + start - 1)
                raws.append(raw)
            else:
                bad.append(
                    (first_line + start - 1, file, raw, f"expected {width} fields, found {len(record)}")
                )
        start = end + 1
    frame = pl.DataFrame(rows, schema={c: pl.String() for c in dialect.columns}, orient="row")
    frame = frame.with_columns(
        pl.Series(LINE, numbers, dtype=pl.Int64), pl.Series(RAW, raws, dtype=pl.String)
    )
    return frame, quarantine_frame(bad)


def _clean_values(frame: FrameT, options: _Options) -> FrameT:
    """Fields as CSV reads them: empty ones null, like ``null_values``; stripped with ``trim``."""
    return cleaned(frame, null_values=[*options.null_values, ""], trim=options.trim)
