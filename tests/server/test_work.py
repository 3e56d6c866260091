"""The annotating loop's database work: in place on SQLite, on a thread when another writer is busy."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlalchemy import create_engine
from tests.server.conftest import LiveServer

from datawheel.errors import WorkspaceError
from datawheel.pipeline._labelling import WriterBusy, _writer_turn, no_wait
from datawheel.pipeline._labelling_pg import APPLICATION_NAME, connect_options
from datawheel.workspace import Workspace


def test_a_writer_that_will_not_wait_is_told_the_turn_is_taken(labelled: Workspace) -> None:
    engine = labelled.engine
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with _writer_turn(engine, write=True):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    try:
        with pytest.raises(WriterBusy), no_wait(), _writer_turn(engine, write=True):
            pass
        with no_wait(), _writer_turn(engine, write=False):  # readers never wait
            pass
    finally:
        release.set()
        holder.join(10)
    with no_wait(), _writer_turn(engine, write=True):  # free again
        pass


def test_next_task_waits_off_the_loop_while_another_writer_holds_the_database(
    labelled: Workspace, live: LiveServer
) -> None:
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:  # as an export on anyio's thread pool would
        with _writer_turn(labelled.engine, write=True):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    answers: list[httpx.Response] = []
    ann = live.client("ann")
    asking = threading.Thread(target=lambda: answers.append(ann.get("/api/projects/sms-triage/next")))
    asking.start()
    try:
        time.sleep(0.3)
        assert answers == []  # the next task waits for its turn...
        started = time.monotonic()
        assert httpx.get(f"{live.url}/api/health", timeout=5).status_code == 200
        assert time.monotonic() - started < 2.0  # ...on a thread: the loop still serves others
    finally:
        release.set()
        holder.join(10)
        asking.join(10)
        ann.close()
    assert answers[0].status_code == 200
    assert answers[0].json()["task"] is not None


def test_the_postgres_loop_connects_as_the_engine_does() -> None:
    engine = create_engine(
        "postgresql+psycopg://ann:secret@db.example:5433/labels"
        "?options=-csearch_path%3Dteam&sslmode=require&connect_timeout=7"
    )
    assert connect_options(engine) == {
        "host": "db.example",
        "port": 5433,
        "database": "labels",
        "user": "ann",
        "password": "secret",
        "ssl": "require",
        "timeout": 7.0,
        "server_settings": {"application_name": APPLICATION_NAME, "search_path": "team"},
    }
    socket = create_engine("postgresql+psycopg:///labels?host=/var/run/postgresql&application_name=mine")
    assert connect_options(socket) == {
        "host": "/var/run/postgresql",
        "database": "labels",
        "server_settings": {"application_name": "mine"},
    }
    odd = create_engine("postgresql+psycopg://db.example/labels?target_session_attrs=read-write")
    with pytest.raises(WorkspaceError, match="target_session_attrs"):
        connect_options(odd)
