"""The annotating loop on PostgreSQL, on the event loop: next task, submit and sign-in checks.

The labelling service's hottest requests, next task and submit, and the session check before
them are the same work as :func:`~datawheel.pipeline._labelling_tasks.next_task`,
:func:`~datawheel.pipeline._labelling_tasks.submit` and
:func:`~datawheel.pipeline._labelling_users.session_user`, done here with fewer costs:

- psycopg's asynchronous connections, so the request never leaves the event loop (a hand-off
  to a thread, then the two threads taking turns on the GIL, cost more than the query);
- one statement each, in autocommit: next task finds the project, the account's membership
  and open task, takes the first free item (``FOR UPDATE SKIP LOCKED``) and assigns it in one
  statement of data-modifying ``WITH`` queries; submit closes the task if it is still open and
  stores the answer in another. One statement is one round trip and one implicit transaction,
  with no ``BEGIN`` and ``COMMIT`` of its own. Submit checks the answer against the task as
  next task handed it out (its item, labels and task type never change), so it need not read
  the task first, unless another process handed it out;
- server-side prepared statements, parsed and planned once per connection.

A pool of connections (``psycopg_pool``) lets the commits of concurrent requests wait for the
server's disk together. A connection idle for more than 10 s is pinged before use, and a dead
one replaced, as for the service's other connections.
"""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from psycopg import AsyncConnection
from psycopg.conninfo import make_conninfo
from psycopg.rows import namedtuple_row
from psycopg.types.json import Json
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, Table

from datawheel.lineage import now
from datawheel.lineage._labelling_models import (
    LabelAnnotation,
    LabelAssignment,
    LabelItem,
    LabelMember,
    LabelProject,
    LabelSession,
    LabelUser,
)
from datawheel.pipeline._labelling import no_project
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

CONNECTIONS = 8
APPLICATION_NAME = "datawheel-annotating"
_PING_AFTER_IDLE_S = 10.0

_PROJECTS, _MEMBERS, _ITEMS, _ASSIGNMENTS, _ANNOTATIONS, _SESSIONS, _USERS = (
    cast(Table, model.__table__).name
    for model in (
        LabelProject,
        LabelMember,
        LabelItem,
        LabelAssignment,
        LabelAnnotation,
        LabelSession,
        LabelUser,
    )
)
_ITEM = "id, row_id, payload, suggestion, confidence, round"

# `head`: the project, whether the account works on it, and its oldest open task there.
# `taken`: the first free item of the round, in priority order, that the account never held
# (only when it has no open task and may work on the project); `assigned`: its assignment.
# Every subquery on `head` is uncorrelated, so it runs once, and the item is found through
# the queue index and taken by primary key.
_NEXT = f"""
WITH head AS (
    SELECT p.id AS project_id, p.name, p.round, p.overlap, p.task_type, p.labels,
           m.user_id IS NOT NULL AS member, a.id AS open_id, a.assigned_at,
           i.id, i.row_id, i.payload, i.suggestion, i.confidence, i.round AS item_round
    FROM {_PROJECTS} p
    LEFT JOIN {_MEMBERS} m ON m.project_id = p.id AND m.user_id = %(user)s
    LEFT JOIN {_ASSIGNMENTS} a ON a.id = (
        SELECT min(mine.id) FROM {_ASSIGNMENTS} mine
        WHERE mine.user_id = %(user)s AND mine.project_id = p.id AND mine.status = 'open')
    LEFT JOIN {_ITEMS} i ON i.id = a.item_id
    WHERE p.{{key}} = %(project)s
    LIMIT 1
), taken AS (
    UPDATE {_ITEMS} SET assigned = assigned + 1, "full" = assigned + 1 >= (SELECT overlap FROM head)
    WHERE id = (
        SELECT f.id FROM {_ITEMS} f
        WHERE f.project_id = (
                SELECT project_id FROM head WHERE open_id IS NULL AND (member OR %(admin)s))
            AND f.round = (SELECT round FROM head)
            AND NOT f."full"
            AND NOT EXISTS (
                SELECT 1 FROM {_ASSIGNMENTS} x WHERE x.item_id = f.id AND x.user_id = %(user)s)
        ORDER BY f.position
        LIMIT 1
        FOR UPDATE OF f SKIP LOCKED)
    RETURNING {_ITEM}
), assigned AS (
    INSERT INTO {_ASSIGNMENTS} (project_id, user_id, item_id, status, assigned_at)
    SELECT (SELECT project_id FROM head), %(user)s, taken.id, 'open', %(at)s FROM taken
    RETURNING id
)
SELECT head.name, head.member, head.open_id, head.id, head.row_id, head.payload, head.suggestion,
       head.confidence, head.item_round, assigned.id AS assigned_id, taken.id AS t_id,
       taken.row_id AS t_row_id, taken.payload AS t_payload, taken.suggestion AS t_suggestion,
       taken.confidence AS t_confidence, taken.round AS t_round,
       head.project_id, head.task_type, head.labels, head.assigned_at
FROM head LEFT JOIN taken ON true LEFT JOIN assigned ON true
"""
_NEXT_BY_NAME = _NEXT.format(key="name")
_NEXT_BY_ID = _NEXT.format(key="id")

_TASK = f"""
SELECT a.user_id, a.status, a.assigned_at, a.item_id, a.project_id, i.payload, i.suggestion,
       i.round, p.task_type, p.labels, p.guideline_version
FROM {_ASSIGNMENTS} a
JOIN {_ITEMS} i ON i.id = a.item_id
JOIN {_PROJECTS} p ON p.id = a.project_id
WHERE a.id = %(assignment_id)s
"""
# Closes the task if it is still open and stores the answer, in one statement; no row back
# means the task was no longer open.
_ANSWER = f"""
WITH closed AS (
    UPDATE {_ASSIGNMENTS} SET status = 'done', done_at = %(created_at)s
    WHERE id = %(assignment_id)s AND user_id = %(user_id)s AND status = 'open'
    RETURNING id
)
INSERT INTO {_ANNOTATIONS} (project_id, item_id, user_id, assignment_id, value, label,
                            guideline_version, round, suggestion_used, duration_ms, created_at)
SELECT %(project_id)s, %(item_id)s, %(user_id)s, closed.id, %(value)s, %(label)s::text,
       (SELECT guideline_version FROM {_PROJECTS} WHERE id = %(project_id)s), %(round)s::text,
       %(suggestion_used)s, %(duration_ms)s, %(created_at)s
FROM closed
RETURNING id, guideline_version
"""

_SESSION = f"""
SELECT s.csrf_token, s.expires_at, u.id, u.name, u.role, u.created_at
FROM {_SESSIONS} s JOIN {_USERS} u ON u.id = s.user_id
WHERE s.token_hash = %(token_hash)s AND u.active
"""


class PostgresLoop:
    """Next task and submit for a PostgreSQL workspace, as coroutines on the running event loop.

    Open it (``await loop.open()``) in the event loop that will use it, and close it there.
    """

    def __init__(self, engine: Engine, *, connections: int = CONNECTIONS) -> None:
        _, options = engine.dialect.create_connect_args(engine.url)
        options.pop("context", None)  # SQLAlchemy's own adapters, not needed here
        options.setdefault("application_name", APPLICATION_NAME)  # names them in pg_stat_activity
        self._handed_out = HandedOut()
        self._last_used: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()
        self.pool = AsyncConnectionPool(
            make_conninfo(**options),
            min_size=connections,
            max_size=connections,
            kwargs={"autocommit": True, "prepare_threshold": 0},
            check=self._ping_if_idle,
            open=False,
            name=APPLICATION_NAME,
        )

    async def open(self) -> None:
        """Open the pool's connections (waits until the first ones are ready)."""
        await self.pool.open(wait=True)

    async def close(self) -> None:
        """Close every connection."""
        await self.pool.close()

    async def _ping_if_idle(self, conn: AsyncConnection[Any]) -> None:
        # As for the engine's pool: a connection in steady use is not pinged (that would double
        # the round trips), one left idle is, and the pool replaces it if the ping fails.
        if time.monotonic() - self._last_used.get(conn, 0.0) >= _PING_AFTER_IDLE_S:
            await conn.execute("SELECT 1")

    async def _run(self, sql: str, params: dict[str, Any]) -> Any:
        async with self.pool.connection() as conn:
            cursor = conn.cursor(row_factory=namedtuple_row)
            await cursor.execute(sql, params, prepare=True)
            row = await cursor.fetchone()
            self._last_used[conn] = time.monotonic()
            return row

    async def session_user(self, token: str) -> SignedIn | None:
        """As :func:`~datawheel.pipeline._labelling_users.session_user`."""
        return live_session(await self._run(_SESSION, {"token_hash": token_digest(token)}))

    async def next_task(self, project: str | int, user: UserInfo) -> TaskInfo | None:
        """As :func:`~datawheel.pipeline._labelling_tasks.next_task`, in one statement."""
        sql = _NEXT_BY_ID if isinstance(project, int) else _NEXT_BY_NAME
        at = now()
        params = {"project": project, "user": user.id, "admin": user.role == "admin", "at": at}
        row = await self._run(sql, params)
        if row is None:
            raise no_project(project)
        if not row.member and user.role != "admin":
            raise not_member(user, project)
        if row.open_id is not None:
            task = open_task(row.open_id, row.name, tuple(row[3:9]))
            assigned_at = row.assigned_at
        elif row.assigned_id is not None:
            task = open_task(row.assigned_id, row.name, tuple(row[10:16]))
            assigned_at = at
        else:
            return None
        self._handed_out.remember(task, user, row.project_id, row.task_type, row.labels, assigned_at)
        return task

    async def submit(
        self,
        assignment_id: int,
        user: UserInfo,
        value: Any,
        *,
        duration_ms: int | None = None,
        suggestion_used: bool | None = None,
    ) -> AnnotationInfo:
        """As :func:`~datawheel.pipeline._labelling_tasks.submit`, in one statement.

        The answer is checked against the task as this process handed it out (what a task
        needs for that never changes); a task handed out elsewhere (another process of
        ``datawheel serve --workers N``, an undo) is read first.
        """
        task = self._handed_out.get(assignment_id, user)
        if task is None:
            task = await self._run(_TASK, {"assignment_id": assignment_id})
            if task is None or task.user_id != user.id:
                raise not_yours(assignment_id)
        values = annotation_values(task, assignment_id, user, value, duration_ms, suggestion_used)
        stored = await self._run(_ANSWER, {**values, "value": Json(values["value"])})
        self._handed_out.forget(assignment_id)
        if stored is None:
            now_closed = await self._run(_TASK, {"assignment_id": assignment_id})
            raise already_closed(assignment_id, "done" if now_closed is None else now_closed.status)
        return annotation_info(stored.id, user, {**values, "guideline_version": stored.guideline_version})


@dataclass(frozen=True, slots=True)
class _Handed:
    """What checking an answer to a task needs, as :func:`annotation_values` reads it."""

    user_id: int
    project_id: int
    item_id: int
    assigned_at: datetime
    task_type: str
    labels: list[dict[str, Any]]
    payload: dict[str, Any]  # only the text, for span bounds
    suggestion: Any
    round: str
    guideline_version: None = None  # read by the statement that stores the answer


class HandedOut:
    """The open tasks this process handed out lately, so that submit need not read them again."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._tasks: OrderedDict[int, _Handed] = OrderedDict()

    def remember(
        self,
        task: TaskInfo,
        user: UserInfo,
        project_id: int,
        task_type: str,
        labels: list[dict[str, Any]],
        assigned_at: datetime,
    ) -> None:
        """Keep what an answer to ``task`` is checked against (the oldest go past ``size``)."""
        text = {"text": task.payload.get("text", "")} if task_type == "spans" else {}
        self._tasks[task.assignment] = _Handed(
            user.id, project_id, task.item, assigned_at, task_type, labels, text, task.suggestion, task.round
        )
        self._tasks.move_to_end(task.assignment)
        while len(self._tasks) > self.size:
            self._tasks.popitem(last=False)

    def get(self, assignment_id: int, user: UserInfo) -> _Handed | None:
        """The task if this process handed it out to ``user``."""
        found = self._tasks.get(assignment_id)
        return found if found is not None and found.user_id == user.id else None

    def forget(self, assignment_id: int) -> None:
        """Drop a task that was answered (or was no longer open)."""
        self._tasks.pop(assignment_id, None)
