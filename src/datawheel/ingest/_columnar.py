"""Parquet and Arrow IPC: columnar files read in batches of rows, the row number as the line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from datawheel.errors import IngestError
from datawheel.ingest._batch import LINE, Batch, Reading, check_file, read_as


def read_parquet(path: Path, *, batch_rows: int = 500_000) -> Reading:
    """Open a Parquet file, read in batches of rows; the row number stands in for the line."""
    size = check_file(path)
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:
        raise IngestError(f"{path} is not a readable Parquet file: {exc}", hint="check the file") from exc
    names, clash = read_as(parquet.schema_arrow.names)
    if clash is not None:
        raise IngestError(f"{path}: columns {clash}", hint="rename one of them in the file")
    return Reading("parquet", str(path), _parquet_batches(parquet, names, size, batch_rows), None, size)


def _parquet_batches(
    parquet: pq.ParquetFile, names: dict[str, str], size: int, batch_rows: int
) -> Iterator[Batch]:
    """The file's rows in batches, columns named ``names``; a file of no rows gives one empty batch."""
    rows = parquet.metadata.num_rows
    if not rows:
        return _numbered([(parquet.schema_arrow.empty_table(), size)], names)

    def sized() -> Iterator[tuple[pa.RecordBatch, int]]:
        done = 0
        for record_batch in parquet.iter_batches(batch_size=batch_rows):
            done += record_batch.num_rows
            yield record_batch, size * done // rows

    return _numbered(sized(), names)


def _numbered(
    tables: Iterable[tuple[pa.RecordBatch | pa.Table, int]], names: dict[str, str]
) -> Iterator[Batch]:
    """Arrow tables, each with the bytes read once it is, as batches with the row number as ``_line``.

    Columns are named ``names``; rows are numbered from 1 across the tables.
    """
    start = 1
    for table, done in tables:
        frame = pl.DataFrame(pl.from_arrow(table)).rename(names)
        line = pl.int_range(start, start + frame.height, dtype=pl.Int64).alias(LINE)
        yield Batch(frame.with_columns(line), bytes_read=done)
        start += frame.height


def read_arrow(path: Path, *, batch_rows: int = 500_000) -> Reading:
    """Open an Arrow IPC file (Feather v2, ``.arrow``) or stream, read in batches of rows.

    Both IPC formats are read: the file format (Polars' ``write_ipc``, pandas' ``to_feather``)
    and the stream format (what Hugging Face ``datasets`` saves as ``data-*.arrow``). Record
    batches are read one at a time, so memory holds a batch and not the file, and are gathered
    or cut into batches of ``batch_rows``. The row number (from 1) stands in for the line.

    Raises:
        IngestError: The file is not Arrow IPC (Feather version 1 is not read), two columns
            clash, a stream is cut off or damaged (naming the byte reached, before any row is
            read), or a file's footer or a batch is (naming the row reached).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "t.arrow"
        >>> pl.DataFrame({"x": [1, 2, 3]}).write_ipc(path)
        >>> [b.frame.rows() for b in read_arrow(path, batch_rows=2).batches]
        [[(1, 1), (2, 2)], [(3, 3)]]
    """
    size = check_file(path)
    source = pa.OSFile(str(path))
    try:
        reader = _ipc_reader(path, source)
        names, clash = read_as(reader.schema.names)
        if clash is not None:
            raise IngestError(f"{path}: columns {clash}", hint="rename one of them in the file")
    except IngestError:
        source.close()
        raise
    return Reading("arrow", str(path), _arrow_batches(path, source, reader, names, batch_rows), None, size)


def _ipc_reader(path: Path, source: pa.OSFile) -> ipc.RecordBatchFileReader | ipc.RecordBatchStreamReader:
    """A reader of the IPC file or stream ``source`` (at ``path``), after checking that it is whole.

    A stream cut where a batch ends would read without error, its last rows lost: a stream
    must end with the end-of-stream marker its writer puts there when it closes.
    """
    start = source.read(6)
    source.seek(0)
    if start.startswith(b"FEA1"):
        raise IngestError(
            f"{path} is a Feather version 1 file, an old format datawheel does not read",
            hint="write it again as Feather version 2 (Arrow IPC): "
            "pyarrow.feather.write_feather(pyarrow.feather.read_table(old), new)",
        )
    try:
        if start == b"ARROW1":
            try:
                return ipc.open_file(source)
            except (OSError, pa.ArrowInvalid) as exc:
                raise IngestError(
                    f"{path} is an Arrow IPC file that is cut off or damaged (no readable footer): {exc}",
                    hint="write or download the file again",
                ) from exc
        ipc.read_schema(source)
    except (OSError, pa.ArrowInvalid) as exc:
        raise IngestError(
            f"{path} is not a readable Arrow IPC file: {exc}",
            hint="check the file, or give its format with --format",
        ) from exc
    with pa.memory_map(str(path)) as mapped:  # mapped, so that bodies are passed over unread
        _check_stream_end(path, mapped)
    source.seek(0)
    return ipc.open_stream(source)


_END_OF_STREAM = (b"\xff\xff\xff\xff\x00\x00\x00\x00", b"\x00\x00\x00\x00")  # and before Arrow 0.15


def _check_stream_end(path: Path, mapped: pa.MemoryMappedFile) -> None:
    """Raise unless every message of the stream is whole and the end-of-stream marker follows.

    The messages are walked once (their bodies mapped, not read); the bytes after the last
    whole message must be exactly the marker.
    """
    messages = ipc.MessageReader.open_stream(mapped)
    last = mapped.tell()
    try:
        while True:
            messages.read_next_message()
            last = mapped.tell()
    except StopIteration:
        pass
    except (OSError, pa.ArrowInvalid) as exc:
        raise IngestError(
            f"{path} is an Arrow IPC stream that is cut off or damaged after byte {last:,}: {exc}",
            hint="write or download the file again",
        ) from exc
    if mapped.read_at(mapped.size() - last, last) not in _END_OF_STREAM:
        raise IngestError(
            f"{path} is an Arrow IPC stream that is cut off after byte {last:,}: "
            "it does not end with the end-of-stream marker",
            hint="write or download the file again; a writer puts the marker there when it is closed",
        )


def _arrow_batches(
    path: Path,
    source: pa.OSFile,
    reader: ipc.RecordBatchFileReader | ipc.RecordBatchStreamReader,
    names: dict[str, str],
    batch_rows: int,
) -> Iterator[Batch]:
    """The rows of an IPC file or stream in batches of ``batch_rows``; none gives one empty batch."""
    with source:
        batches = _record_batches(path, source, reader)
        yield from _numbered(_regrouped(batches, reader.schema, batch_rows, end=source.size()), names)


def _regrouped(
    record_batches: Iterable[tuple[pa.RecordBatch, int]], schema: pa.Schema, batch_rows: int, *, end: int
) -> Iterator[tuple[pa.Table, int]]:
    """Record batches (each with the bytes read once it is) gathered or cut into ``batch_rows`` rows.

    The last table comes with ``end``, the bytes read once every batch is.

    Example:
        >>> sizes = [(2, 10), (5, 20), (1, 30)]  # rows, and bytes read once the batch is
        >>> batches = [(pa.record_batch({"x": list(range(n))}), done) for n, done in sizes]
        >>> [(t.num_rows, done) for t, done in _regrouped(batches, batches[0][0].schema, 3, end=32)]
        [(3, 20), (3, 20), (2, 32)]
    """
    pieces: list[pa.RecordBatch] = []
    held, given, done = 0, False, 0
    for record_batch, done in record_batches:
        rest = record_batch
        while rest.num_rows:  # a batch longer than the room left is cut
            piece = rest.slice(0, batch_rows - held)
            rest = rest.slice(piece.num_rows)
            pieces.append(piece)
            held += piece.num_rows
            if held == batch_rows:
                yield pa.Table.from_batches(pieces, schema), done
                pieces, held, given = [], 0, True
    if held or not given:
        yield pa.Table.from_batches(pieces, schema), end


def _record_batches(
    path: Path, source: pa.OSFile, reader: ipc.RecordBatchFileReader | ipc.RecordBatchStreamReader
) -> Iterator[tuple[pa.RecordBatch, int]]:
    """Each record batch of ``reader``, with the bytes read so far; broken bytes are an error."""
    size, rows = source.size(), 0
    try:
        if isinstance(reader, ipc.RecordBatchFileReader):
            count = reader.num_record_batches
            for i in range(count):
                batch = reader.get_batch(i)
                rows += batch.num_rows
                yield batch, size * (i + 1) // count
        else:
            for batch in reader:
                rows += batch.num_rows
                yield batch, source.tell()
    except (OSError, pa.ArrowInvalid) as exc:
        raise IngestError(
            f"{path}: the Arrow IPC data breaks off after row {rows:,}: {exc}",
            hint="the file is cut off or damaged; write or download it again",
        ) from exc
