"""Dataset versions as Delta Lake table versions, one Delta table per dataset."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from datawheel.errors import StoreError

_TOKEN_KEY = "datawheel.commit"
_MAX_ATTEMPTS = 50
_HISTORY_WINDOW = 200


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

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        """The folder of a dataset's Delta table."""
        return self.root / name

    def write(self, name: str, frame: pl.DataFrame) -> int:
        """Commit ``frame`` as the new snapshot of ``name``; return its Delta version."""
        path = self.path(name)
        path.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        # No retry inside delta-rs: it would replay this overwrite on top of a concurrent one and
        # keep both writers' files. A conflict is raised instead, and the whole overwrite redone.
        props = CommitProperties(custom_metadata={_TOKEN_KEY: token}, max_commit_retries=0)
        # One chunk: delta-rs writes the batches of a multi-chunk table concurrently, out of order.
        data = frame.rechunk().to_arrow()
        for attempt in range(_MAX_ATTEMPTS):
            try:
                write_deltalake(
                    str(path),
                    data,
                    mode="overwrite",
                    schema_mode="overwrite",
                    commit_properties=props,
                )
                break
            except CommitFailedError:
                time.sleep(min(2.0, 0.01 * 2**attempt) * random.uniform(0.5, 1.5))
            except (DeltaError, OSError) as exc:
                raise StoreError(
                    f"cannot write dataset '{name}' to {path}: {exc}",
                    hint="check that the folder is writable and the disk has room",
                ) from exc
        else:
            raise StoreError(
                f"dataset '{name}': gave up after {_MAX_ATTEMPTS} conflicting concurrent commits",
                hint="retry the command when the other writers have finished",
            )
        return self._find_commit(name, token)

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
        actions = pa.table(table.get_add_actions(flatten=True)).select(["path", "size_bytes"]).to_pylist()
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
