"""Running the service: uvicorn on a host and port, over one workspace, in one or more processes."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from datawheel.server._app import create_app
from datawheel.workspace import Workspace

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
ROOT_ENV = "DATAWHEEL_SERVE_ROOT"
MAX_DEFAULT_WORKERS = 4


def serve(
    workspace: Workspace,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    log_level: str = "info",
    workers: int | None = None,
) -> None:
    """Serve the labelling pages and API on ``host:port`` until interrupted.

    With ``workers`` above 1, uvicorn runs that many processes, each opening the workspace.
    By default (None) see :func:`default_workers`.
    """
    workers = default_workers(workspace) if workers is None else workers
    if workers <= 1:
        uvicorn.run(_long_lived(create_app(workspace)), host=host, port=port, log_level=log_level)
        return
    os.environ[ROOT_ENV] = str(workspace.root)
    uvicorn.run(
        "datawheel.server._serve:app_from_environment",
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        workers=workers,
    )


def default_workers(workspace: Workspace) -> int:
    """Server processes when none are asked for: 1 on SQLite, on PostgreSQL one a core (at most 4).

    One process uses at most one core. On PostgreSQL a second process served more requests
    than one on 2 cores shared with the database and the clients (``benchmarks/serve.py``, 50
    annotators at full speed: 904 to 1,067 requests a second and endpoint, against 742 to 887).
    SQLite writes one transaction at a time: processes that take turns on its file served no
    more than one did, with a longer tail. Each process holds ``PostgresLoop``'s connections
    and the engine's own, hence the cap.
    """
    if workspace.engine.dialect.name == "sqlite":
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


def app_from_environment() -> FastAPI:
    """The app over the workspace named by ``DATAWHEEL_SERVE_ROOT`` (for uvicorn's workers)."""
    return _long_lived(create_app(Workspace.open(Path(os.environ[ROOT_ENV]))))


def _long_lived(app: FastAPI) -> FastAPI:
    """``app``, with what is loaded by now moved out of the garbage collector's sight.

    Modules, routes and compiled statements live as long as the process; frozen, they are no
    longer walked by every full collection, which pauses all requests in flight while it runs.
    """
    gc.freeze()
    return app
