import os
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from datawheel.errors import RefError, SchemaVersionError, WorkspaceError
from datawheel.lineage import head_revision
from datawheel.workspace import CONFIG_FILE, DATABASE_URL_ENV, Workspace, find_root, load_config


def test_init_writes_config_and_wal_database(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "proj") as ws:
        assert (tmp_path / "proj" / CONFIG_FILE).is_file()
        assert (tmp_path / "proj" / ".datawheel" / "metadata.db").is_file()
        with ws.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
        assert ws.config.name == "proj"


def test_init_twice_is_an_error(tmp_path: Path) -> None:
    Workspace.init(tmp_path).close()
    with pytest.raises(WorkspaceError, match="already a datawheel workspace"):
        Workspace.init(tmp_path)


def test_found_from_a_subfolder(tmp_path: Path) -> None:
    Workspace.init(tmp_path).close()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_root(deep) == tmp_path.resolve()
    with Workspace.open(deep) as ws:
        assert ws.root == tmp_path.resolve()


def test_folder_given_as_text(tmp_path: Path) -> None:
    Workspace.init(str(tmp_path / "proj")).close()
    with Workspace.open(str(tmp_path / "proj")) as ws:
        assert ws.root == (tmp_path / "proj").resolve()


def test_outside_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="no datawheel workspace") as info:
        Workspace.open(tmp_path)
    assert "datawheel init" in str(info.value)


def test_database_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Workspace.init(tmp_path).close()
    other = tmp_path / "elsewhere.db"
    monkeypatch.setenv(DATABASE_URL_ENV, f"sqlite:///{other}")
    assert load_config(tmp_path).database_url == f"sqlite:///{other}"
    Workspace.open(tmp_path).close()
    assert other.is_file()


def test_bad_config(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text("[workspace\nname=", encoding="utf-8")
    with pytest.raises(WorkspaceError, match="is not valid TOML"):
        Workspace.open(tmp_path)
    (tmp_path / CONFIG_FILE).write_text("metadata = 3\n", encoding="utf-8")
    with pytest.raises(WorkspaceError, match=r"\[metadata\] must be a table"):
        Workspace.open(tmp_path)


def test_bad_database_url(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="is not a database URL"):
        Workspace.init(tmp_path, database_url="not a url")


def test_unreachable_database(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="cannot open the metadata database"):
        Workspace.init(tmp_path, database_url="postgresql+psycopg://127.0.0.1:1/none?connect_timeout=2")


def test_newer_schema_refused(workspace: Workspace) -> None:
    workspace.commit("d", pl.DataFrame({"a": [1]}))
    with workspace.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    root = workspace.root
    env = {DATABASE_URL_ENV: workspace.config.database_url}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with pytest.raises(SchemaVersionError, match=r"9999_from_the_future.*newer datawheel") as info:
            Workspace.open(root)
        assert "upgrade datawheel" in str(info.value)
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


@pytest.mark.parametrize(("setting", "codec"), [(None, "ZSTD"), ("lz4", "LZ4"), ("snappy", "SNAPPY")])
def test_tables_are_compressed_as_configured(tmp_path: Path, setting: str | None, codec: str) -> None:
    with Workspace.init(tmp_path / "ws"):
        pass
    if setting is not None:
        _set_compression(tmp_path / "ws", setting)
    with Workspace.open(tmp_path / "ws") as ws:
        ws.commit("batches", pl.DataFrame({"n": list(range(100))}))
        ws.commit_scan("streamed", pl.LazyFrame({"n": list(range(100))}))
        for name in ("batches", "streamed"):
            parts = list((tmp_path / "ws" / ".datawheel" / "tables" / name).glob("*.parquet"))
            codecs = {pq.ParquetFile(part).metadata.row_group(0).column(0).compression for part in parts}
            assert codecs == {codec}
            assert ws.read(name)["n"].to_list() == list(range(100))


def test_unknown_compression_is_refused(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws"):
        pass
    _set_compression(tmp_path / "ws", "brotli")
    with pytest.raises(WorkspaceError, match=r"compression = 'brotli' is not one of zstd, lz4"):
        load_config(tmp_path / "ws")


def _set_compression(root: Path, value: str) -> None:
    """Uncomment ``datawheel init``'s compression line with ``value``."""
    config = root / CONFIG_FILE
    text = config.read_text(encoding="utf-8")
    assert '# compression = "zstd"' in text
    config.write_text(text.replace('# compression = "zstd"', f'compression = "{value}"'), encoding="utf-8")


def test_find_rows_by_the_start_of_their_id(workspace: Workspace) -> None:
    version = workspace.commit("people", pl.DataFrame({"id": [1, 2], "name": ["Ann", "Bo"]}), key=["id"])
    ids = dict(workspace.read(version).select("name", "_row_id").rows())
    found = workspace.find_rows("people", ids["Bo"][:12].upper())
    assert found["name"].to_list() == ["Bo"]
    assert workspace.find_rows(version, ids["Ann"][:1], limit=1).height == 1
    for bad in ("", "xyz"):
        with pytest.raises(RefError, match="is not the start of a row id"):
            workspace.find_rows(version, bad)
    unused = next(p for p in "0123456789abcdef" if not any(i.startswith(p) for i in ids.values()))
    with pytest.raises(RefError, match=f"no row of people@1 has an id starting with '{unused}'"):
        workspace.find_rows(version, unused)
