"""Many annotators at once against a real uvicorn: nothing is lost, nothing is given twice.

50 annotators (threads with their own HTTP client and session) ask for the next task and submit
it, over and over, for a fixed time: 10 s on SQLite and 5 s on PostgreSQL, to keep the suite
short (the issue asks for a minute; ``DATAWHEEL_LOAD_SECONDS`` sets a longer run, and
``benchmarks/serve.py`` measures the speed). Every accepted submission must be in the
database, and no item may reach one annotator twice or more annotators than the overlap; the
same holds with two server processes (``datawheel serve --workers 2``) writing one database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.server.conftest import accounts, sms_frame, start_server, stop_server

from datawheel.lineage._labelling_models import LabelAnnotation, LabelAssignment, LabelItem
from datawheel.pipeline._labelling import create_project
from datawheel.pipeline._labelling_users import open_session, sessions_of
from datawheel.server import CSRF_HEADER, SESSION_COOKIE, create_app
from datawheel.workspace import Workspace

ANNOTATORS = 50
OVERLAP = 3


def _annotate(url: str, token: str, csrf: str, until: float, accepted: list[int], errors: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=60, cookies={SESSION_COOKIE: token}) as client:
        client.headers[CSRF_HEADER] = csrf
        while time.monotonic() < until:
            task = client.get("/api/projects/load/next")
            if task.status_code != 200:
                errors.append(f"next: {task.status_code} {task.text}")
                return
            found = task.json()["task"]
            if found is None:
                return
            done = client.post(f"/api/tasks/{found['assignment']}/submit", json={"value": "spam"})
            if done.status_code == 201:
                accepted.append(done.json()["id"])
            else:
                errors.append(f"submit: {done.status_code} {done.text}")


@pytest.mark.slow
def test_fifty_concurrent_annotators_lose_nothing(tmp_path: Path, database_url: str | None) -> None:
    seconds = float(os.environ.get("DATAWHEEL_LOAD_SECONDS", "10" if database_url is None else "5"))
    with Workspace.init(tmp_path / "ws", database_url=database_url) as ws:
        sessions = _project(ws)
        live = start_server(create_app(ws))
        try:
            accepted, errors = _load(live.url, sessions, seconds)
        finally:
            stop_server(live)
        _check(ws, accepted, errors)


@pytest.mark.slow
def test_two_server_processes_lose_nothing(tmp_path: Path, database_url: str | None) -> None:
    """``datawheel serve --workers 2``: two processes write one database (on SQLite, taking turns)."""
    seconds = float(os.environ.get("DATAWHEEL_LOAD_SECONDS", "5"))
    root = tmp_path / "ws"
    with Workspace.init(root, database_url=database_url) as ws:
        sessions = _project(ws)
    port = _free_port()
    command = [sys.executable, "-m", "datawheel", "-C", str(root), "serve", "--port", str(port)]
    server = subprocess.Popen([*command, "--workers", "2", "--log-level", "warning"])
    try:
        _wait_until_served(f"http://127.0.0.1:{port}")
        accepted, errors = _load(f"http://127.0.0.1:{port}", sessions, seconds)
    finally:
        server.terminate()
        server.wait(timeout=60)
    with Workspace.open(root) as ws:
        _check(ws, accepted, errors)


def _project(ws: Workspace) -> list[tuple[str, str]]:
    """The project ``load`` (overlap 3) with 50 annotators; their cookie and CSRF tokens."""
    ws.commit("sms", sms_frame(2000))
    names = [f"a{i:02d}" for i in range(ANNOTATORS)]
    users = list(accounts(ws, dict.fromkeys(names, "annotator")).values())
    create_project(
        ws,
        "load",
        "sms",
        task_type="single",
        column="text",
        labels=["ham", "spam"],
        overlap=OVERLAP,
        members=names,
    )
    return [(token, signed.csrf_token) for token, signed in (open_session(ws, user) for user in users)]


def _load(url: str, sessions: list[tuple[str, str]], seconds: float) -> tuple[list[int], list[str]]:
    """Every annotator at work for ``seconds``: the ids of the accepted submissions, and the errors."""
    accepted: list[int] = []
    errors: list[str] = []
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_annotate, args=(url, token, csrf, until, accepted, errors))
        for token, csrf in sessions
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    return accepted, errors


def _check(ws: Workspace, accepted: list[int], errors: list[str]) -> None:
    """Every accepted submission stored once; no item given twice to one annotator or past the overlap."""
    assert errors == []
    with sessions_of(ws)() as session:
        stored = session.scalar(select(func.count()).select_from(LabelAnnotation))
        twice = session.scalar(
            select(func.count()).select_from(
                select(LabelAssignment.item_id, LabelAssignment.user_id)
                .group_by(LabelAssignment.item_id, LabelAssignment.user_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        crowded = session.scalar(select(func.max(LabelItem.assigned)))
        counted = session.scalar(select(func.count()).select_from(LabelAssignment))
    assert len(accepted) > ANNOTATORS  # every annotator got work done
    assert stored == len(accepted) == len(set(accepted))
    assert twice == 0
    assert crowded is not None
    assert crowded <= OVERLAP
    assert counted is not None
    assert counted >= stored


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_served(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"datawheel serve did not answer at {url}")
