import fcntl
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from tests.conftest import POSTGRES_URL

from datawheel.lineage import _db, session_factory
from datawheel.lineage._db import background_checkpoints, connect, transaction
from datawheel.pipeline._labelling import _WriterTurns
from datawheel.workspace import Workspace


def test_sqlite_reader_does_not_block_a_writer(tmp_path: Path) -> None:
    with Workspace.init(tmp_path) as ws:
        sessions = session_factory(ws.engine)
        with transaction(sessions, write=False) as reader:
            assert reader.execute(text("SELECT count(*) FROM artifacts")).scalar() == 0
            other = sqlite3.connect(ws.state / "metadata.db", timeout=1.0, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # raises 'database is locked' if the reader held the lock
            other.execute(
                "INSERT INTO contexts (kind, name, properties, created_at) "
                "VALUES ('run', 'x', '{}', '2026-01-01')"
            )
            other.execute("COMMIT")
            other.close()
        with transaction(sessions, write=True) as writer:
            assert writer.execute(text("SELECT count(*) FROM contexts")).scalar() == 1


def test_sqlite_writers_queue_instead_of_failing(tmp_path: Path) -> None:
    with Workspace.init(tmp_path) as ws:
        sessions = session_factory(ws.engine)
        with transaction(sessions, write=True) as writer:
            writer.execute(text("SELECT 1"))
            other = sqlite3.connect(ws.state / "metadata.db", timeout=0.2, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                locked = False
            except sqlite3.OperationalError as exc:
                locked = "locked" in str(exc)
            other.close()
        assert locked  # the writer held the write lock from its first statement


def test_a_pooled_postgresql_connection_the_server_ended_is_replaced(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = connect(postgres_url)
    with engine.connect() as conn:
        first = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # what a server restart or an idle timeout does to the pooled one
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    admin.dispose()
    monkeypatch.setattr(_db, "_PING_AFTER_IDLE_S", 0.0)  # as if the connection had been idle long
    with engine.connect() as conn:
        second = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    engine.dispose()
    assert second != first


def test_sqlite_writer_turns_queue_processes_on_a_file_lock(tmp_path: Path) -> None:
    with Workspace.init(tmp_path) as ws:
        turns = _WriterTurns(ws.engine)
        assert turns.file is not None
        with Path(turns.file.name).open("ab") as other:  # as another process opens it
            with turns.turn(), pytest.raises(BlockingIOError):  # it would wait here, not on SQLite
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # its turn, once the block ended


_ADD_CONTEXT = "INSERT INTO contexts (kind, name, properties, created_at) VALUES ('run', :n, '{}', '')"


def test_background_checkpoints_take_the_wal_off_the_writers(tmp_path: Path) -> None:
    checkpointed = _wal_bytes_after_writes(tmp_path / "a", every=0.02)
    never = _wal_bytes_after_writes(tmp_path / "b", every=3600)  # commits do not checkpoint either
    assert checkpointed < never / 2  # the thread's checkpoints let writers reuse the WAL from its start
    with Workspace.open(tmp_path / "a") as ws, ws.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000  # as before the block
        assert conn.exec_driver_sql("SELECT count(*) FROM contexts").scalar() == 1500


def _wal_bytes_after_writes(root: Path, *, every: float) -> int:
    with Workspace.init(root) as ws, background_checkpoints(ws.engine, every=every):
        for i in range(1500):
            with ws.engine.begin() as conn:
                assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
                conn.execute(text(_ADD_CONTEXT), {"n": f"c{i}"})
            if i % 100 == 0:
                time.sleep(0.1)  # the thread's turn, however busy the machine
        return (ws.state / "metadata.db-wal").stat().st_size
