"""``datawheel.toml``: where a workspace is, and what it is configured to use."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from datawheel.errors import WorkspaceError
from datawheel.store import COMPRESSIONS, Compression

CONFIG_FILE = "datawheel.toml"
STATE_DIR = ".datawheel"
DATABASE_URL_ENV = "DATAWHEEL_DATABASE_URL"
OPENLINEAGE_ENV = "DATAWHEEL_OPENLINEAGE_FILE"


@dataclass(frozen=True)
class WorkspaceConfig:
    """The settings of a workspace, after environment variables are applied."""

    name: str
    database_url: str
    openlineage_file: Path | None
    compression: Compression = "zstd"


def config_text(name: str, *, database_url: str | None = None) -> str:
    """The ``datawheel.toml`` that ``datawheel init`` writes."""
    url_line = (
        f'url = "{database_url}"'
        if database_url
        else (
            '# url = "postgresql+psycopg://127.0.0.1:5432/datawheel"   '
            "# default: SQLite at .datawheel/metadata.db"
        )
    )
    return (
        "# A datawheel workspace: datasets, their versions and their lineage.\n"
        f'[workspace]\nname = "{name}"\n\n'
        "[metadata]\n"
        "# The environment variable DATAWHEEL_DATABASE_URL overrides this.\n"
        f"{url_line}\n\n"
        "[lineage]\n"
        "# Write OpenLineage run events (one JSON object a line) for Marquez or DataHub:\n"
        '# openlineage_file = ".datawheel/openlineage.jsonl"\n\n'
        "[store]\n"
        "# How the tables' Parquet files are compressed: zstd (the default, smallest), lz4 or\n"
        "# snappy (faster to write, larger files), or uncompressed.\n"
        '# compression = "zstd"\n'
    )


def find_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` that holds a ``datawheel.toml``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise WorkspaceError(
        f"no datawheel workspace in {start} or any folder above it",
        hint="run `datawheel init` to make one here, or change to a folder inside a workspace",
    )


def load_config(root: Path) -> WorkspaceConfig:
    """Read ``root/datawheel.toml``; ``DATAWHEEL_DATABASE_URL`` overrides its database URL."""
    path = root / CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(
            f"{path} is not valid TOML: {exc}",
            hint="fix the file, or run `datawheel init` in a new folder",
        ) from exc
    except OSError as exc:
        raise WorkspaceError(
            f"cannot read {path}: {exc.strerror}", hint="check the file's permissions"
        ) from exc
    workspace = _table(data, "workspace", path)
    metadata = _table(data, "metadata", path)
    lineage = _table(data, "lineage", path)
    url = os.environ.get(DATABASE_URL_ENV) or str(metadata.get("url") or "")
    if not url:
        url = f"sqlite:///{root / STATE_DIR / 'metadata.db'}"
    ol_file = os.environ.get(OPENLINEAGE_ENV) or lineage.get("openlineage_file")
    compression = _table(data, "store", path).get("compression", "zstd")
    if compression not in COMPRESSIONS:
        raise WorkspaceError(
            f"{path}: [store] compression = {compression!r} is not one of {', '.join(COMPRESSIONS)}",
            hint='write compression = "zstd", or remove the line',
        )
    return WorkspaceConfig(
        name=str(workspace.get("name") or root.name),
        database_url=url,
        openlineage_file=(root / str(ol_file)) if ol_file else None,
        compression=compression,
    )


def _table(data: dict[str, object], key: str, path: Path) -> dict[str, object]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise WorkspaceError(f"{path}: [{key}] must be a table", hint=f"write it as a [{key}] section")
    return value
