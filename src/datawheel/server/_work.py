"""Blocking database work, off the event loop, on the app's own few threads.

The annotating loop's requests (next task, submit, skip, undo) and the session check are short
database calls. FastAPI runs a ``def`` endpoint on anyio's general thread pool, a hand-off that
costs more than such a query (about 0.26 ms against 0.04 ms for an ``async def`` endpoint,
measured in-process); an ``async def`` endpoint that hands the call to a plain executor costs
a fraction of that. SQLite gets one thread (its writers take turns anyway); PostgreSQL gets
four, so that the round trips of concurrent requests overlap. Pages and the rarer API calls,
some of them long (an export, a password check), stay on anyio's pool.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from fastapi import Request
from sqlalchemy import Engine

P = ParamSpec("P")
T = TypeVar("T")
SQLITE_THREADS = 1
SERVER_THREADS = 4


def database_threads(engine: Engine, threads: int | None = None) -> ThreadPoolExecutor:
    """The executor for an app's database work: ``threads``, else one for SQLite, four for a server."""
    count = (
        threads
        if threads is not None
        else SQLITE_THREADS
        if engine.dialect.name == "sqlite"
        else SERVER_THREADS
    )
    return ThreadPoolExecutor(max_workers=count, thread_name_prefix="datawheel-db")


async def in_database(request: Request, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` run on the app's database threads, awaited."""
    executor: ThreadPoolExecutor = request.app.state.database_threads
    return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(fn, *args, **kwargs))
