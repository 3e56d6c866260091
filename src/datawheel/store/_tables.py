"""Dataset versions as Delta Lake table versions, one Delta table per dataset."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import polars as pl
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
        props = CommitProperties(custom_metadata={_TOKEN_KEY: token})
        data = frame.to_arrow()
        for attempt in range(_MAX_ATTEMPTS):
            try:
                write_deltalake(
                    str(path), data, mode="overwrite", schema_mode="overwrite",
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
        table = self._open(name)
        for entry in table.history(_HISTORY_WINDOW):
            if entry.get(_TOKEN_KEY) == token:
                return int(entry["version"])
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
        """A lazy frame over one Delta version of ``name``, optionally only some columns."""
        table = self._open(name, delta_version)
        frame = pl.scan_delta(table)
        return frame.select(columns) if columns is not None else frame

    def read(self, name: str, delta_version: int, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """Read one Delta version of ``name`` into memory."""
        try:
            return self.scan(name, delta_version, columns).collect()
        except (pl.exceptions.PolarsError, OSError, DeltaError) as exc:
            raise StoreError(
                f"the table of dataset '{name}' at {self.path(name)} is corrupt "
                f"(Delta version {delta_version}): {exc}",
                hint="restore the folder from a backup, or commit the data again",
            ) from exc
