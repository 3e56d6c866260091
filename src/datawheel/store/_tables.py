"""Dataset versions as Delta Lake table versions, one Delta table per dataset."""

from __future__ import annotations

import json
import random
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from datawheel.errors import StoreError


class RowCountError(StoreError):
    """A streamed table did not have the rows it was expected to have."""

    def __init__(self, name: str, *, written: int, expected: int) -> None:
        super().__init__(
            f"dataset '{name}': the query gave {written:,} rows where {expected:,} were expected",
            hint="the source changed while it was read: read it again",
        )
        self.written, self.expected = written, expected


_TOKEN_KEY = "datawheel.commit"
_MAX_ATTEMPTS = 50
_HISTORY_WINDOW = 200
_ROWS_PER_FILE = 2_000_000
_SCRATCH_AGE = 3600.0  # seconds: a scratch folder this old belongs to no running write
Compression = Literal["zstd", "lz4", "snappy", "uncompressed"]
COMPRESSIONS: tuple[Compression, ...] = ("zstd", "lz4", "snappy", "uncompressed")
"""How a table's Parquet files may be compressed; zstd (at its fastest level) is the default."""


class TableStore:
    """Writes and reads whole-table snapshots of datasets under one folder.

    Each commit overwrites the Delta table with the new snapshot (schema changes allowed), so
    every Delta version is a complete dataset version and older ones stay readable by time
    travel. Concurrent writers are retried on ``CommitFailedError``; a writer that dies
    mid-commit leaves no Delta log entry, so the last version stays intact.

    Example:
        >>> import tempfile
        >>> store = TableStore(Path(tempfile.mkdtemp()))
        >>> store.write("sms", pl.DataFrame({"text": ["hi"]}))
        0
        >>> store.scan("sms", 0).collect()["text"].to_list()
        ['hi']
    """

    def __init__(self, root: Path, *, compression: Compression = "zstd") -> None:
        self.root = root
        self.compression = compression

    def path(self, name: str) -> Path:
        """The folder of a dataset's Delta table."""
        return self.root / name

    def write(self, name: str, frames: pl.DataFrame | Iterable[pl.DataFrame]) -> int:
        """Commit the frame, or the frames in order, as the new snapshot of ``name``.

        Each frame is written as Parquet files by Polars (far faster than delta-rs's writer),
        then all are committed in one Delta transaction that replaces the previous snapshot;
        frames after the first are cast to the first's schema. Returns the Delta version.
        A conflicting concurrent commit is retried (the files stay written); if anything fails,
        the files written are removed and the previous version stays the latest.
        """
        path = self.path(name)
        path.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        try:
            actions, schema = self._write_parts(path, frames, written)
            token = uuid.uuid4().hex
            self._commit(name, actions, schema, token)
        except BaseException:
            for part in written:
                part.unlink(missing_ok=True)
            raise
        return self._find_commit(name, token)

    def write_scan(
        self,
        name: str,
        frame: pl.LazyFrame,
        *,
        prepare: Callable[[list[Path]], object] | None = None,
        rows: int | None = None,
    ) -> tuple[int, int, pl.Schema]:
        """Commit a lazy frame as the new snapshot of ``name``, streamed by Polars into Parquet files.

        Polars runs the whole query at once on every core, reading, computing and writing a
        piece at a time, so a table larger than memory streams through; it starts a new file
        every 2,000,000 rows, as :meth:`write` does. ``prepare`` may then rewrite files (see
        :meth:`write_part`), given in row order, before the commit. Returns the Delta version,
        the rows and the schema. ``rows``, when given, is how many rows the query must give;
        other than that is an error (:class:`RowCountError`). If anything fails, the files are
        removed and the previous version stays the latest.
        """
        path = self.path(name)
        _sweep_scratch(path)
        stem = f"part-{uuid.uuid4().hex}"
        # Written in a folder of their own first: when a query fails, Polars may still be
        # creating a file as the error reaches us, and the whole folder goes.
        scratch = path / f"_{stem}"
        scratch.mkdir(parents=True)
        try:
            frame = frame.cast(_storable_casts(frame.collect_schema()), strict=True)  # type: ignore[arg-type]
            written = self._sink_parts(frame, scratch, stem)
            if prepare is not None:
                prepare(written)
            parts = [part.replace(path / part.name) for part in written]
            schema = pl.Schema(pl.read_parquet_schema(parts[0]))
            actions, total = [], 0
            for part in parts:
                count: int = pl.scan_parquet(part).select(pl.len()).collect().item()
                stat = part.stat()
                stats = json.dumps({"numRecords": count})
                actions.append(AddAction(part.name, stat.st_size, {}, int(stat.st_mtime * 1000), True, stats))
                total += count
            if rows is not None and total != rows:
                raise RowCountError(name, written=total, expected=rows)
            token = uuid.uuid4().hex
            self._commit(name, actions, pl.DataFrame(schema=schema).to_arrow().schema, token)
        except BaseException:
            for part in path.glob(f"{stem}*.parquet"):
                part.unlink(missing_ok=True)
            _remove_folder(scratch)
            raise
        shutil.rmtree(scratch, ignore_errors=True)  # empty: its files are the table's now
        return self._find_commit(name, token), total, schema

    def _sink_parts(self, frame: pl.LazyFrame, path: Path, stem: str) -> list[Path]:
        """Sink ``frame`` as files ``stem-00000.parquet``, ``stem-00001.parquet``… in row order.

        Polars' partitioned sink is marked unstable; if this Polars lacks it, one file is
        written instead.
        """
        try:
            target: Path | pl.PartitionBy = pl.PartitionBy(
                str(path),
                file_path_provider=lambda part: f"{stem}-{part.index_in_partition:05d}.parquet",
                max_rows_per_file=_ROWS_PER_FILE,
                approximate_bytes_per_file=None,
            )
        except (AttributeError, TypeError):  # pragma: no cover - an older or newer Polars
            target = path / f"{stem}-00000.parquet"
        self.write_part(frame, target)
        parts = sorted(path.glob(f"{stem}-*.parquet"))
        if not parts:  # no rows: Polars wrote no file
            empty = path / f"{stem}-00000.parquet"
            self.write_part(frame.head(0), empty)
            parts = [empty]
        return parts

    def write_part(self, frame: pl.LazyFrame, target: Path | pl.PartitionBy) -> None:
        """Stream a lazy frame into a Parquet file (or files) as every part of a table is written."""
        frame.sink_parquet(target, statistics=False, **_codec(self.compression))

    def _write_parts(
        self, path: Path, frames: pl.DataFrame | Iterable[pl.DataFrame], written: list[Path]
    ) -> tuple[list[AddAction], pa.Schema]:
        """Write the frames as Parquet parts, one frame written while the next is being made.

        Writing runs in a background thread (Polars releases the GIL), at most one frame behind
        the caller's; every write has finished when this returns or raises.
        """
        schema: pl.Schema | None = None
        actions: list[AddAction] = []
        pending: list[Future[AddAction]] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="datawheel-write") as writer:
            for given in [frames] if isinstance(frames, pl.DataFrame) else frames:
                frame = storable(given)
                if schema is None:
                    schema = frame.schema
                elif frame.schema != schema:
                    frame = _cast_to(frame, schema)
                if frame.height == 0 and (actions or pending):
                    continue
                parts = [
                    writer.submit(
                        _write_part, path, frame.slice(start, _ROWS_PER_FILE), written, self.compression
                    )
                    for start in range(0, max(frame.height, 1), _ROWS_PER_FILE)
                ]
                actions.extend(part.result() for part in pending)  # the frame before: a failed write raises
                pending = parts
            actions.extend(part.result() for part in pending)
        if schema is None:
            raise StoreError(
                "nothing to commit: no frames were given", hint="commit at least one (maybe empty) frame"
            )
        return actions, pl.DataFrame(schema=schema).to_arrow().schema

    def _commit(self, name: str, actions: list[AddAction], schema: pa.Schema, token: str) -> None:
        # No retry inside delta-rs: on a conflict it would replay this overwrite on top of the
        # other writer's and keep both writers' files. The conflict is raised and redone here.
        props = CommitProperties(custom_metadata={_TOKEN_KEY: token}, max_commit_retries=0)
        path = self.path(name)
        for attempt in range(_MAX_ATTEMPTS):
            try:
                if (path / "_delta_log").is_dir() and any((path / "_delta_log").glob("*.json")):
                    table = DeltaTable(str(path))
                    table.create_write_transaction(
                        list[AddAction | RemoveAction](actions),
                        mode="overwrite",
                        schema=DeltaSchema.from_arrow(schema),
                        commit_properties=props,
                    )
                else:
                    create_table_with_add_actions(
                        str(path),
                        DeltaSchema.from_arrow(schema),
                        actions,
                        mode="overwrite",
                        commit_properties=props,
                    )
                return
            except CommitFailedError:
                time.sleep(min(2.0, 0.01 * 2**attempt) * random.uniform(0.5, 1.5))
            except DeltaError as exc:
                if "already exists" in str(exc).lower() or "version" in str(exc).lower():
                    time.sleep(min(2.0, 0.01 * 2**attempt) * random.uniform(0.5, 1.5))
                    continue
                raise StoreError(
                    f"cannot write dataset '{name}' to {path}: {exc}",
                    hint="check that the folder is writable and the disk has room",
                ) from exc
        raise StoreError(
            f"dataset '{name}': gave up after {_MAX_ATTEMPTS} conflicting concurrent commits",
            hint="retry the command when the other writers have finished",
        )

    def _find_commit(self, name: str, token: str) -> int:
        # Read the immutable commit files of the Delta log, newest first: under concurrent
        # writers, DeltaTable.history() can label an entry with a neighbour's version.
        log = self.path(name) / "_delta_log"
        latest = self._open(name).version()
        for version in range(latest, max(-1, latest - _HISTORY_WINDOW), -1):
            entry = log / f"{version:020d}.json"
            with entry.open("rb") as handle:
                for line in handle:
                    if b'"commitInfo"' in line and json.loads(line)["commitInfo"].get(_TOKEN_KEY) == token:
                        return version
        raise StoreError(  # pragma: no cover - needs 200 commits racing with one
            f"dataset '{name}': cannot find the commit just written in the table's log",
            hint="retry the command",
        )

    def _open(self, name: str, version: int | None = None) -> DeltaTable:
        path = self.path(name)
        try:
            return DeltaTable(str(path), version=version)
        except TableNotFoundError as exc:
            raise StoreError(
                f"the table of dataset '{name}' is missing at {path}",
                hint="the workspace's .datawheel/tables folder was moved or deleted; restore it",
            ) from exc
        except (DeltaError, OSError) as exc:
            raise StoreError(
                f"the table of dataset '{name}' at {path} is unreadable"
                + (f" at Delta version {version}" if version is not None else "")
                + f": {exc}",
                hint="restore the folder from a backup, or commit the data again",
            ) from exc

    def scan(self, name: str, delta_version: int, columns: Sequence[str] | None = None) -> pl.LazyFrame:
        """A lazy frame over one Delta version of ``name``, optionally only some columns.

        The data files of the version are checked first (present, of the size the Delta log
        recorded, ending in the Parquet magic), so a damaged table gives a clear error rather
        than a failure deep inside the reader.
        """
        table = self._open(name, delta_version)
        self._check_files(name, delta_version, table)
        frame = pl.scan_delta(table)
        return frame.select(columns) if columns is not None else frame

    def _check_files(self, name: str, delta_version: int, table: DeltaTable) -> None:
        actions = pa.RecordBatchReader.from_stream(table.get_add_actions(flatten=True)).read_all()
        actions = actions.select(["path", "size_bytes"]).to_pylist()
        root = self.path(name)
        for action in actions:
            part = root / unquote(str(action["path"]))
            problem = _file_problem(part, int(action["size_bytes"]))
            if problem:
                raise StoreError(
                    f"the table of dataset '{name}' is corrupt at Delta version {delta_version}: "
                    f"data file {part} {problem}",
                    hint="restore the folder from a backup, or commit the data again",
                )

    def read(self, name: str, delta_version: int, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """Read one Delta version of ``name`` into memory."""
        try:
            return self.scan(name, delta_version, columns).collect()
        except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError, DeltaError) as exc:
            raise StoreError(
                f"the table of dataset '{name}' at {self.path(name)} is corrupt "
                f"(Delta version {delta_version}): {exc}",
                hint="restore the folder from a backup, or commit the data again",
            ) from exc


def _file_problem(path: Path, size: int) -> str | None:
    try:
        actual = path.stat().st_size
        if actual != size:
            return f"has {actual} bytes where the log recorded {size}"
        with path.open("rb") as handle:
            handle.seek(-4, 2)
            if handle.read(4) != b"PAR1":
                return "is not a Parquet file"
    except FileNotFoundError:
        return "is missing"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    return None


_WIDER = {pl.UInt8: pl.Int16(), pl.UInt16: pl.Int32(), pl.UInt32: pl.Int64(), pl.UInt64: pl.Int64()}


def storable(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` in the types a Delta table holds.

    Unsigned integers are widened to signed ones (UInt64 values past Int64's range are an
    error); categoricals, enums and all-null columns become text.

    Example:
        >>> storable(pl.DataFrame({"n": pl.Series([1], dtype=pl.UInt32), "c": ["a"]}).with_columns(
        ...     pl.col("c").cast(pl.Categorical))).schema
        Schema([('n', Int64), ('c', String)])
    """
    changed = _storable_casts(frame.schema)
    if not changed:
        return frame
    try:
        return frame.cast(changed, strict=True)  # type: ignore[arg-type]
    except pl.exceptions.PolarsError as exc:
        raise StoreError(
            f"cannot store columns {', '.join(changed)} as {', '.join(map(str, changed.values()))}: {exc}",
            hint="cast them to types a Delta table holds (signed integers, floats, text, dates…)",
        ) from exc


def _storable_casts(schema: pl.Schema) -> dict[str, pl.DataType]:
    """The columns of ``schema`` a Delta table cannot hold as they are, and the types to hold them as."""
    casts = {name: _storable_type(dtype) for name, dtype in schema.items()}
    return {name: dtype for name, dtype in casts.items() if dtype != schema[name]}


def _storable_type(given: pl.DataType | pl.datatypes.DataTypeClass) -> pl.DataType:
    dtype: pl.DataType = given() if isinstance(given, type) else given
    base = dtype.base_type()
    if base in _WIDER:
        return _WIDER[base]
    if base in (pl.Categorical, pl.Enum, pl.Null):
        return pl.String()
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: _storable_type(f.dtype) for f in dtype.fields})
    if isinstance(dtype, pl.List):
        return pl.List(_storable_type(dtype.inner))
    return dtype


def _remove_folder(folder: Path, *, settle: float = 0.2, patience: float = 3.0) -> None:
    """Remove ``folder`` and see it stay gone for ``settle`` seconds (at most ``patience``).

    After a query fails, Polars' sink may still finish a file a moment later, making the folder
    again; so the folder is removed until it stays away. A folder that still comes back is
    swept by a later write (:func:`_sweep_scratch`).
    """
    deadline, gone_since = time.monotonic() + patience, None
    while time.monotonic() < deadline:
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            gone_since = None
        elif gone_since is None:
            gone_since = time.monotonic()
        elif time.monotonic() - gone_since >= settle:
            return
        time.sleep(0.01)


def _sweep_scratch(path: Path, *, older_than: float = _SCRATCH_AGE) -> None:
    """Remove scratch folders (``_part-…``) of failed writes to ``path`` that are older than an hour."""
    cutoff = time.time() - older_than
    for folder in path.glob("_part-*"):
        try:
            stale = folder.stat().st_mtime < cutoff
        except FileNotFoundError:
            continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)


def _codec(compression: Compression) -> dict[str, Any]:
    """Polars' writer options for a compression (zstd at its fastest level)."""
    return {"compression": compression, "compression_level": 1 if compression == "zstd" else None}


def _write_part(
    folder: Path, frame: pl.DataFrame, written: list[Path], compression: Compression
) -> AddAction:
    name = f"part-{uuid.uuid4().hex}.parquet"
    target = folder / name
    written.append(target)
    frame.write_parquet(target, statistics=False, **_codec(compression))
    stat = target.stat()
    stats = json.dumps({"numRecords": frame.height})
    return AddAction(name, stat.st_size, {}, int(stat.st_mtime * 1000), True, stats)


def _cast_to(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    if list(frame.columns) != list(schema.names()):
        raise StoreError(
            f"a batch has columns {frame.columns}, the first had {list(schema.names())}",
            hint="give every batch of one commit the same columns in the same order",
        )
    try:
        return frame.cast(schema, strict=True)
    except pl.exceptions.PolarsError as exc:
        raise StoreError(
            f"a batch does not fit the first batch's types: {exc}", hint="cast the batches alike"
        ) from exc
