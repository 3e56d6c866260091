"""Where the annotating loop's database work runs: in place on SQLite, on a few threads otherwise.

The annotating loop's requests (next task, submit, skip, undo) and the session check are short
database calls, far shorter than handing them to another thread: a trivial ``def`` endpoint,
which FastAPI runs on anyio's thread pool, took 0.30 ms a request in-process against 0.04 ms
for an ``async def`` one, and even a plain executor's hand-off, with the two threads then taking turns
on the GIL, cost a single-process server 1.2 ms of CPU a request against 0.8 ms when the same
work ran in place (``benchmarks/serve.py``, SQLite, 50 annotators at full speed).

So on SQLite the work runs in place, on the event loop, whenever no other writer holds the
database (a SQLite query here takes well under a millisecond, and readers never wait in WAL
mode); when another writer does (an export on anyio's pool, another ``--workers`` process),
the work goes to a thread that may wait its turn, and the loop serves others meanwhile. On
PostgreSQL, next task, submit and the session check run on the event loop through
:class:`~datawheel.pipeline._labelling_pg.PostgresLoop`; skip and undo go to four threads,
whose commits wait for the server's disk together. Pages and the rarer API calls stay on
anyio's pool.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar, cast

from fastapi import Request
from sqlalchemy import Engine

from datawheel.pipeline._labelling import WriterBusy, no_wait

P = ParamSpec("P")
T = TypeVar("T")
SERVER_THREADS = 4


def database_threads(engine: Engine) -> ThreadPoolExecutor:
    """The executor for an app's database work: four threads, or one for SQLite (writers take turns)."""
    count = 1 if engine.dialect.name == "sqlite" else SERVER_THREADS
    return ThreadPoolExecutor(max_workers=count, thread_name_prefix="datawheel-db")


async def annotating(request: Request, name: str, threaded: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """The annotating loop's call ``name`` (``next_task``, ``submit`` or ``session_user``).

    On the database's own path where the service has one open (:class:`PostgresLoop`, on the
    event loop; :class:`SqliteLoop`, in place unless another writer holds the database),
    else ``threaded(workspace, *args, **kwargs)`` through :func:`in_database`.
    """
    state = request.app.state
    if state.postgres_loop is not None:
        return cast(T, await getattr(state.postgres_loop, name)(*args, **kwargs))
    if state.sqlite_loop is not None:
        try:
            with no_wait():
                return cast(T, getattr(state.sqlite_loop, name)(*args, **kwargs))
        except WriterBusy:
            pass  # another writer holds the database: wait for it on a thread
    return await in_database(request, threaded, state.workspace, *args, **kwargs)


async def in_database(request: Request, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)``: on SQLite in place when no other writer is busy, else on a thread.

    ``fn`` must make at most one write transaction, and read nothing that matters before it:
    when the writer's turn is not free, it is stopped before that transaction and run again.
    """
    state = request.app.state
    if state.workspace.engine.dialect.name == "sqlite":
        try:
            with no_wait():
                return fn(*args, **kwargs)
        except WriterBusy:
            pass
    executor: ThreadPoolExecutor = state.database_threads
    return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(fn, *args, **kwargs))
