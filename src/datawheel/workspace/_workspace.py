"""The workspace: one folder's datasets, blobs and metadata, behind one object."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import polars as pl

from datawheel.errors import RefError, WorkspaceError
from datawheel.lineage import (
    ArtifactInfo,
    Catalog,
    DatasetInfo,
    LineageGraph,
    OpenLineageEmitter,
    SourceCatalog,
    VersionInfo,
    connect,
    migrate,
    session_factory,
)
from datawheel.store import (
    ROW_ID,
    BlobStore,
    DiffResult,
    ExportFormat,
    RowIdentity,
    TableStore,
    check_dataset_name,
    check_keys,
    check_tag,
    data_columns,
    diff_versions,
    identify_scan,
    number_repeats,
    parse_ref,
    write_frame,
)
from datawheel.workspace._config import CONFIG_FILE, STATE_DIR, config_text, find_root, load_config


def current_user() -> str:
    """Who is acting: ``DATAWHEEL_USER``, else the login name."""
    try:
        return os.environ.get("DATAWHEEL_USER") or getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


class Workspace:
    """A folder with ``datawheel.toml`` and ``.datawheel/``: datasets, blobs, metadata.

    Open one with :meth:`open` (searching upward from a folder, like git) or make one with
    :meth:`init`. Use it as a context manager, or call :meth:`close`, to release the database.

    Example:
        >>> import tempfile
        >>> with Workspace.init(Path(tempfile.mkdtemp())) as ws:
        ...     v1 = ws.commit("people", pl.DataFrame({"id": [1, 2], "name": ["Ann", "Bo"]}), key=["id"])
        ...     v2 = ws.commit("people", pl.DataFrame({"id": [2, 3], "name": ["Bo", "Cy"]}))
        ...     d = ws.diff("people@1", "people@2")
        ...     (v2.ref, v2.rows, d.added, d.removed, d.changed)
        ('people@2', 2, 1, 1, 0)
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = load_config(root)
        self.state = root / STATE_DIR
        self.engine = connect(self.config.database_url)
        try:
            migrate(self.engine)
        except BaseException:
            self.engine.dispose()
            raise
        sessions = session_factory(self.engine)
        self.catalog = Catalog(sessions)
        self.lineage = LineageGraph(sessions)
        self.sources = SourceCatalog(sessions)
        self.tables = TableStore(self.state / "tables", compression=self.config.compression)
        self.blobs = BlobStore(self.state / "blobs")
        self.user = current_user()
        self._openlineage: OpenLineageEmitter | None = None

    @classmethod
    def init(
        cls, folder: str | os.PathLike[str], *, database_url: str | None = None, name: str | None = None
    ) -> Workspace:
        """Make ``folder`` (a path, or its text) a workspace, creating it if needed, and open it."""
        root = Path(folder).resolve()
        if (root / CONFIG_FILE).exists():
            raise WorkspaceError(
                f"{root} is already a datawheel workspace",
                hint="use it as it is, or choose another folder",
            )
        try:
            (root / STATE_DIR).mkdir(parents=True, exist_ok=True)
            (root / STATE_DIR / ".gitignore").write_text("*\n", encoding="utf-8")
            (root / CONFIG_FILE).write_text(
                config_text(name or root.name, database_url=database_url), encoding="utf-8"
            )
        except OSError as exc:
            raise WorkspaceError(
                f"cannot create a workspace in {root}: {exc.strerror}",
                hint="choose a writable folder",
            ) from exc
        return cls(root)

    @classmethod
    def open(cls, folder: str | os.PathLike[str] | None = None) -> Workspace:
        """Open the workspace at or above ``folder`` (a path or its text; the current folder by default)."""
        return cls(find_root(Path(folder) if folder is not None else Path.cwd()))

    def close(self) -> None:
        """Release the metadata database connections."""
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    @property
    def openlineage(self) -> OpenLineageEmitter | None:
        """The OpenLineage event writer, when ``[lineage] openlineage_file`` is set."""
        if self._openlineage is None and self.config.openlineage_file is not None:
            self._openlineage = OpenLineageEmitter(
                self.config.openlineage_file, namespace=f"datawheel://{self.config.name}"
            )
        return self._openlineage

    # -- datasets --------------------------------------------------------------------------

    def commit(
        self,
        name: str,
        frames: pl.DataFrame | Iterable[pl.DataFrame],
        *,
        key: Sequence[str] | None = None,
        message: str = "",
        execution_id: int | None = None,
    ) -> VersionInfo:
        """Commit a frame, or a stream of batches, as the next version of dataset ``name``.

        Rows keep a ``_row_id`` they already have (read from an earlier version); new rows get
        one from the dataset's key columns, else from their content. ``_row_hash`` is always
        recomputed. Batches are written as they come, so a version larger than memory can be
        committed. The write is atomic: if it fails, the previous version stays the latest.
        """
        check_dataset_name(name)
        key = list(key) if key else list(self.catalog.dataset_key(name))
        identity = RowIdentity(key)
        shape: dict[str, Any] = {"rows": 0, "schema": None}

        def identified() -> Iterator[pl.DataFrame]:
            for batch in [frames] if isinstance(frames, pl.DataFrame) else frames:
                table = identity.apply(batch)
                shape["rows"] += table.height
                shape["schema"] = shape["schema"] or table.schema
                yield table

        delta_version = self.tables.write(name, identified())
        columns = {c: str(t) for c, t in shape["schema"].items()}
        return self.catalog.add_version(
            name,
            delta_version=delta_version,
            rows=shape["rows"],
            columns=columns,
            key=key,
            author=self.user,
            message=message,
            execution_id=execution_id,
        )

    def commit_scan(
        self,
        name: str,
        frame: pl.LazyFrame,
        *,
        key: Sequence[str] | None = None,
        message: str = "",
        execution_id: int | None = None,
        counted: Callable[[int], None] | None = None,
        rows: int | None = None,
    ) -> VersionInfo:
        """Commit a lazy frame of new rows as the next version of ``name``, in one streaming pass.

        For rows that are all new (no ``_row_id`` yet): Polars reads, identifies and writes the
        rows at once on every core, giving the ids :meth:`commit` gives the same rows. Without a
        key (given, or the dataset's), repeats of a content are then numbered; with one, a row
        with an empty key, or two rows with one key, raise ``KeyConflict`` once the rows are
        written, and nothing is committed. ``counted`` is called with the rows identified so far,
        piece by piece, for progress. Errors in the data (a value that does not parse, say) are
        raised as Polars raises them, and nothing is committed; so is a count of rows other
        than ``rows``, when given (``RowCountError``).
        """
        check_dataset_name(name)
        key = list(key) if key else list(self.catalog.dataset_key(name))
        prints: list[np.ndarray] = []  # the keys' fingerprints, as the rows stream
        delta_version, rows, schema = self.tables.write_scan(
            name,
            identify_scan(frame, key=key, counted=counted, prints=prints if key else None),
            prepare=(
                partial(check_keys, key=key, prints=prints)
                if key
                else partial(number_repeats, write=self.tables.write_part)
            ),
            rows=rows,
        )
        return self.catalog.add_version(
            name,
            delta_version=delta_version,
            rows=rows,
            columns={c: str(t) for c, t in schema.items()},
            key=key,
            author=self.user,
            message=message,
            execution_id=execution_id,
        )

    def resolve(self, ref: str) -> VersionInfo:
        """The version a ref (``NAME``, ``NAME@N``, ``NAME@TAG``) names."""
        parsed = parse_ref(ref)
        return self.catalog.resolve(parsed.name, version=parsed.version, tag=parsed.tag)

    def scan(self, ref: str | VersionInfo, *, columns: Sequence[str] | None = None) -> pl.LazyFrame:
        """A lazy frame over a version, for reading only what a query needs."""
        info = ref if isinstance(ref, VersionInfo) else self.resolve(ref)
        return self.tables.scan(info.dataset, info.delta_version, columns)

    def find_rows(self, ref: str | VersionInfo, id_prefix: str, *, limit: int | None = None) -> pl.DataFrame:
        """The rows of a version whose ``_row_id`` starts with ``id_prefix`` (hex digits, either case).

        A short id, as ``datawheel diff`` prints it, finds its row. Text that is not hex, or
        that starts no row's id, is an error.
        """
        info = ref if isinstance(ref, VersionInfo) else self.resolve(ref)
        prefix = id_prefix.strip().lower()
        if not prefix or any(c not in "0123456789abcdef" for c in prefix):
            raise RefError(
                f"{id_prefix!r} is not the start of a row id",
                hint="a row id is hex digits (0-9, a-f), as `datawheel show` and `datawheel diff` print it",
            )
        found = self.scan(info).filter(pl.col(ROW_ID).str.starts_with(prefix))
        rows = (found if limit is None else found.head(limit)).collect()
        if rows.is_empty():
            raise RefError(
                f"no row of {info.ref} has an id starting with {id_prefix!r}",
                hint=f"list its rows' ids with `datawheel show {info.ref}`",
            )
        return rows

    def read(self, ref: str | VersionInfo, *, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """Read a version into memory, with its ``_row_id``, ``_row_hash`` and ``_source``."""
        info = ref if isinstance(ref, VersionInfo) else self.resolve(ref)
        frame = self.tables.read(info.dataset, info.delta_version, columns)
        if columns is None and frame.height != info.rows:
            raise RefError(
                f"{info.ref} should hold {info.rows} rows but its table gives {frame.height}",
                hint=f"the table at {self.tables.path(info.dataset)} was changed outside datawheel; "
                "restore it from a backup",
            )
        return frame

    def versions(self, name: str) -> list[VersionInfo]:
        """Every version of a dataset, oldest first."""
        return self.catalog.versions(parse_ref(name).name)

    def datasets(self) -> list[DatasetInfo]:
        """Every dataset of the workspace, by name."""
        return self.catalog.datasets()

    def tag(self, ref: str, tag: str, *, move: bool = False) -> VersionInfo:
        """Name the version ``ref`` resolves to with ``tag``."""
        info = self.resolve(ref)
        return self.catalog.tag(info.dataset, info.version, check_tag(tag), move=move)

    def diff(self, a: str, b: str, *, sample: int = 5) -> DiffResult:
        """Rows added, removed and changed from version ``a`` to version ``b``."""
        va, vb = self.resolve(a), self.resolve(b)
        return diff_versions(self.scan(va), self.scan(vb), a_name=va.ref, b_name=vb.ref, sample=sample)

    def export(self, ref: str, path: Path, *, data_only: bool = False) -> tuple[VersionInfo, ExportFormat]:
        """Write a version to ``path`` as Parquet, CSV, TSV or JSONL (by suffix)."""
        info = self.resolve(ref)
        frame = self.read(info)
        if data_only:
            frame = frame.select(data_columns(frame.columns))
        return info, write_frame(frame, path)

    def artifact(self, ref: str) -> ArtifactInfo:
        """The lineage artifact of the version a ref names."""
        return self.lineage.artifact(self.resolve(ref).artifact_id)
