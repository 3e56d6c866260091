"""The labelling service under load: next-task and submit with 50 concurrent annotators.

A project of 100,000 tasks (SMS-like texts, overlap 1) is served by a real ``datawheel serve``
(uvicorn; one process, then two) on loopback; 50 annotators, each with its own sign-in and
keep-alive connection (a lean HTTP/1.1 client, see ``Client``) in one uvloop client process,
loop on ``GET /api/projects/P/next`` then ``POST /api/tasks/T/submit`` for a fixed time:

- at full speed, with no pause between requests: the closed loop, every annotator always
  waiting on the server, so the latency is the queue behind the other 49 (about clients /
  throughput) and the run measures how many requests the server can take;
- paced: each annotator starts a task every 0.1 s, then every 0.25 s (10 and 4 tasks a second
  each, 1,000 and 400 requests a second together; people take seconds a task), to measure the
  latency annotators see while the server is not saturated.

Printed: requests per second and p50/p99 latency of each endpoint, on SQLite and on
PostgreSQL, the CPU a request of the server and of PostgreSQL, and whether next-task met the
goal p99 < 50 ms. There is no peer run side by side: Label Studio's free edition has no
assignment or overlap to compare.

    python benchmarks/serve.py [--tasks 100000] [--clients 50] [--seconds 20] [--workers 1 2]
                               [--pace 0.1 0.25] [--databases sqlite postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import polars as pl
import uvloop
from argon2 import PasswordHasher

from _common import DEFAULT_POSTGRES, postgres_schema, print_table, seconds
from datawheel.lineage import now
from datawheel.lineage._labelling_models import LabelUser
from datawheel.pipeline import create_project
from datawheel.pipeline._labelling_users import find_user, open_session, sessions_of
from datawheel.server import CSRF_HEADER, SESSION_COOKIE
from datawheel.workspace import Workspace

WORDS = "free win prize call now text lunch meet see you later cash claim urgent reply stop home".split()  # noqa: SIM905
GOAL_P99_MS = 50.0


def texts(n: int) -> pl.DataFrame:
    """``n`` short messages made of common SMS words (deterministic)."""
    return pl.DataFrame(
        {
            "text": [
                " ".join(WORDS[(i * k + k * k) % len(WORDS)] for k in range(1, 9)) + f" #{i}"
                for i in range(n)
            ]
        }
    )


def prepare(root: Path, database_url: str | None, tasks: int, clients: int) -> list[tuple[str, str]]:
    """A workspace with the project and ``clients`` annotators; their (cookie token, CSRF token)."""
    with Workspace.init(root, database_url=database_url) as ws:
        ws.commit("sms", texts(tasks))
        names = [f"annotator{i:02d}" for i in range(clients)]
        hashed = PasswordHasher().hash("bench-password")
        with sessions_of(ws).begin() as session:
            session.add_all(
                LabelUser(name=n, role="annotator", password_hash=hashed, active=True, created_at=now())
                for n in names
            )
        took, _ = seconds(
            lambda: create_project(
                ws, "bench", "sms", task_type="single", column="text", labels=["ham", "spam"], members=names
            )
        )
        print(f"  project of {tasks:,} tasks created in {took:.1f} s")
        out = []
        for name in names:
            token, signed = open_session(ws, find_user(ws, name))
            out.append((token, signed.csrf_token))
        return out


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(root: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """``datawheel serve`` on ``port``, waited for until /api/health answers."""
    command = [sys.executable, "-m", "datawheel", "-C", str(root), "serve", "--port", str(port)]
    options = ["--log-level", "warning", "--workers", str(workers)]
    process = subprocess.Popen([*command, *options], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("datawheel serve did not start")


class Client:
    """One annotator's keep-alive HTTP/1.1 connection, doing no more than a load generator needs.

    The client shares the machine with the server: with aiohttp it spent a quarter of the CPU the
    server did (and httpx more than the server), time the server's figures would lose. Requests
    are written whole; a response is read by its ``Content-Length``, which the service always sets.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str, csrf: str):
        self.reader = reader
        self.writer = writer
        self.headers = (
            f"Host: bench\r\nCookie: {SESSION_COOKIE}={token}\r\n{CSRF_HEADER}: {csrf}\r\n"
            "Content-Type: application/json\r\n"
        )

    @classmethod
    async def connect(cls, port: int, token: str, csrf: str) -> Client:
        """A connection to the server on loopback ``port``, signed in with the session ``token``."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, token, csrf)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """The status and body of the answer to one request."""
        head = f"{method} {path} HTTP/1.1\r\n{self.headers}Content-Length: {len(body)}\r\n\r\n"
        self.writer.write(head.encode() + body)
        answer = await self.reader.readuntil(b"\r\n\r\n")
        length = _CONTENT_LENGTH.search(answer)
        if length is None:
            raise RuntimeError(f"an answer without Content-Length: {answer[:200]!r}")
        return int(answer[9:12]), await self.reader.readexactly(int(length.group(1)))

    async def close(self) -> None:
        """Close the connection."""
        self.writer.close()
        await self.writer.wait_closed()


_CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")
_ANSWER = json.dumps({"value": "spam"}).encode()


async def annotator(
    port: int,
    token: str,
    csrf: str,
    span: tuple[float, float],
    pace: float,
    timings: dict[str, list[float]],
    failures: list[str],
) -> None:
    """Loop on next-task and submit until ``span[1]``, timing the requests made after ``span[0]``.

    With ``pace`` (seconds) the annotator starts a task every ``pace`` seconds, on a schedule
    of its own (a late task is not made up for by a shorter pause); with 0, at once. The first
    second is left out of the timings: 50 clients connecting at once is a start-up burst, not
    the steady state the figures describe.
    """
    counted, until = span
    client = await Client.connect(port, token, csrf)
    scheduled = time.monotonic() + random.uniform(0, pace)
    try:
        while time.monotonic() < until:
            if pace:
                await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
                scheduled = max(scheduled + pace, time.monotonic())
            keep = time.monotonic() >= counted
            started = time.perf_counter()
            status, body = await client.request("GET", "/api/projects/bench/next")
            if keep:
                timings["next"].append((time.perf_counter() - started) * 1000)
            task = json.loads(body).get("task") if status == 200 else None
            if task is None:
                failures.append(f"next: {status} {body[:100]!r}")
                return
            started = time.perf_counter()
            status, body = await client.request("POST", f"/api/tasks/{task['assignment']}/submit", _ANSWER)
            if keep:
                timings["submit"].append((time.perf_counter() - started) * 1000)
            if status != 201:
                failures.append(f"submit: {status} {body[:100]!r}")
    finally:
        await client.close()


async def load(
    port: int, sessions: list[tuple[str, str]], duration: float, pace: float = 0.0
) -> tuple[dict[str, list[float]], float]:
    """Run every annotator for ``duration`` seconds at ``pace``; their timings and the wall time.

    What this process holds by now (the workspace, Polars, SQLAlchemy: some 300,000 objects) is
    frozen out of the garbage collector's sight first. Otherwise each full collection walks it,
    about 100 ms during which no client reads its answer, and the client's pause is counted as
    the server's latency.
    """
    gc.collect()
    gc.freeze()
    timings: dict[str, list[float]] = {"next": [], "submit": []}
    failures: list[str] = []
    begin = time.monotonic()
    span = (begin + min(1.0, duration / 4), begin + duration)
    await asyncio.gather(*(annotator(port, t, c, span, pace, timings, failures) for t, c in sessions))
    if failures:
        print(f"  {len(failures)} failed requests, e.g. {failures[0]}")
    return timings, time.monotonic() - span[0]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its children (Linux), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return own + sum(cpu_seconds(child) for child in children)


def postgres_cpu_seconds() -> float:
    """CPU time of the machine's PostgreSQL processes, exited backends included (Linux), in seconds."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        if text[text.index("(") + 1 : text.rindex(")")] == "postgres":
            fields = text.rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15])  # utime, stime, and of waited-for children
    return total / os.sysconf("SC_CLK_TCK")


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values``."""
    return (
        statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]
        if len(values) > 1
        else 0.0
    )


def measure(name: str, database_url: str | None, args: argparse.Namespace) -> list[list[str]]:
    """Prepare one database, then serve and load it with each number of server processes."""
    print(f"{name}:")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "ws"
        sessions = prepare(root, database_url, args.tasks, args.clients)
        for workers in args.workers:
            port = free_port()
            server = start(root, port, workers)
            try:
                uvloop.run(load(port, sessions[:2], 1.0))  # warm up
                for pace in (0.0, *args.pace):
                    client_cpu, server_cpu = time.process_time(), cpu_seconds(server.pid)
                    database_cpu = postgres_cpu_seconds()
                    timings, wall = uvloop.run(load(port, sessions, args.seconds, pace))
                    client_cpu = time.process_time() - client_cpu
                    server_cpu = cpu_seconds(server.pid) - server_cpu
                    database_cpu = postgres_cpu_seconds() - database_cpu
                    requests = sum(len(values) for values in timings.values())
                    how = _pace(pace)
                    per_request = database_cpu / requests * 1000
                    postgres = (
                        f", PostgreSQL {database_cpu:.1f} s ({per_request:.2f} ms a request)"
                        if database_url
                        else ""
                    )
                    print(
                        f"  {workers} server process(es), {how}: CPU over the {args.seconds:g} s: server "
                        f"{server_cpu:.1f} s ({server_cpu / requests * 1000:.2f} ms a request){postgres}, "
                        f"clients {client_cpu:.1f} s"
                    )
                    rows += [
                        _row(name, workers, how, endpoint, values, wall)
                        for endpoint, values in timings.items()
                    ]
            finally:
                server.terminate()
                server.wait(timeout=30)
    return rows


def _pace(pace: float) -> str:
    return f"a task every {pace:g} s each" if pace else "full speed"


def _row(name: str, workers: int, how: str, endpoint: str, values: list[float], wall: float) -> list[str]:
    p99 = quantile(values, 0.99)
    goal = ("yes" if p99 < GOAL_P99_MS else "no") if endpoint == "next" else ""
    return [
        name,
        str(workers),
        how,
        endpoint,
        f"{len(values):,}",
        f"{len(values) / wall:,.0f}",
        f"{statistics.median(values):.1f}",
        f"{p99:.1f}",
        goal,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="server processes (datawheel serve --workers)"
    )
    parser.add_argument(
        "--pace",
        type=float,
        nargs="*",
        default=[0.1, 0.25],
        help="seconds between an annotator's tasks, one paced run for each (besides the full-speed one)",
    )
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--postgres", default=os.environ.get("DATAWHEEL_TEST_POSTGRES_URL", DEFAULT_POSTGRES))
    args = parser.parse_args()
    print(
        f"{args.tasks:,} tasks, {args.clients} concurrent annotators, {args.seconds:g} s a run, "
        f"{' and '.join(map(str, args.workers))} server process(es), {os.cpu_count()} cores"
    )
    rows = measure("sqlite", None, args) if "sqlite" in args.databases else []
    if "postgresql" in args.databases:
        with postgres_schema(args.postgres) as url:
            if url is not None:
                rows += measure("postgresql", url, args)
    print()
    headers = [
        "database",
        "processes",
        "load",
        "endpoint",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "p99 < 50 ms",
    ]
    print_table(headers, rows)


if __name__ == "__main__":
    main()
