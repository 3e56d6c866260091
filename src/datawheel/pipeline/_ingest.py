"""The ingest step: a source becomes a dataset version; every row keeps where it came from."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import blake3
import polars as pl
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from datawheel.errors import IngestError
from datawheel.ingest import (
    FILE,
    LINE,
    QUARANTINE_SCHEMA,
    Batch,
    Download,
    Reading,
    ReadOptions,
    SourceFormat,
    compression_of,
    detect_format,
    download,
    is_glob,
    is_url,
    open_source,
    read_copy,
    scratch_folder,
    shards_digest,
    shards_of,
    shown_url,
)
from datawheel.lineage import ArtifactInfo, VersionInfo, now
from datawheel.pipeline._fingerprint import code_fingerprint
from datawheel.pipeline._ingest_keys import KeyCheck
from datawheel.pipeline._record import StepRun, run_step
from datawheel.pipeline._replay import replayable, without_call
from datawheel.store import ROW_HASH, ROW_ID, SOURCE, KeyConflict, RowCountError, is_system_column
from datawheel.workspace import STATE_DIR, Workspace

QUARANTINE_SUFFIX = ".quarantine"
_DIGEST_BUFFER = 8 << 20
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
Progress = Callable[[int, int], None]
"""Called with (bytes read so far, total bytes or 0) as an ingest goes."""


class QuarantineError(IngestError):
    """``--strict`` ingest found rows it could not take; nothing was committed."""

    exit_code = 1


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did: rows read = rows committed + rows quarantined, always."""

    dataset: str
    version: VersionInfo
    format: SourceFormat
    location: str
    rows_read: int
    rows: int
    quarantined: int
    encoding: str | None = None
    skipped: bool = False
    quarantine: VersionInfo | None = None
    source: str | None = None
    round: int | None = None
    files: int | None = None
    """How many files were read as one table (a folder's or a glob's shards); None for one source."""
    updated: int = 0
    """How many rows of the latest version rows committed replaced (with ``update``)."""

    @property
    def ref(self) -> str:
        """The ref of the version made (or found, when skipped), e.g. ``sms@1``."""
        return self.version.ref

    @property
    def execution_id(self) -> int | None:
        """The ingest execution in the lineage graph."""
        return self.version.execution_id

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of an ingest."""
        return {
            "dataset": self.dataset,
            "version": self.version.version,
            "ref": self.ref,
            "rows": self.rows,
            "rows_read": self.rows_read,
            "quarantined": self.quarantined,
            "dataset_rows": self.version.rows,
            "skipped": self.skipped,
            "updated": self.updated,
            "format": self.format,
            "location": self.location,
            "encoding": self.encoding,
            "execution": self.execution_id,
            "quarantine": self.quarantine.ref if self.quarantine else None,
            "source": self.source,
            "round": self.round,
            "files": self.files,
        }


def quarantine_name(name: str) -> str:
    """The dataset that holds the rows an ingest into ``name`` could not take."""
    return f"{name}{QUARANTINE_SUFFIX}"


@replayable(refs=())
def ingest(
    workspace: Workspace,
    location: str | Path,
    *,
    name: str,
    format: SourceFormat | None = None,
    options: ReadOptions | None = None,
    key: list[str] | None = None,
    meta: dict[str, str] | None = None,
    append: bool = False,
    update: bool = False,
    strict: bool = False,
    source: str | None = None,
    message: str = "",
    progress: Progress | None = None,
) -> IngestReport:
    """Read a source into the next version of dataset ``name``, recorded in lineage.

    The source (a file, maybe compressed, a file at an http(s) URL, a folder of files, or a
    database query) is recorded as an artifact with its digest; the ingest execution reads it
    (and the named acquisition ``source``) and writes the version, within the open collection
    round if there is one. Every row gets ``_source``
    (source name, file, line, execution, round, time) and the ``meta`` values as columns.
    Rows that cannot be read go to ``NAME.quarantine`` with their line and reason, and rows
    read = rows committed + rows quarantined. Reading the same bytes with the same options
    again is a no-op that returns the version made the first time (``skipped``). ``append``
    adds the rows to the latest version (a new collection round) instead of replacing it.
    ``update`` appends too, but a row whose key (``key``, else the dataset's) the latest
    version holds replaces that row, with the same id, where an append would quarantine it:
    corrections to rows already taken. ``strict`` commits nothing if any row would be
    quarantined.
    """
    for k in meta or {}:
        if not k.strip() or is_system_column(k):
            raise IngestError(
                f"--meta {k!r}: a column needs a name, and names starting with '_' are datawheel's own",
                hint="give the value a name without a leading '_', as --meta NAME=VALUE",
            )
    keyed = key or list(workspace.catalog.dataset_key(name))  # a dataset's key is kept
    if update and not keyed:
        raise IngestError(
            f"--update replaces rows by their key, and neither --key nor dataset {name!r} gives one",
            hint="pass --key with the columns that name a row",
        )
    append = append or update
    opts = options or ReadOptions()
    with ExitStack() as stack:
        fetched = _fetch(location, workspace, stack) if opts.query is None else None
        local = fetched.path if fetched is not None else location
        kind = format or detect_format(local, query=opts.query)
        where = shown_url(str(location)) if fetched is not None else _location(location, kind, opts.query)
        surveyed = (  # a large plain file (or such shards) is surveyed, which takes its digest
            fetched is None
            and kind in ("csv", "tsv")
            and (not Path(where).is_file() or compression_of(Path(where)) is None)
        )
        reading = _open(local, where, kind, opts, workspace) if surveyed else None
        if fetched is not None:
            digest = fetched.digest
        else:
            digest = reading.digest if reading is not None and reading.digest else _digest(where, kind, opts)
        parameters = _parameters(
            where, kind, opts, key=key, meta=meta, append=append, update=update, source=source
        )
        found = _already(workspace, name, kind, where, digest, parameters)
        if found is not None:
            return found
        inputs = [_source_artifact(workspace, where, kind, digest, fetched)]
        if source is not None:
            inputs.append(workspace.sources.artifact(source))
        current = workspace.sources.current_round()
        contexts = [current.context_id] if current is not None else []
        reading = reading or _open(local, where, kind, opts, workspace)
        with (
            run_step(
                workspace,
                "ingest",
                parameters=parameters,
                inputs=inputs,
                contexts=contexts,
                code_fingerprint=code_fingerprint(open_source),
            ) as run,
            _closing(reading.batches),
        ):
            tally = _Tally()
            stamp = _Stamp(
                source, run.execution.id, current.number if current else None, now(), dict(meta or {})
            )
            message = message or f"ingest {Path(where).name or where}"
            version = None
            if reading.whole is not None and not append:
                version = _commit_whole(
                    run, name, reading, tally, stamp, where, key=keyed, message=message, progress=progress
                )
            if version is None:
                rows = _stamped(
                    reading.batches,
                    tally,
                    stamp,
                    where,
                    strict=strict,
                    progress=progress,
                    total=reading.total_bytes,
                    keys=_key_check(workspace, name, keyed, where, held=append and not update),
                )
                if append:
                    rows = _after_latest(run, name, rows, key=keyed if update else None, tally=tally)
                version = run.commit(name, rows, key=key, message=message)
            quarantine = _commit_quarantine(workspace, run, name, tally, stamp, append=append)
        if tally.rows_read != tally.committed + tally.quarantined:  # pragma: no cover - an invariant
            raise IngestError(f"lost rows reading {where}", hint="report this as a bug")
        return IngestReport(
            dataset=name,
            version=version,
            format=kind,
            location=where,
            rows_read=tally.rows_read,
            rows=tally.committed,
            quarantined=tally.quarantined,
            encoding=reading.encoding,
            quarantine=quarantine,
            source=source,
            round=stamp.round,
            files=reading.files,
            updated=tally.updated,
        )


def source_location(workspace: Workspace, source: str) -> str | Path:
    """What to ingest for the acquisition source ``source``: its URI, when that is a URL or files here.

    Files here: a file, a folder, or a glob of shards (``exports/*.csv``).
    A URI that is none of these (``s3://…``, ``mailto:…``, a note) is an error that says to
    give the file instead.
    """
    uri = workspace.sources.get(source).uri
    if is_url(uri):
        return uri
    path = Path(uri).expanduser()
    if not path.exists() and not is_glob(path):  # a glob that matches nothing says so when read
        raise IngestError(
            f"source {source!r} has --uri {uri!r}, which is neither an http(s) URL nor a file here",
            hint="pass SOURCE, or change the source's --uri: datawheel sources add NAME --uri … --replace",
        )
    return path


def _open(
    location: str | Path, where: str, kind: SourceFormat, opts: ReadOptions, workspace: Workspace
) -> Reading:
    """The source opened for reading (a large CSV or TSV file is surveyed, and its digest taken).

    ``location`` is what is read (a downloaded file's local copy); ``where``, what rows and
    errors name (the URL it came from).
    """
    if kind == "sql":
        return open_source(str(location), format=kind, options=opts)

    def opened(path: Path) -> Reading:
        return open_source(
            path,
            format=kind,
            options=opts,
            put_blob=workspace.blobs.put_file,
            whole=True,
            scratch=_scratch(workspace),
        )

    path = Path(location)
    return read_copy(path, where, opened) if is_url(where) else opened(path)


def _scratch(workspace: Workspace) -> Path:
    return workspace.root / STATE_DIR / "scratch"


def _fetch(location: str | Path, workspace: Workspace, stack: ExitStack) -> Download | None:
    """A URL's bytes downloaded to a scratch folder that goes when ``stack`` closes; None for a path."""
    if not is_url(location):
        return None
    folder = scratch_folder(_scratch(workspace))
    stack.callback(shutil.rmtree, folder, ignore_errors=True)
    return download(str(location), folder)


@contextmanager
def _closing(batches: Iterable[Batch]) -> Iterator[None]:
    """Close a reader's batches on the way out, so that one reading ahead stops at once."""
    try:
        yield
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


@dataclass
class _Tally:
    rows_read: int = 0
    committed: int = 0
    quarantined: int = 0
    updated: int = 0
    bad: list[pl.DataFrame] = field(default_factory=list)


@dataclass(frozen=True)
class _Stamp:
    source: str | None
    execution: int
    round: int | None
    at: datetime
    meta: dict[str, str]


def _stamped(
    batches: Any,
    tally: _Tally,
    stamp: _Stamp,
    where: str,
    *,
    strict: bool,
    progress: Progress | None,
    total: int,
    keys: KeyCheck | None,
) -> Iterator[pl.DataFrame]:
    for batch in batches:
        tally.rows_read += batch.frame.height + batch.quarantine.height
        frame, bad = batch.frame, batch.quarantine
        if keys is not None:
            frame, taken = keys.split(frame)
            bad = pl.concat([bad, taken]) if taken.height else bad
        tally.committed += frame.height
        if bad.height:
            if strict:
                first = bad.sort("line", nulls_last=True).row(0, named=True)
                raise QuarantineError(
                    f"{first['file'] or where}"
                    + (f", line {first['line']}" if first["line"] else "")
                    + f": {first['reason']} (--strict: nothing committed)",
                    hint="fix the source, or ingest without --strict to quarantine such rows",
                )
            tally.quarantined += bad.height
            tally.bad.append(bad)
        if progress is not None:
            progress(batch.bytes_read, total)
        yield _provenance(frame, stamp, where)


def _key_check(workspace: Workspace, name: str, key: list[str], where: str, *, held: bool) -> KeyCheck | None:
    """The check of a keyed ingest's rows (None without a key); ``held``: the latest rows' keys too."""
    if not key:
        return None
    check = KeyCheck(key, where)
    if held and any(d.name == name for d in workspace.datasets()):
        latest = workspace.resolve(name)
        batches = workspace.scan(latest).select(ROW_ID).collect_batches()
        check.remember((b[ROW_ID] for b in batches), latest.ref)
    return check


def _commit_whole(
    run: StepRun,
    name: str,
    reading: Reading,
    tally: _Tally,
    stamp: _Stamp,
    where: str,
    *,
    key: list[str],
    message: str,
    progress: Progress | None,
) -> VersionInfo | None:
    """Commit a source its reader proved sound in one streaming query; None if a row is amiss.

    The reader's survey cannot see a value that does not fit its column's type, or a line with
    a field too many: Polars raises on those; nor, with a key, an empty or repeated key, which
    the store finds once the rows are written. Then nothing is committed, and the caller reads
    the source again chunk by chunk, which quarantines them.
    """
    assert reading.whole is not None
    if any(k not in reading.whole.collect_schema().names() for k in key):
        return None  # the chunked read names the column
    total, done, lock = reading.total_bytes, [0], threading.Lock()

    def counted(rows: int) -> None:
        if progress is not None:
            with lock:
                done[0] += rows
                progress(total * done[0] // max(reading.rows, 1), total)

    try:
        version = run.commit_scan(
            name,
            _provenance(reading.whole, stamp, where),
            key=key,
            message=message,
            counted=counted,
            rows=reading.rows,
        )
    except (pl.exceptions.PolarsError, KeyConflict):
        return None
    except RowCountError as exc:
        raise IngestError(
            f"{where} changed while it was read: "
            f"{exc.expected:,} rows when surveyed, {exc.written:,} when read",
            hint="ingest it again once nothing writes to it",
        ) from exc
    tally.rows_read = tally.committed = version.rows
    if progress is not None:
        progress(total, total)
    return version


def _provenance(frame: FrameT, stamp: _Stamp, where: str) -> FrameT:
    columns = frame.collect_schema().names()
    clash = [k for k in stamp.meta if k in columns]
    if clash:
        raise IngestError(
            f"--meta {clash[0]} names a column the source already has", hint="choose another name"
        )
    file = pl.col(FILE) if FILE in columns else pl.lit(where, pl.String)
    line = pl.col(LINE).cast(pl.Int64) if LINE in columns else pl.lit(None, pl.Int64)
    source = pl.struct(
        pl.lit(stamp.source, pl.String).alias("source"),
        file.alias("file"),
        line.alias("line"),
        pl.lit(stamp.execution, pl.Int64).alias("execution"),
        pl.lit(stamp.round, pl.Int64).alias("round"),
        pl.lit(stamp.at).alias("ingested_at"),
    ).alias(SOURCE)
    meta = [pl.lit(value, pl.String).alias(key) for key, value in stamp.meta.items()]
    return frame.with_columns(*meta, source).drop(FILE, LINE, strict=False)


def _after_latest(
    run: StepRun,
    name: str,
    rows: Iterator[pl.DataFrame],
    *,
    key: list[str] | None = None,
    tally: _Tally | None = None,
) -> Iterator[pl.DataFrame]:
    """The latest version's rows (ids kept), then the new rows: an appended collection round.

    Both sides are given the union of their columns (a column one side lacks is null there),
    with types relaxed to fit both. With ``key`` (an update), a latest row whose key a new row
    has is left out: its new state comes with the new rows, with the same id (an id comes from
    the key), so the version's diff shows it changed; ``tally.updated`` counts such rows. The
    new rows' keys must then be known before the latest rows are written, so the new rows are
    first written to a scratch folder (a large update need not fit in memory); keys are
    compared whole, by an anti join, never by fingerprint.
    """
    workspace = run.workspace
    if not any(d.name == name for d in workspace.datasets()):
        yield from rows
        return
    latest = workspace.resolve(name)
    run.use(workspace.lineage.artifact(latest.artifact_id), role="updated" if key else "appended to")
    previous = workspace.scan(latest).drop(ROW_HASH)
    rows = (b for b in rows if b.height)  # an empty batch (every row quarantined) types nothing
    with ExitStack() as stack:
        staged: list[Path] = []
        if key:
            folder = scratch_folder(_scratch(workspace))
            stack.callback(shutil.rmtree, folder, ignore_errors=True)
            for number, batch in enumerate(rows):
                staged.append(folder / f"{number:06d}.parquet")
                batch.write_parquet(staged[-1], compression="lz4")
            rows = (pl.read_parquet(path) for path in staged)
        first = next(rows, None)
        if first is None:
            yield from previous.collect_batches()
            return
        fresh = first.with_columns(pl.lit(None, pl.String).alias(ROW_ID))
        schema = pl.concat([previous.head(0).collect(), fresh.head(0)], how="diagonal_relaxed").schema
        if key:
            keys = pl.Schema({k: schema[k] for k in key})
            new_keys = pl.concat([pl.scan_parquet(path).select(key).cast(keys) for path in staged])
            previous = previous.cast(keys).join(new_keys, on=key, how="anti", maintain_order="left")
        kept = 0
        for batch in previous.collect_batches():
            kept += batch.height
            yield _aligned(batch, schema)
        if tally is not None and key:
            tally.updated = latest.rows - kept
        yield _aligned(fresh, schema)
        for batch in rows:
            yield _aligned(batch.with_columns(pl.lit(None, pl.String).alias(ROW_ID)), schema)


def _aligned(batch: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    missing = [pl.lit(None, dtype).alias(c) for c, dtype in schema.items() if c not in batch.columns]
    return batch.with_columns(missing).select(schema.names()).cast(schema)


def _commit_quarantine(
    workspace: Workspace, run: StepRun, name: str, tally: _Tally, stamp: _Stamp, *, append: bool
) -> VersionInfo | None:
    target = quarantine_name(name)
    exists = any(d.name == target for d in workspace.datasets())
    if not tally.bad and not exists:
        return None
    rows = pl.concat(tally.bad) if tally.bad else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    rows = rows.with_columns(
        pl.lit(stamp.execution, pl.Int64).alias("execution"), pl.lit(stamp.at).alias("ingested_at")
    )
    if append and exists:
        earlier = workspace.read(target).drop(ROW_HASH)
        rows = pl.concat([earlier, rows], how="diagonal_relaxed")
    return run.commit(target, rows, message=f"rows the ingest into {name} could not take")


def _location(location: str | Path, kind: SourceFormat, query: str | None) -> str:
    """Where the rows come from: a resolved path, or the database URL (password hidden) and query."""
    if kind != "sql":
        return str(Path(location).resolve())
    try:
        url = make_url(str(location)).render_as_string(hide_password=True)
    except ArgumentError:
        url = str(location)  # the reader reports the malformed URL
    return f"{url} :: {(query or '').strip()}"


def _digest(where: str, kind: SourceFormat, options: ReadOptions) -> str:
    """The source's content digest: its bytes (a file), its listing (a folder), its text (a query)."""
    if kind == "sql":
        return hashlib.sha256(where.encode()).hexdigest()
    path = Path(where)
    shards = shards_of(path, kind)
    if shards is not None:  # each shard's name and bytes: a file added, removed or changed shows
        root, files, _ = shards
        return shards_digest(root, ((f, _file_digest(f)) for f in files))
    if kind == "files":
        listing = sorted(
            (str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
            for p in path.rglob("*")
            if p.is_file()
        )
        return hashlib.sha256(json.dumps(listing).encode()).hexdigest()
    return _file_digest(path)


def _file_digest(path: Path) -> str:
    """BLAKE3 of a file's bytes, on all cores, read into one buffer refilled again and again.

    Reusing the buffer spares the page faults of fresh memory for every read. (Memory-mapping
    the file would spare the copy too, but a file truncated meanwhile would crash the process.)
    """
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    buffer = memoryview(bytearray(_DIGEST_BUFFER))
    try:
        with path.open("rb") as handle:
            while size := handle.readinto(buffer):
                hasher.update(buffer[:size])
    except FileNotFoundError as exc:
        raise IngestError(f"no file {path}", hint="check the path") from exc
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror}", hint="check the file's permissions") from exc
    digest: str = hasher.hexdigest()
    return digest


def _parameters(
    where: str,
    kind: SourceFormat,
    options: ReadOptions,
    *,
    key: list[str] | None,
    meta: dict[str, str] | None,
    append: bool,
    update: bool,
    source: str | None,
) -> dict[str, Any]:
    defaults = ReadOptions()
    read = {k: v for k, v in vars(options).items() if v != getattr(defaults, k)}
    if "schema" in read:
        read["schema"] = {c: str(t) for c, t in read["schema"].items()}
    if "columns" in read:
        read["columns"] = list(read["columns"])
    if "null_values" in read:
        read["null_values"] = list(read["null_values"])
    return {
        "location": where,
        "format": kind,
        "options": read,
        "key": key,
        "meta": meta or {},
        "append": append,
        **({"update": True} if update else {}),  # absent otherwise, as in ingests recorded before it
        "source": source,
    }


def _source_artifact(
    workspace: Workspace, where: str, kind: SourceFormat, digest: str, fetched: Download | None
) -> ArtifactInfo:
    artifact_kind = _artifact_kind(where, kind)
    if artifact_kind == "query":
        return workspace.lineage.add_artifact(artifact_kind, where, digest=digest)
    if fetched is not None:
        properties: dict[str, Any] = {"size": fetched.size, **fetched.headers}
        return workspace.lineage.add_artifact(
            artifact_kind, where, digest=digest, uri=where, properties=properties
        )
    path = Path(where)
    size = path.stat().st_size if path.is_file() else None
    while is_glob(path):  # the address of the folder a glob starts from; the name keeps the pattern
        path = path.parent
    return workspace.lineage.add_artifact(
        artifact_kind,
        where,
        digest=digest,
        uri=path.as_uri(),
        properties={"size": size} if size is not None else {},
    )


def _artifact_kind(where: str, kind: SourceFormat) -> str:
    """The lineage artifact a source is recorded as: a query, a URL, a folder, a file or files (a glob)."""
    if kind == "sql":
        return "query"
    if is_url(where):
        return "url"
    if kind == "files" or Path(where).is_dir():
        return "folder"
    return "files" if is_glob(where) else "file"


def _already(
    workspace: Workspace, name: str, kind: SourceFormat, where: str, digest: str, parameters: dict[str, Any]
) -> IngestReport | None:
    """The report of an earlier ingest of the same bytes with the same options, if there is one."""
    if kind == "sql":
        return None  # a query's result can change while its text does not
    for artifact in workspace.lineage.find_artifacts(_artifact_kind(where, kind), where):
        if artifact.digest != digest:
            continue
        for node in workspace.lineage.downstream(artifact.id, depth=1).nodes:
            if (
                node.kind != "execution"
                or node.name != "ingest"
                or node.properties.get("status") != "completed"
            ):
                continue
            if without_call(node.properties.get("parameters") or {}) != parameters:
                continue
            version = _output_version(workspace, int(node.properties["execution"]), name)
            if version is not None:
                return IngestReport(
                    dataset=name,
                    version=version,
                    format=kind,
                    location=where,
                    rows_read=0,
                    rows=0,
                    quarantined=0,
                    skipped=True,
                    source=parameters.get("source"),
                )
    return None


def _output_version(workspace: Workspace, execution_id: int, name: str) -> VersionInfo | None:
    for version in (
        reversed(workspace.versions(name)) if any(d.name == name for d in workspace.datasets()) else []
    ):
        if version.execution_id == execution_id:
            return version
    return None
