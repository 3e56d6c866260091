"""Fixtures of the labelling service: a workspace with accounts and a project, a real server."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import polars as pl
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from datawheel.demo import DEMO_DATA
from datawheel.lineage import now
from datawheel.lineage._labelling_models import LabelUser
from datawheel.pipeline._labelling import create_project
from datawheel.pipeline._labelling_users import UserInfo, add_user, find_user, open_session, sessions_of
from datawheel.server import CSRF_HEADER, SESSION_COOKIE, create_app
from datawheel.workspace import Workspace

PASSWORDS = {
    "boss": "boss-password",
    "ann": "ann-password",
    "bob": "bob-password",
    "rev": "rev-password",
    "eve": "eve-password",
}
ROLES = {"boss": "admin", "ann": "annotator", "bob": "annotator", "rev": "reviewer", "eve": "annotator"}
XSS = '<script>document.title="pwned"</script><img src=x onerror="document.title=\'pwned\'">'


def sms_frame(rows: int = 40) -> pl.DataFrame:
    """The first rows of the SMS Spam Collection (CC BY 4.0, shipped with the demo), plus an XSS text."""
    lines = DEMO_DATA.read_text(encoding="utf-8").splitlines()[: rows - 1]
    labels, texts = zip(*(line.split("\t", 1) for line in lines), strict=True)
    return pl.DataFrame({"label": [*labels, "spam"], "text": [XSS, *texts]})


_HASHED: list[str] = []


def accounts(ws: Workspace, roles: dict[str, str]) -> dict[str, UserInfo]:
    """Accounts made with one shared argon2 hash of "secret-password" (hashing is slow on purpose)."""
    if not _HASHED:
        _HASHED.append(PasswordHasher().hash("secret-password"))
    with sessions_of(ws).begin() as session:
        session.add_all(
            LabelUser(name=n, role=r, password_hash=_HASHED[0], active=True, created_at=now())
            for n, r in roles.items()
        )
    return {name: find_user(ws, name) for name in roles}


def populate(ws: Workspace, *, rows: int = 40, overlap: int = 2) -> None:
    """Accounts boss, ann, bob, rev, eve and project ``sms-triage`` (eve is not a member)."""
    ws.commit("sms", sms_frame(rows))
    for name, role in ROLES.items():
        add_user(ws, name, role=role, password=PASSWORDS[name])
    create_project(
        ws,
        "sms-triage",
        "sms",
        task_type="single",
        column="text",
        labels=["ham", "spam"],
        overlap=overlap,
        guidelines="# Spam or ham\n\n**spam**: unsolicited offers. <b>raw html</b>",
        members=["ann", "bob", "rev"],
    )


@pytest.fixture(scope="session")
def labelled_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A populated workspace made once (argon2 hashing is slow on purpose), copied by each test."""
    root = tmp_path_factory.mktemp("template") / "ws"
    with Workspace.init(root) as ws:
        populate(ws)
    return root


@pytest.fixture
def labelled(tmp_path: Path, labelled_template: Path) -> Iterator[Workspace]:
    """A SQLite workspace with the accounts and project of :func:`populate` (a fresh copy)."""
    shutil.copytree(labelled_template, tmp_path / "ws")
    with Workspace.open(tmp_path / "ws") as ws:
        yield ws


@pytest.fixture
def app(labelled: Workspace) -> FastAPI:
    """The labelling app over the :func:`labelled` workspace."""
    return create_app(labelled)


Login = Callable[[str], TestClient]


@pytest.fixture
def login(app: FastAPI, labelled: Workspace) -> Login:
    """A signed-in test client for an account, sending its CSRF token on every request.

    The session is opened directly (the sign-in endpoint itself is tested on its own), which
    spares each test the argon2 check of a password.
    """

    def sign_in(name: str) -> TestClient:
        client = TestClient(app)
        token, signed = open_session(labelled, find_user(labelled, name))
        client.cookies.set(SESSION_COOKIE, token)
        client.headers[CSRF_HEADER] = signed.csrf_token
        return client

    return sign_in


@dataclass
class LiveServer:
    """A real uvicorn serving the app on a free loopback port, in a thread."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def client(self, name: str) -> httpx.Client:
        """A signed-in HTTP client of ``name``."""
        client = httpx.Client(base_url=self.url, timeout=30)
        answer = client.post("/api/login", json={"name": name, "password": PASSWORDS[name]})
        assert answer.status_code == 200, answer.text
        client.headers[CSRF_HEADER] = answer.json()["csrf_token"]
        return client


def start_server(app: FastAPI) -> LiveServer:
    """Start uvicorn on a socket bound to a free port of 127.0.0.1; wait until it serves."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}", server, thread)


def stop_server(live: LiveServer) -> None:
    """Stop the server and wait for its thread."""
    live.server.should_exit = True
    live.thread.join(timeout=20)


@pytest.fixture
def live(app: FastAPI) -> Iterator[LiveServer]:
    """The :func:`app` served by a real uvicorn on a free port."""
    served = start_server(app)
    yield served
    stop_server(served)
