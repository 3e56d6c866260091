"""The annotating loop's own paths behave as the threaded functions do, on SQLite and PostgreSQL.

The service runs next task, submit and the session check on paths of their own: on
PostgreSQL single statements on the event loop (``PostgresLoop``), on SQLite one ``sqlite3``
connection in place (``SqliteLoop``). Every other caller uses the functions of
``pipeline._labelling_tasks``. The shared tests run against all four, on a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.server.conftest import populate

from datawheel.errors import LabellingError
from datawheel.lineage import now
from datawheel.lineage._labelling_models import LabelAnnotation, LabelAssignment, LabelItem, LabelSession
from datawheel.pipeline import _labelling_pg
from datawheel.pipeline._labelling import set_guidelines
from datawheel.pipeline._labelling_pg import APPLICATION_NAME, PostgresLoop
from datawheel.pipeline._labelling_sqlite import SqliteLoop
from datawheel.pipeline._labelling_tasks import AnnotationInfo, TaskInfo, next_task, skip, submit
from datawheel.pipeline._labelling_users import (
    SignedIn,
    UserInfo,
    close_session,
    find_user,
    open_session,
    session_user,
    sessions_of,
)
from datawheel.server import CSRF_HEADER, SESSION_COOKIE, create_app
from datawheel.workspace import Workspace


class Annotating(Protocol):
    def next(self, project: str | int, user: UserInfo) -> TaskInfo | None: ...

    def submit(self, assignment: int, user: UserInfo, value: Any, **options: Any) -> AnnotationInfo: ...

    def session_user(self, token: str) -> SignedIn | None: ...


class Threaded:
    """The pipeline's functions, as the CLI and the other endpoints call them."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def next(self, project: str | int, user: UserInfo) -> TaskInfo | None:
        return next_task(self.workspace, project, user)

    def submit(self, assignment: int, user: UserInfo, value: Any, **options: Any) -> AnnotationInfo:
        return submit(self.workspace, assignment, user, value, **options)

    def session_user(self, token: str) -> SignedIn | None:
        return session_user(self.workspace, token)


class InPlace:
    """``SqliteLoop``, called as the service calls it."""

    def __init__(self, workspace: Workspace) -> None:
        self.loop = SqliteLoop(workspace.engine)

    def next(self, project: str | int, user: UserInfo) -> TaskInfo | None:
        return self.loop.next_task(project, user)

    def submit(self, assignment: int, user: UserInfo, value: Any, **options: Any) -> AnnotationInfo:
        return self.loop.submit(assignment, user, value, **options)

    def session_user(self, token: str) -> SignedIn | None:
        return self.loop.session_user(token)

    def close(self) -> None:
        self.loop.close()


class OnLoop:
    """``PostgresLoop`` on an event loop of its own."""

    def __init__(self, workspace: Workspace) -> None:
        self.events = asyncio.new_event_loop()
        self.loop = PostgresLoop(workspace.engine, connections=2)
        self.events.run_until_complete(self.loop.open())

    def next(self, project: str | int, user: UserInfo) -> TaskInfo | None:
        return self.events.run_until_complete(self.loop.next_task(project, user))

    def submit(self, assignment: int, user: UserInfo, value: Any, **options: Any) -> AnnotationInfo:
        return self.events.run_until_complete(self.loop.submit(assignment, user, value, **options))

    def session_user(self, token: str) -> SignedIn | None:
        return self.events.run_until_complete(self.loop.session_user(token))

    def close(self) -> None:
        self.events.run_until_complete(self.loop.close())
        self.events.close()


@pytest.fixture
def pg_labelled(tmp_path: Path, postgres_url: str) -> Iterator[Workspace]:
    """A PostgreSQL workspace with the accounts and the project of ``populate`` (overlap 2)."""
    with Workspace.init(tmp_path / "ws", database_url=postgres_url) as ws:
        populate(ws)
        yield ws


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_labelled(request: pytest.FixtureRequest) -> Workspace:
    """The populated workspace on SQLite, then on PostgreSQL."""
    found: Workspace = request.getfixturevalue("labelled" if request.param == "sqlite" else "pg_labelled")
    return found


@pytest.fixture(params=["threads", "own path"])
def annotating(request: pytest.FixtureRequest, any_labelled: Workspace) -> Iterator[Annotating]:
    """The threaded functions, then the database's own path of the service."""
    if request.param == "threads":
        yield Threaded(any_labelled)
        return
    own = InPlace(any_labelled) if any_labelled.engine.dialect.name == "sqlite" else OnLoop(any_labelled)
    yield own
    own.close()


def _sign_in(client: TestClient, workspace: Workspace, name: str) -> None:
    token, signed = open_session(workspace, find_user(workspace, name))
    client.cookies.set(SESSION_COOKIE, token)
    client.headers[CSRF_HEADER] = signed.csrf_token


def _refused(status: int) -> Any:
    return pytest.raises(LabellingError, check=lambda exc: exc.status == status)


def test_a_task_stays_open_until_answered(annotating: Annotating, any_labelled: Workspace) -> None:
    ann = find_user(any_labelled, "ann")
    first = annotating.next("sms-triage", ann)
    assert first is not None
    assert first.status == "open"
    assert first.project == "sms-triage"
    assert first.payload["text"].startswith("<script>")  # the first item in priority order
    again = annotating.next("sms-triage", ann)
    assert again == first
    done = annotating.submit(first.assignment, ann, "spam", duration_ms=1234)
    assert (done.assignment, done.item, done.annotator, done.label) == (
        first.assignment,
        first.item,
        "ann",
        "spam",
    )
    assert (done.duration_ms, done.suggestion_used, done.guideline_version) == (1234, False, 1)
    following = annotating.next("sms-triage", ann)
    assert following is not None
    assert following.item != first.item
    assert following.assignment != first.assignment
    by_id = annotating.next(_project_id(any_labelled), ann)
    assert by_id == following  # a project named by its id
    with sessions_of(any_labelled)() as session:
        stored = session.scalars(select(LabelAnnotation)).one()
        assert (stored.value, stored.label, stored.round, stored.duration_ms) == (
            "spam",
            "spam",
            "main",
            1234,
        )
        assert stored.created_at is not None
        assert session.get(LabelAssignment, first.assignment).status == "done"  # type: ignore[union-attr]


def _project_id(workspace: Workspace) -> int:
    with workspace.engine.connect() as conn:
        return int(
            conn.execute(sa.text("SELECT id FROM label_projects WHERE name = 'sms-triage'")).scalar_one()
        )


def test_refusals(annotating: Annotating, any_labelled: Workspace) -> None:
    ann, bob, eve = (find_user(any_labelled, name) for name in ("ann", "bob", "eve"))
    with _refused(403):
        annotating.next("sms-triage", eve)  # not a member
    with _refused(404):
        annotating.next("no-such-project", ann)
    task = annotating.next("sms-triage", ann)
    assert task is not None
    with _refused(404):
        annotating.submit(task.assignment, bob, "spam")  # not bob's
    with _refused(404):
        annotating.submit(10**9, ann, "spam")
    with _refused(400):
        annotating.submit(task.assignment, ann, "eggs")  # not a label of the project
    assert annotating.next("sms-triage", ann) == task  # still open after the refused answer
    annotating.submit(task.assignment, ann, "ham")
    with _refused(409):
        annotating.submit(task.assignment, ann, "spam")


def test_overlap_is_kept_and_no_item_reaches_one_annotator_twice(
    annotating: Annotating, any_labelled: Workspace
) -> None:
    people = [find_user(any_labelled, name) for name in ("ann", "bob", "rev", "boss")]  # boss: an admin
    answered: Counter[str] = Counter()
    working = list(people)
    while working:  # round robin, so that every account gets some of the items
        for user in list(working):
            task = annotating.next("sms-triage", user)
            if task is None:
                working.remove(user)
                continue
            annotating.submit(task.assignment, user, "ham")
            answered[user.name] += 1
    assert sum(answered.values()) == 40 * 2
    assert all(answered[user.name] > 0 for user in people)
    with sessions_of(any_labelled)() as session:
        pairs = session.execute(select(LabelAnnotation.item_id, LabelAnnotation.user_id)).all()
        items = session.scalars(select(LabelItem)).all()
    per_item = Counter(item for item, _ in pairs)
    assert len(set(pairs)) == len(pairs)  # never twice to one annotator
    assert set(per_item.values()) == {2}
    assert all(item.full and item.assigned == 2 for item in items)


@pytest.mark.postgres
def test_the_service_runs_next_and_submit_on_the_event_loop(pg_labelled: Workspace) -> None:
    with TestClient(create_app(pg_labelled)) as client:  # with: the lifespan opens the loop
        assert isinstance(client.app.state.postgres_loop, PostgresLoop)  # type: ignore[attr-defined]
        _sign_in(client, pg_labelled, "ann")
        with pg_labelled.engine.connect() as conn:
            names = conn.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": APPLICATION_NAME},
            ).scalar_one()
        assert names >= 1
        task = client.get("/api/projects/sms-triage/next").json()["task"]
        done = client.post(f"/api/tasks/{task['assignment']}/submit", json={"value": "spam"})
        assert done.status_code == 201, done.text
        assert done.json()["label"] == "spam"
        again = client.post(f"/api/tasks/{task['assignment']}/submit", json={"value": "spam"})
        assert again.status_code == 409
        assert client.get("/api/projects/nope/next").status_code == 404
    assert client.app.state.postgres_loop is None  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_a_connection_the_server_ended_is_replaced(
    pg_labelled: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = find_user(pg_labelled, "ann")
    on_loop = OnLoop(pg_labelled)
    try:
        assert on_loop.next("sms-triage", ann) is not None
        pids = on_loop.events.run_until_complete(_backends(on_loop.loop))
        with pg_labelled.engine.connect() as conn:
            ended = conn.execute(
                sa.text("SELECT count(*) FROM unnest(:pids) pid WHERE pg_terminate_backend(pid)"),
                {"pids": pids},
            ).scalar_one()
        assert ended == 2
        monkeypatch.setattr(_labelling_pg, "_PING_AFTER_IDLE_S", 0.0)  # as if idle for long
        task = on_loop.next("sms-triage", ann)
        assert task is not None
        assert on_loop.submit(task.assignment, ann, "spam").label == "spam"
    finally:
        on_loop.close()


async def _backends(loop: PostgresLoop) -> list[int]:
    async with loop.connection() as one, loop.connection() as other:
        return [one.get_server_pid(), other.get_server_pid()]


@pytest.mark.postgres
def test_a_task_handed_out_elsewhere_is_read_before_its_answer(pg_labelled: Workspace) -> None:
    ann, bob = find_user(pg_labelled, "ann"), find_user(pg_labelled, "bob")
    one, other = OnLoop(pg_labelled), OnLoop(pg_labelled)  # as two processes of --workers 2
    try:
        task = one.next("sms-triage", ann)
        assert task is not None
        with _refused(404):
            other.submit(task.assignment, bob, "spam")  # not bob's, whoever handed it out
        with _refused(400):
            other.submit(task.assignment, ann, "eggs")
        done = other.submit(task.assignment, ann, "spam", duration_ms=10)
        assert (done.assignment, done.item, done.duration_ms) == (task.assignment, task.item, 10)
        with _refused(409):
            one.submit(task.assignment, ann, "ham")  # `one` still remembers it open
        skipped = one.next("sms-triage", ann)
        assert skipped is not None
        skip(pg_labelled, skipped.assignment, ann, reason="unclear")  # the threaded path
        with _refused(409):
            one.submit(skipped.assignment, ann, "ham")
        set_guidelines(pg_labelled, "sms-triage", "# Spam or ham, revised", author="boss")
        fresh = one.next("sms-triage", ann)
        assert fresh is not None
        assert one.submit(fresh.assignment, ann, "ham").guideline_version == 2  # the version now
    finally:
        one.close()
        other.close()


def test_sessions_are_read_alike(annotating: Annotating, any_labelled: Workspace) -> None:
    ann = find_user(any_labelled, "ann")
    token, signed = open_session(any_labelled, ann)
    later, _ = open_session(any_labelled, ann)
    assert annotating.session_user(token) == signed == session_user(any_labelled, token)
    assert annotating.session_user("not-a-token") is None
    close_session(any_labelled, token)
    assert annotating.session_user(token) is None
    with sessions_of(any_labelled).begin() as session:
        row = session.scalars(select(LabelSession)).one()
        row.expires_at = now() - timedelta(seconds=1)
    assert annotating.session_user(later) is None  # expired


def test_the_sqlite_service_runs_next_and_submit_in_place(labelled: Workspace) -> None:
    with TestClient(create_app(labelled)) as client:  # with: the lifespan opens the connection
        assert isinstance(client.app.state.sqlite_loop, SqliteLoop)  # type: ignore[attr-defined]
        _sign_in(client, labelled, "ann")
        task = client.get("/api/projects/sms-triage/next").json()["task"]
        done = client.post(f"/api/tasks/{task['assignment']}/submit", json={"value": "spam"})
        assert done.status_code == 201, done.text
        assert done.json()["label"] == "spam"
        assert (
            client.post(f"/api/tasks/{task['assignment']}/submit", json={"value": "ham"}).status_code == 409
        )
        assert client.get("/api/projects/nope/next").status_code == 404
    assert client.app.state.sqlite_loop is None  # type: ignore[attr-defined]
    with sessions_of(labelled)() as session:
        assert session.scalars(select(LabelAnnotation.label)).all() == ["spam"]


@pytest.mark.postgres
def test_the_tables_written_are_vacuumed_now_and_then(
    pg_labelled: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_labelling_pg, "VACUUM_EVERY_S", 0.05)
    monkeypatch.setattr(_labelling_pg, "VACUUM_AFTER_WRITES", 1_000)  # none while the writes are made
    ann = find_user(pg_labelled, "ann")
    on_loop = OnLoop(pg_labelled)

    def vacuumed() -> set[str]:
        with pg_labelled.engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                    "AND vacuum_count > 0"
                )
            ).scalars()
            return set(found)

    try:
        assert vacuumed() == set()
        for _ in range(2):
            task = on_loop.next("sms-triage", ann)
            assert task is not None
            on_loop.submit(task.assignment, ann, "spam")
        assert on_loop.loop.writes == 4
        monkeypatch.setattr(_labelling_pg, "VACUUM_AFTER_WRITES", 5)  # one short: no vacuum
        on_loop.events.run_until_complete(asyncio.sleep(0.3))
        assert vacuumed() == set()
        assert on_loop.loop.writes == 4
        monkeypatch.setattr(_labelling_pg, "VACUUM_AFTER_WRITES", 4)
        deadline = time.monotonic() + 10
        while vacuumed() != {"label_items", "label_assignments"} and time.monotonic() < deadline:
            on_loop.events.run_until_complete(asyncio.sleep(0.1))  # the loop runs the vacuum task
        assert vacuumed() == {"label_items", "label_assignments"}
        assert on_loop.loop.writes == 0
    finally:
        on_loop.close()


def test_a_failed_write_on_sqlite_leaves_no_transaction_open(labelled: Workspace) -> None:
    ann = find_user(labelled, "ann")
    own = InPlace(labelled)
    try:
        task = own.next("sms-triage", ann)
        assert task is not None
        with _refused(400):
            own.submit(task.assignment, ann, "eggs")  # refused inside the transaction
        assert not own.loop.conn.in_transaction
        assert own.submit(task.assignment, ann, "ham").label == "ham"  # the next write goes through
    finally:
        own.close()
