"""The ingest step: a file becomes a dataset version, with the file as its recorded source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3
import polars as pl

from datawheel.errors import IngestError
from datawheel.ingest import LINE, FileFormat, read_file
from datawheel.lineage import VersionInfo, now
from datawheel.pipeline._fingerprint import code_fingerprint
from datawheel.pipeline._record import run_step
from datawheel.store import SOURCE
from datawheel.workspace import Workspace

FILE = "file"


@dataclass(frozen=True)
class IngestReport:
    """What an ingest committed: the new version, and how the file was read."""

    version: VersionInfo
    format: FileFormat
    source: str

    @property
    def ref(self) -> str:
        """The ref of the version made, e.g. ``sms@1``."""
        return self.version.ref

    @property
    def rows(self) -> int:
        """Rows committed."""
        return self.version.rows

    @property
    def execution_id(self) -> int:
        """The ingest execution in the lineage graph."""
        assert self.version.execution_id is not None
        return self.version.execution_id

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of an ingest: the version's, with format and source."""
        return {**self.version.to_dict(), "format": self.format, "source": self.source}


def file_digest(path: Path) -> str:
    """The BLAKE3 digest of a file's bytes, read in chunks."""
    hasher = blake3.blake3()
    try:
        with path.open("rb") as src:
            while chunk := src.read(1 << 20):
                hasher.update(chunk)
    except FileNotFoundError as exc:
        raise IngestError(f"no file {path}", hint="check the path") from exc
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror}", hint="check the file's permissions") from exc
    digest: str = hasher.hexdigest()
    return digest


def ingest_file(
    workspace: Workspace,
    path: Path,
    *,
    name: str,
    format: FileFormat | None = None,
    has_header: bool = True,
    columns: list[str] | None = None,
    separator: str | None = None,
    key: list[str] | None = None,
    message: str = "",
) -> IngestReport:
    """Read a file and commit it as the next version of dataset ``name``.

    The file is recorded in lineage as a ``file`` artifact (its path, URI, size and BLAKE3
    digest), read by an ``ingest`` execution that wrote the new version. Every row gets
    ``_source``: the file, the line it came from and the execution that read it.
    """
    path = path.resolve()
    digest = file_digest(path)
    source = workspace.lineage.add_artifact(
        FILE, str(path), digest=digest, uri=path.as_uri(), properties={"size": path.stat().st_size}
    )
    parameters: dict[str, Any] = {
        "path": str(path),
        "name": name,
        "format": format,
        "has_header": has_header,
        "columns": columns,
        "separator": separator,
        "key": key,
    }
    with run_step(
        workspace,
        "ingest",
        parameters=parameters,
        inputs=[source],
        code_fingerprint=code_fingerprint(read_file),
    ) as run:
        result = read_file(path, format=format, has_header=has_header, columns=columns, separator=separator)
        frame = result.frame.with_columns(
            pl.struct(
                pl.lit(str(path)).alias("file"),
                pl.col(LINE).alias("line"),
                pl.lit(run.execution.id, pl.Int64).alias("execution"),
                pl.lit(now()).alias("ingested_at"),
            ).alias(SOURCE)
        ).drop(LINE)
        version: VersionInfo = run.commit(name, frame, key=key, message=message or f"ingest {path.name}")
    return IngestReport(version, result.format, str(path))
