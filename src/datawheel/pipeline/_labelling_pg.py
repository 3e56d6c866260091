"""The annotating loop on PostgreSQL, on the event loop: next task, submit and sign-in checks.

The labelling service's hottest requests, next task and submit, and the session check before
them are the same work as :func:`~datawheel.pipeline._labelling_tasks.next_task`,
:func:`~datawheel.pipeline._labelling_tasks.submit` and
:func:`~datawheel.pipeline._labelling_users.session_user`, done here with fewer costs:

- asyncpg connections on the event loop, so the request never leaves it (a hand-off to a
  thread, then the two threads taking turns on the GIL, cost more than the query). asyncpg
  spent 18 to 27 µs of CPU a prepared query where psycopg's asynchronous connection spent 82
  (8 connections, 20,000 queries, this machine); SQLAlchemy and psycopg stay for the rest;
- one statement each, in autocommit: next task finds the project, the account's membership
  and open task, takes the first free item (``FOR UPDATE SKIP LOCKED``) and assigns it in one
  statement of data-modifying ``WITH`` queries; submit closes the task if it is still open and
  stores the answer in another. One statement is one round trip and one implicit transaction,
  with no ``BEGIN`` and ``COMMIT`` of its own. Submit checks the answer against the task as
  next task handed it out (its item, labels and task type never change), so it need not read
  the task first, unless another process handed it out;
- server-side prepared statements, parsed and planned once per connection.

A pool of connections lets the commits of concurrent requests wait for the server's disk
together. A connection idle for more than 10 s is pinged before use, and a dead one replaced,
as for the service's other connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import asyncpg
from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from datawheel.errors import WorkspaceError
from datawheel.lineage import now
from datawheel.pipeline._labelling import no_project
from datawheel.pipeline._labelling_sql import (
    ANNOTATIONS,
    ASSIGNMENTS,
    ITEMS,
    MEMBERS,
    PROJECTS,
    compiled,
)
from datawheel.pipeline._labelling_tasks import (
    SUBMITTED,
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

CONNECTIONS = 8
VACUUM_EVERY_S = 5.0
VACUUM_AFTER_WRITES = 1_000
APPLICATION_NAME = "datawheel-annotating"
_PING_AFTER_IDLE_S = 10.0
_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]
_log = logging.getLogger(__name__)

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
    FROM {PROJECTS} p
    LEFT JOIN {MEMBERS} m ON m.project_id = p.id AND m.user_id = $2::int
    LEFT JOIN {ASSIGNMENTS} a ON a.id = (
        SELECT min(mine.id) FROM {ASSIGNMENTS} mine
        WHERE mine.user_id = $2::int AND mine.project_id = p.id AND mine.status = 'open')
    LEFT JOIN {ITEMS} i ON i.id = a.item_id
    WHERE p.{{key}} = $1::{{kind}}
    LIMIT 1
), taken AS (
    UPDATE {ITEMS} SET assigned = assigned + 1, "full" = assigned + 1 >= (SELECT overlap FROM head)
    WHERE id = (
        SELECT f.id FROM {ITEMS} f
        WHERE f.project_id = (
                SELECT project_id FROM head WHERE open_id IS NULL AND (member OR $3::bool))
            AND f.round = (SELECT round FROM head)
            AND NOT f."full"
            AND NOT EXISTS (
                SELECT 1 FROM {ASSIGNMENTS} x WHERE x.item_id = f.id AND x.user_id = $2::int)
        ORDER BY f.position
        LIMIT 1
        FOR UPDATE OF f SKIP LOCKED)
    RETURNING {_ITEM}
), assigned AS (
    INSERT INTO {ASSIGNMENTS} (project_id, user_id, item_id, status, assigned_at)
    SELECT (SELECT project_id FROM head), $2::int, taken.id, 'open', $4::timestamptz FROM taken
    RETURNING id
)
SELECT head.name, head.member, head.open_id, head.id, head.row_id, head.payload, head.suggestion,
       head.confidence, head.item_round, assigned.id AS assigned_id, taken.id AS t_id,
       taken.row_id AS t_row_id, taken.payload AS t_payload, taken.suggestion AS t_suggestion,
       taken.confidence AS t_confidence, taken.round AS t_round,
       head.project_id, head.task_type, head.labels, head.assigned_at
FROM head LEFT JOIN taken ON true LEFT JOIN assigned ON true
"""
_NEXT_BY_NAME = _NEXT.format(key="name", kind="text")
_NEXT_BY_ID = _NEXT.format(key="id", kind="int")


_TASK = compiled(SUBMITTED, _DIALECT)
# Closes the task if it is still open and stores the answer, in one statement; no row back
# means the task was no longer open.
_ANSWER = f"""
WITH closed AS (
    UPDATE {ASSIGNMENTS} SET status = 'done', done_at = $1::timestamptz
    WHERE id = $2::int AND user_id = $3::int AND status = 'open'
    RETURNING id
)
INSERT INTO {ANNOTATIONS} (project_id, item_id, user_id, assignment_id, value, label,
                            guideline_version, round, suggestion_used, duration_ms, created_at)
SELECT $4::int, $5::int, $3::int, closed.id, $6::json, $7::text,
       (SELECT guideline_version FROM {PROJECTS} WHERE id = $4::int), $8::text, $9::bool,
       $10::int, $1::timestamptz
FROM closed
RETURNING id, guideline_version
"""

_SESSION = compiled(LIVE_SESSION, _DIALECT)


class PostgresLoop:
    """Next task, submit and session checks for a PostgreSQL workspace, as coroutines.

    Open it (``await loop.open()``) in the event loop that will use it, and close it there.
    """

    def __init__(self, engine: Engine, *, connections: int = CONNECTIONS) -> None:
        self.options = connect_options(engine)
        self.connections = connections
        self._pool: asyncpg.Pool | None = None
        self._last_used: dict[int, float] = {}  # by the server process of the connection
        self._handed_out = HandedOut()
        self._vacuum: asyncio.Task[None] | None = None
        self._turns = asyncio.Semaphore(connections)
        self.writes = 0  # tasks taken and answers stored since the last vacuum

    async def open(self) -> None:
        """Open the pool's connections, and start vacuuming the tables the loop writes."""
        self._pool = await asyncpg.create_pool(
            min_size=self.connections,
            max_size=self.connections,
            init=_json_as_python,
            reset=_leave_as_is,
            **self.options,
        )
        # asyncpg's pool hands a released connection to whoever asks next, even past callers
        # already waiting, who then queue again at the back: at full load some requests waited
        # several times as long as the rest. A semaphore, in Python first come first served,
        # lets through no more callers than there are connections, so none waits in the pool.
        self._turns = asyncio.Semaphore(self.connections)
        self._vacuum = asyncio.create_task(self._vacuum_now_and_then(), name="datawheel-vacuum")

    async def close(self) -> None:
        """Stop vacuuming and close every connection."""
        if self._vacuum is not None:
            self._vacuum.cancel()
            with suppress(asyncio.CancelledError):
                await self._vacuum
            self._vacuum = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _vacuum_now_and_then(self) -> None:
        """Every few seconds, if enough was written: ``VACUUM`` the items and assignments.

        Each task taken and each answer leaves a dead row version and its index entries
        behind, and lookups step over them (an annotator's open task is found in an index that
        keeps every task they ever had until a vacuum). PostgreSQL's autovacuum comes by at
        most once a minute and, on a large table, only after a fifth of it is dead: 50
        annotators at full speed made next task and submit take twice the database's CPU
        after 40,000 tasks. A plain vacuum blocks neither readers nor writers.
        """
        while True:
            await asyncio.sleep(VACUUM_EVERY_S)
            if self.writes < VACUUM_AFTER_WRITES:
                continue
            self.writes = 0
            try:
                conn = await asyncpg.connect(**self.options)
                try:
                    await conn.execute(f"VACUUM (SKIP_LOCKED) {ITEMS}, {ASSIGNMENTS}")
                finally:
                    await conn.close()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                _log.warning("could not vacuum the labelling tables: %s", exc)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; one left idle for more than 10 s is pinged, and replaced if dead.

        A connection in steady use is not pinged, which would double the round trips; one
        the server ended (a restart, an idle timeout) fails the ping, is closed here, and the
        pool opens a new one in its place.
        """
        if self._pool is None:
            raise RuntimeError("the PostgreSQL loop is not open: await open() first")
        async with self._turns:  # first come, first served (see open)
            conn = await self._pool.acquire()
            try:
                for _ in range(self.connections + 1):  # every pooled connection may be dead
                    if (
                        time.monotonic() - self._last_used.get(conn.get_server_pid(), 0.0)
                        < _PING_AFTER_IDLE_S
                    ):
                        break
                    try:
                        await conn.execute("SELECT 1")
                        break
                    except Exception:  # whatever failed the ping, the connection is of no use
                        with suppress(asyncpg.InterfaceError):  # asyncpg may have let it go already
                            conn.terminate()
                        await self._pool.release(conn)  # nothing if it was let go
                        conn = await self._pool.acquire()
                yield conn
                self._last_used[conn.get_server_pid()] = time.monotonic()
            finally:
                await self._pool.release(conn)

    async def _fetch(self, sql: str, *args: Any) -> Any:
        async with self.connection() as conn:
            return await conn.fetchrow(sql, *args)

    async def session_user(self, token: str) -> SignedIn | None:
        """As :func:`~datawheel.pipeline._labelling_users.session_user`."""
        found = await self._fetch(_SESSION.sql, *_SESSION.args(token_hash=token_digest(token)))
        return live_session(None if found is None else SimpleNamespace(**found))

    async def next_task(self, project: str | int, user: UserInfo) -> TaskInfo | None:
        """As :func:`~datawheel.pipeline._labelling_tasks.next_task`, in one statement."""
        sql = _NEXT_BY_ID if isinstance(project, int) else _NEXT_BY_NAME
        admin = user.role == "admin"
        at = now()
        row = await self._fetch(sql, project, user.id, admin, at)
        if row is None:
            raise no_project(project)
        if not row["member"] and not admin:
            raise not_member(user, project)
        if row["open_id"] is not None:
            task = open_task(row["open_id"], row["name"], tuple(row[3:9]))
            assigned_at = row["assigned_at"]
        elif row["assigned_id"] is not None:
            task = open_task(row["assigned_id"], row["name"], tuple(row[10:16]))
            assigned_at = at
            self.writes += 1
        else:
            return None
        self._handed_out.remember(task, user, row["project_id"], row["task_type"], row["labels"], assigned_at)
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
        task: Any = self._handed_out.get(assignment_id, user)
        if task is None:
            found = await self._fetch(_TASK.sql, *_TASK.args(assignment=assignment_id))
            if found is None or found["user_id"] != user.id:
                raise not_yours(assignment_id)
            task = SimpleNamespace(**found)
        v = annotation_values(task, assignment_id, user, value, duration_ms, suggestion_used)
        stored = await self._fetch(
            _ANSWER,
            v["created_at"],
            assignment_id,
            user.id,
            v["project_id"],
            v["item_id"],
            v["value"],
            v["label"],
            v["round"],
            v["suggestion_used"],
            v["duration_ms"],
        )
        self._handed_out.forget(assignment_id)
        self.writes += 1
        if stored is None:
            now_closed = await self._fetch(_TASK.sql, *_TASK.args(assignment=assignment_id))
            raise already_closed(assignment_id, "done" if now_closed is None else now_closed["status"])
        return annotation_info(stored["id"], user, {**v, "guideline_version": stored["guideline_version"]})


async def _leave_as_is(_conn: asyncpg.Connection) -> None:
    # By default the pool resets a returned connection (RESET ALL, UNLISTEN, CLOSE ALL, advisory
    # unlocks): a round trip after every statement. These statements change nothing of the
    # session that would need it.
    return None


async def _json_as_python(conn: asyncpg.Connection) -> None:
    # asyncpg leaves json as text by default; SQLAlchemy and psycopg give Python values.
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def connect_options(engine: Engine) -> dict[str, Any]:
    """The connection arguments of asyncpg for the engine's PostgreSQL URL.

    Host (or socket folder), port, database, user, password and ``sslmode`` map to asyncpg's
    own; ``options`` (``-c name=value``) become server settings, as libpq would send them. A
    libpq parameter asyncpg has no counterpart for is refused, naming it.
    """
    _, given = engine.dialect.create_connect_args(engine.url)
    given.pop("context", None)  # SQLAlchemy's own adapters for psycopg
    names = {"host": "host", "port": "port", "dbname": "database", "user": "user", "password": "password"}
    options: dict[str, Any] = {names[k]: v for k, v in given.items() if k in names}
    settings = {"application_name": APPLICATION_NAME}
    settings.update(_server_settings(str(given.get("options", ""))))
    if "application_name" in given:
        settings["application_name"] = str(given["application_name"])
    if "sslmode" in given:
        options["ssl"] = given["sslmode"]
    if "connect_timeout" in given:
        options["timeout"] = float(given["connect_timeout"])
    unknown = set(given) - set(names) - {"options", "application_name", "sslmode", "connect_timeout"}
    if unknown:
        raise WorkspaceError(
            f"the database URL's {', '.join(sorted(unknown))} has no asyncpg counterpart",
            hint="leave it out of DATAWHEEL_DATABASE_URL, or set it on the server or in the role",
        )
    return {**options, "server_settings": settings}


def _server_settings(options: str) -> dict[str, str]:
    """``-c name=value`` and ``--name=value`` of libpq's ``options`` as {name: value}.

    Example:
        >>> _server_settings("-c search_path=work -cstatement_timeout=5s --lock-timeout=1s")
        {'search_path': 'work', 'statement_timeout': '5s', 'lock_timeout': '1s'}
    """
    found: dict[str, str] = {}
    words = shlex.split(options)
    for at, word in enumerate(words):
        if word == "-c" and at + 1 < len(words):
            setting = words[at + 1]
        elif word.startswith(("-c", "--")) and word != "-c":
            setting = word[2:]
        else:
            continue
        name, _, value = setting.partition("=")
        found[name.replace("-", "_")] = value
    return found


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
