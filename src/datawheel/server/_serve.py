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


def serve(
    workspace: Workspace,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    log_level: str = "info",
    workers: int = 1,
) -> None:
    """Serve the labelling pages and API on ``host:port`` until interrupted.

    With ``workers`` above 1, uvicorn runs that many processes, each opening the workspace
    (best on PostgreSQL; on SQLite they take turns writing).
    """
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
