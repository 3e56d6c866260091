"""The annotating loop on SQLite, in place on the event loop, on a connection of its own.

The labelling service's hottest requests, next task and submit, and the session check before
them are the same work as :func:`~datawheel.pipeline._labelling_tasks.next_task`,
:func:`~datawheel.pipeline._labelling_tasks.submit` and
:func:`~datawheel.pipeline._labelling_users.session_user`, done here on one ``sqlite3``
connection, running the same Core statements compiled once. Through SQLAlchemy these calls held 59%
of the server's samples (py-spy under ``benchmarks/serve.py``), 15% in SQLite itself and the
rest in connection checkout, execution contexts and result objects.
Values are stored and read with SQLAlchemy's own SQLite type processors, so the rows are the
ones the rest of datawheel writes and reads.

Writers take their turn as every other writer of the workspace does (``_writer_turn``); a
caller that will not wait (``no_wait``) gets :class:`WriterBusy` before anything is done.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from sqlalchemy import JSON, Boolean, Engine
from sqlalchemy.dialects import sqlite

from datawheel.lineage import now
from datawheel.lineage._db import sqlite_connection
from datawheel.lineage._models import UTCDateTime
from datawheel.pipeline._labelling import _writer_turn, no_project
from datawheel.pipeline._labelling_sql import compiled
from datawheel.pipeline._labelling_tasks import (
    ANNOTATE,
    ASSIGN,
    CLOSE,
    HEAD_BY_ID,
    HEAD_BY_NAME,
    SUBMITTED,
    TAKE_FREE_ITEM,
    AnnotationInfo,
    TaskInfo,
    already_closed,
    annotation_info,
    annotation_values,
    not_member,
    not_yours,
    open_task,
)
from datawheel.pipeline._labelling_users import LIVE_SESSION, SignedIn, UserInfo, live_session, token_digest

_DIALECT = sqlite.dialect()


def _processors(kind: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    impl = kind.dialect_impl(_DIALECT)
    return impl.bind_processor(_DIALECT), impl.result_processor(_DIALECT, None)


_TIME_IN, _TIME_OUT = _processors(UTCDateTime())
_JSON_IN, _JSON_OUT = _processors(JSON())
_BOOL_IN, _ = _processors(Boolean())

_HEAD_BY_NAME = compiled(HEAD_BY_NAME, _DIALECT)
_HEAD_BY_ID = compiled(HEAD_BY_ID, _DIALECT)
_TAKE = compiled(TAKE_FREE_ITEM, _DIALECT)
_ASSIGN = compiled(
    ASSIGN, _DIALECT, column_keys=("project_id", "user_id", "item_id", "status", "assigned_at")
)
_TASK = compiled(SUBMITTED, _DIALECT)
_CLOSE = compiled(CLOSE, _DIALECT)
_ANSWER = compiled(
    ANNOTATE,
    _DIALECT,
    column_keys=(
        "project_id",
        "item_id",
        "user_id",
        "assignment_id",
        "value",
        "label",
        "guideline_version",
        "round",
        "suggestion_used",
        "duration_ms",
        "created_at",
    ),
)
_SESSION = compiled(LIVE_SESSION, _DIALECT)


class SqliteLoop:
    """Next task, submit and session checks for a SQLite workspace, on one connection.

    Made, used and closed on one thread (the service's event loop). Every call is short: a
    read, or one write transaction taken with the workspace's writer turn.
    """

    def __init__(self, engine: Engine, *, checkpoints: bool = True) -> None:
        # checkpoints=False: a thread of the service checkpoints the WAL instead (see
        # lineage._db.background_checkpoints).
        self.engine = engine
        database = engine.url.database
        if not database or database == ":memory:":
            raise ValueError("SqliteLoop needs a database file")
        self.conn = sqlite_connection(database, checkpoint_on_commit=checkpoints)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with _writer_turn(self.engine, write=True):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:  # also when COMMIT itself failed
                    self.conn.execute("ROLLBACK")
                raise

    def session_user(self, token: str) -> SignedIn | None:
        """As :func:`~datawheel.pipeline._labelling_users.session_user`."""
        found = self.conn.execute(_SESSION.sql, _SESSION.args(token_hash=token_digest(token))).fetchone()
        if found is None:
            return None
        csrf, expires_at, user_id, name, role, created_at = found
        return live_session(
            SimpleNamespace(
                csrf_token=csrf,
                expires_at=_TIME_OUT(expires_at),
                id=user_id,
                name=name,
                role=role,
                created_at=_TIME_OUT(created_at),
            )
        )

    def next_task(self, project: str | int, user: UserInfo) -> TaskInfo | None:
        """As :func:`~datawheel.pipeline._labelling_tasks.next_task`: one write transaction."""
        with self._writing() as conn:
            by = _HEAD_BY_ID if isinstance(project, int) else _HEAD_BY_NAME
            head = conn.execute(by.sql, by.args(project=project, user=user.id)).fetchone()
            if head is None:
                raise no_project(project)
            project_id, name, round, overlap, member, open_id = head[:6]
            if member is None and user.role != "admin":
                raise not_member(user, project)
            if open_id is not None:
                return open_task(open_id, name, _item(head[6:]))
            free = _TAKE.args(overlap=overlap, in_project=project_id, in_round=round, user=user.id)
            item = conn.execute(_TAKE.sql, free).fetchone()
            if item is None:
                return None
            assign = _ASSIGN.args(
                project_id=project_id,
                user_id=user.id,
                item_id=item[0],
                status="open",
                assigned_at=_TIME_IN(now()),
            )
            assignment = conn.execute(_ASSIGN.sql, assign).fetchone()[0]
            return open_task(assignment, name, _item(item))

    def submit(
        self,
        assignment_id: int,
        user: UserInfo,
        value: Any,
        *,
        duration_ms: int | None = None,
        suggestion_used: bool | None = None,
    ) -> AnnotationInfo:
        """As :func:`~datawheel.pipeline._labelling_tasks.submit`: one write transaction."""
        with self._writing() as conn:
            found = conn.execute(_TASK.sql, _TASK.args(assignment=assignment_id)).fetchone()
            if found is None or found[0] != user.id:
                raise not_yours(assignment_id)
            task = SimpleNamespace(
                user_id=found[0],
                status=found[1],
                assigned_at=_TIME_OUT(found[2]),
                item_id=found[3],
                project_id=found[4],
                payload=_JSON_OUT(found[5]),
                suggestion=_JSON_OUT(found[6]),
                round=found[7],
                task_type=found[8],
                labels=_JSON_OUT(found[9]),
                guideline_version=found[10],
            )
            values = annotation_values(task, assignment_id, user, value, duration_ms, suggestion_used)
            at = _TIME_IN(values["created_at"])
            closing = _CLOSE.args(assignment=assignment_id, user=user.id, at=at)
            if conn.execute(_CLOSE.sql, closing).rowcount != 1:
                raise already_closed(assignment_id, task.status)
            stored = {
                **values,
                "value": _JSON_IN(values["value"]),
                "suggestion_used": _BOOL_IN(values["suggestion_used"]),
                "created_at": at,
            }
            return annotation_info(
                conn.execute(_ANSWER.sql, _ANSWER.args(**stored)).fetchone()[0], user, values
            )


def _item(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """(id, row_id, payload, suggestion, confidence, round) with the JSON values read."""
    item_id, row_id, payload, suggestion, confidence, round = row
    return item_id, row_id, _JSON_OUT(payload), _JSON_OUT(suggestion), confidence, round
