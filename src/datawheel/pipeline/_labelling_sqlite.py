"""The annotating loop on SQLite, in place on the event loop, on a connection of its own.

The labelling service's hottest requests, next task and submit, and the session check before
them are the same work as :func:`~datawheel.pipeline._labelling_tasks.next_task`,
:func:`~datawheel.pipeline._labelling_tasks.submit` and
:func:`~datawheel.pipeline._labelling_users.session_user`, done here on one ``sqlite3``
connection with the statements written out once. Through SQLAlchemy Core these calls held 59%
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
from datawheel.lineage._models import UTCDateTime
from datawheel.pipeline._labelling import _writer_turn, no_project
from datawheel.pipeline._labelling_sql import (
    ANNOTATIONS,
    ASSIGNMENTS,
    ITEMS,
    MEMBERS,
    PROJECTS,
    session_query,
    task_query,
)
from datawheel.pipeline._labelling_tasks import (
    AnnotationInfo,
    TaskInfo,
    already_closed,
    annotation_info,
    annotation_values,
    not_member,
    not_yours,
    open_task,
)
from datawheel.pipeline._labelling_users import SignedIn, UserInfo, live_session, token_digest

_DIALECT = sqlite.dialect()


def _processors(kind: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    impl = kind.dialect_impl(_DIALECT)
    return impl.bind_processor(_DIALECT), impl.result_processor(_DIALECT, None)


_TIME_IN, _TIME_OUT = _processors(UTCDateTime())
_JSON_IN, _JSON_OUT = _processors(JSON())
_BOOL_IN, _ = _processors(Boolean())

_HEAD = f"""
SELECT p.id, p.name, p.round, p.overlap, m.user_id IS NOT NULL, a.id,
       i.id, i.row_id, i.payload, i.suggestion, i.confidence, i.round
FROM {PROJECTS} p
LEFT JOIN {MEMBERS} m ON m.project_id = p.id AND m.user_id = :user
LEFT JOIN {ASSIGNMENTS} a ON a.id = (
    SELECT min(mine.id) FROM {ASSIGNMENTS} mine
    WHERE mine.user_id = :user AND mine.project_id = p.id AND mine.status = 'open')
LEFT JOIN {ITEMS} i ON i.id = a.item_id
WHERE p.{{key}} = :project
LIMIT 1
"""
_HEAD_BY_NAME = _HEAD.format(key="name")
_HEAD_BY_ID = _HEAD.format(key="id")
_TAKE = f"""
UPDATE {ITEMS} SET assigned = assigned + 1, "full" = (assigned + 1 >= :overlap)
WHERE id = (
    SELECT f.id FROM {ITEMS} f
    WHERE f.project_id = :project_id AND f.round = :round AND f."full" = 0
        AND NOT EXISTS (SELECT 1 FROM {ASSIGNMENTS} x WHERE x.item_id = f.id AND x.user_id = :user)
    ORDER BY f.position
    LIMIT 1)
RETURNING id, row_id, payload, suggestion, confidence, round
"""
_ASSIGN = f"""
INSERT INTO {ASSIGNMENTS} (project_id, user_id, item_id, status, assigned_at)
VALUES (:project_id, :user, :item, 'open', :at)
RETURNING id
"""
_TASK = task_query(":assignment")
_CLOSE = f"""
UPDATE {ASSIGNMENTS} SET status = 'done', done_at = :at
WHERE id = :assignment AND user_id = :user AND status = 'open'
"""
_ANSWER = f"""
INSERT INTO {ANNOTATIONS} (project_id, item_id, user_id, assignment_id, value, label,
                            guideline_version, round, suggestion_used, duration_ms, created_at)
VALUES (:project_id, :item_id, :user_id, :assignment_id, :value, :label, :guideline_version,
        :round, :suggestion_used, :duration_ms, :created_at)
RETURNING id
"""
_SESSION = session_query(":token_hash")


class SqliteLoop:
    """Next task, submit and session checks for a SQLite workspace, on one connection.

    Made, used and closed on one thread (the service's event loop). Every call is short: a
    read, or one write transaction taken with the workspace's writer turn.
    """

    def __init__(self, engine: Engine, *, checkpoints: bool = True) -> None:
        self.engine = engine
        database = engine.url.database
        if not database or database == ":memory:":
            raise ValueError("SqliteLoop needs a database file")
        self.conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        for pragma in ("foreign_keys=ON", "synchronous=NORMAL", "busy_timeout=60000"):
            self.conn.execute(f"PRAGMA {pragma}")
        if not checkpoints:  # a thread of the service checkpoints the WAL instead
            self.conn.execute("PRAGMA wal_autocheckpoint=0")

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
        found = self.conn.execute(_SESSION, {"token_hash": token_digest(token)}).fetchone()
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
            head = conn.execute(
                _HEAD_BY_ID if isinstance(project, int) else _HEAD_BY_NAME,
                {"project": project, "user": user.id},
            ).fetchone()
            if head is None:
                raise no_project(project)
            project_id, name, round, overlap, member, open_id = head[:6]
            if not member and user.role != "admin":
                raise not_member(user, project)
            if open_id is not None:
                return open_task(open_id, name, _item(head[6:]))
            free = {"overlap": overlap, "project_id": project_id, "round": round, "user": user.id}
            item = conn.execute(_TAKE, free).fetchone()
            if item is None:
                return None
            at = _TIME_IN(now())
            assign = {"project_id": project_id, "user": user.id, "item": item[0], "at": at}
            assignment = conn.execute(_ASSIGN, assign).fetchone()[0]
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
            found = conn.execute(_TASK, {"assignment": assignment_id}).fetchone()
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
            closing = {"assignment": assignment_id, "user": user.id, "at": _TIME_IN(values["created_at"])}
            if conn.execute(_CLOSE, closing).rowcount != 1:
                raise already_closed(assignment_id, task.status)
            stored = {
                **values,
                "value": _JSON_IN(values["value"]),
                "suggestion_used": _BOOL_IN(values["suggestion_used"]),
                "created_at": closing["at"],
            }
            return annotation_info(conn.execute(_ANSWER, stored).fetchone()[0], user, values)


def _item(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """(id, row_id, payload, suggestion, confidence, round) with the JSON values read."""
    item_id, row_id, payload, suggestion, confidence, round = row
    return item_id, row_id, _JSON_OUT(payload), _JSON_OUT(suggestion), confidence, round
