"""The metadata database: engine set-up (SQLite in WAL mode, or PostgreSQL) and migrations."""

from __future__ import annotations

import functools
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from datawheel.errors import DatawheelError, SchemaVersionError, WorkspaceError

_MIGRATIONS = Path(__file__).parent / "_migrations"
_BUSY_TIMEOUT_MS = 60_000
_READONLY = "datawheel_readonly"
_LAST_USED = "datawheel_last_used"
_PING_AFTER_IDLE_S = 10.0


def connect(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and immediate write locks."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise WorkspaceError(
            f"'{url}' is not a database URL",
            hint="use sqlite:///PATH or postgresql+psycopg://HOST:PORT/DB",
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(parsed)
    except ImportError as exc:
        raise WorkspaceError(
            f"no driver for {parsed.drivername}: {exc}",
            hint="install the PostgreSQL extra: pip install 'datawheel[postgres]'",
        ) from exc
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_LAST_USED] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: object) -> None:
    # A pooled connection left idle may have been closed by the server (a restart, an idle
    # timeout): ping it before use, and have the pool replace it if it is gone. A connection
    # in steady use is not pinged, which would double the round trips of a short transaction.
    if time.monotonic() - record.info.get(_LAST_USED, 0.0) < _PING_AFTER_IDLE_S:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as exc:  # any driver error means the connection is gone
        raise DisconnectionError(str(exc)) from exc


def _sqlite_on_connect(dbapi_connection: Any, _record: object) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE instead of pysqlite's deferred BEGIN,
    # so two writers queue on the busy timeout rather than fail on a lock upgrade.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    cursor.close()


def sqlite_connection(database: str, *, checkpoint_on_commit: bool = True) -> sqlite3.Connection:
    """A plain ``sqlite3`` connection set up as the engine's are (WAL, foreign keys, busy timeout).

    Transactions are the caller's: it issues ``BEGIN IMMEDIATE`` (or ``BEGIN``) and ``COMMIT``.
    Without ``checkpoint_on_commit`` its commits leave the WAL to :func:`background_checkpoints`.
    The connection may be used from one thread at a time, whichever it is.
    """
    made = sqlite3.connect(database, timeout=_BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    _sqlite_on_connect(made, None)
    if not checkpoint_on_commit:
        _no_checkpoint_on_commit(made, None)
    return made


def _sqlite_on_begin(connection: Any) -> None:
    # Writers take the write lock up front; readers (WAL) take no lock and block no writer.
    # Issued on the driver's connection: through SQLAlchemy it would cost more than the query.
    readonly = connection.get_execution_options().get(_READONLY, False)
    connection.connection.driver_connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")


@contextmanager
def background_checkpoints(engine: Engine, *, every: float = 0.5) -> Iterator[None]:
    """While the block runs, a thread checkpoints a SQLite database's WAL instead of its writers.

    By default the commit that finds the WAL past 1,000 pages copies it back into the database
    and syncs it, a few milliseconds that the committing request (and, in the labelling
    service, every request behind it) waits. Within the block, connections the engine opens do
    not checkpoint on commit; a thread of its own runs a passive checkpoint (one that waits for
    no reader or writer) every ``every`` seconds, and a last one at the end. Nothing for
    PostgreSQL or an in-memory database.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    event.listen(engine, "connect", _no_checkpoint_on_commit)
    engine.dispose()  # pooled connections were opened checkpointing on commit
    stop = threading.Event()
    worker = threading.Thread(
        target=_checkpoint_until, args=(database, every, stop), name="datawheel-checkpoint", daemon=True
    )
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()
        event.remove(engine, "connect", _no_checkpoint_on_commit)
        engine.dispose()


def _no_checkpoint_on_commit(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def _checkpoint_until(database: str, every: float, stop: threading.Event) -> None:
    connection = sqlite3.connect(database, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        while not stop.wait(every):
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        connection.close()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


@functools.cache
def head_revision() -> str:
    """The newest schema revision this datawheel knows (read from the migration scripts once)."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def migrate(engine: Engine) -> None:
    """Bring the database schema up to date; refuse a schema newer than this datawheel."""
    from alembic import command  # imported here: it is only needed when a migration runs

    scripts = ScriptDirectory.from_config(_alembic_config())
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            if current == scripts.get_current_head():
                return
            if current is not None and _unknown(scripts, current):
                raise SchemaVersionError(
                    f"the workspace's metadata ({engine.url.render_as_string()}) has schema "
                    f"revision {current}, which this datawheel does not know; it was written "
                    "by a newer datawheel",
                    hint="upgrade datawheel (pip install -U datawheel) to open this workspace",
                )
            config = _alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
    except OperationalError as exc:
        raise WorkspaceError(
            f"cannot open the metadata database {engine.url.render_as_string()}: {exc.orig}",
            hint="check the database URL, that the server runs, and that the file is writable",
        ) from exc


def _unknown(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is None
    except Exception:  # alembic raises several types for an unknown revision
        return True


@contextmanager
def transaction(sessions: sessionmaker[Session], *, write: bool) -> Iterator[Session]:
    """A session in one transaction, committed at the end; ``write=False`` for reads only."""
    with sessions.begin() as session:
        if not write:
            session.connection(execution_options={_READONLY: True})
        yield session


@contextmanager
def connection(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """A Core connection in one transaction, committed at the end; ``write=False`` for reads only.

    The lean path for short, hot queries (the labelling service's next task and submit): no
    ORM session, no identity map, statements compiled once and taken from SQLAlchemy's cache.
    """
    with engine.connect() as conn:
        if not write:
            conn.execution_options(**{_READONLY: True})
        with conn.begin():
            yield conn


def by_name(
    session: Session, model: Any, name: str, *, error: type[DatawheelError], what: str, empty: str, hint: str
) -> Any:
    """The row of ``model`` named ``name``, or ``error`` naming it and up to ten that exist."""
    found = session.scalar(select(model).where(model.name == name))
    if found is None:
        known = session.scalars(select(model.name).order_by(model.name).limit(10)).all()
        raise error(
            f"no {what} '{name}'" + (f" (there are: {', '.join(known)})" if known else f" ({empty})"),
            hint=hint,
        )
    return found


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


__all__ = [
    "SQLAlchemyError",
    "background_checkpoints",
    "connect",
    "connection",
    "head_revision",
    "migrate",
    "session_factory",
    "sqlite_connection",
    "transaction",
]
