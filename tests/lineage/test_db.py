import sqlite3
from pathlib import Path

from sqlalchemy import text

from datawheel.lineage import session_factory
from datawheel.lineage._db import transaction
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
