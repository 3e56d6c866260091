"""The web application: the API and the pages over one workspace, with safe defaults."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datawheel._version import __version__
from datawheel.errors import DatawheelError, LabellingError, RefError
from datawheel.lineage._db import background_checkpoints
from datawheel.pipeline._labelling_sqlite import SqliteLoop
from datawheel.server._api import refused
from datawheel.server._api import router as api_router
from datawheel.server._auth import LoginLimiter, Refused, SessionCache
from datawheel.server._markdown import render_markdown
from datawheel.server._pages import router as pages_router
from datawheel.server._work import database_threads
from datawheel.workspace import Workspace

HERE = Path(__file__).parent
THREADS = int(os.environ.get("DATAWHEEL_SERVE_THREADS", "8"))
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_HEADERS = [
    (b"content-security-policy", _CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
_NO_STORE = [(b"cache-control", b"no-store")]


def templates() -> Environment:
    """The Jinja2 templates of the pages; autoescape is on for every template."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    env.filters["markdown"] = render_markdown
    return env


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Fewer worker threads than anyio's 40: the work is short and mostly holds the GIL, so more
    # threads only lengthen the queue each request waits in (and SQLite writes one at a time).
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = app.state.threads
    engine = app.state.workspace.engine
    if engine.dialect.name == "postgresql":
        from datawheel.pipeline._labelling_pg import PostgresLoop  # asyncpg: the postgres extra

        app.state.postgres_loop = PostgresLoop(engine)
        await app.state.postgres_loop.open()
    try:
        with background_checkpoints(engine):
            if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
                app.state.sqlite_loop = SqliteLoop(engine, checkpoints=False)
            yield
    finally:
        app.state.database_threads.shutdown(wait=True)
        if app.state.postgres_loop is not None:
            await app.state.postgres_loop.close()
            app.state.postgres_loop = None
        if app.state.sqlite_loop is not None:
            app.state.sqlite_loop.close()
            app.state.sqlite_loop = None


def create_app(workspace: Workspace, *, threads: int = THREADS) -> FastAPI:
    """The labelling service over ``workspace``: REST API under ``/api``, pages, static files.

    Example:
        >>> import tempfile
        >>> from fastapi.testclient import TestClient
        >>> with Workspace.init(Path(tempfile.mkdtemp())) as ws:
        ...     client = TestClient(create_app(ws))
        ...     client.get("/api/health").json()["status"], client.get("/api/projects").status_code
        ('ok', 401)
    """
    app = FastAPI(
        title="datawheel labelling service",
        version=__version__,
        description="Projects, tasks, review and export of labels, over a datawheel workspace.",
        lifespan=_lifespan,
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN; the schema is at /openapi.json
        redoc_url=None,
    )
    app.state.threads = threads
    app.state.workspace = workspace
    app.state.database_threads = database_threads(workspace.engine)
    app.state.postgres_loop = None  # the annotating loop's own paths, opened by the lifespan
    app.state.sqlite_loop = None
    app.state.templates = templates()
    app.state.login_limiter = LoginLimiter()
    app.state.session_cache = SessionCache()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api_router)
    app.include_router(pages_router)
    app.add_exception_handler(Refused, _on_refused)  # type: ignore[arg-type]
    app.add_exception_handler(DatawheelError, _on_error)  # type: ignore[arg-type]
    app.add_middleware(SecurityHeaders)
    return app


class SecurityHeaders:
    """Pure ASGI middleware: a strict Content-Security-Policy and friends on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the response's start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _HEADERS + (_NO_STORE if scope["path"].startswith("/api/") else [])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


def _on_refused(request: Request, exc: Refused) -> Response:
    if _is_api(request):
        return refused(exc.status, exc.message)
    if exc.status == 401:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return error_page(request, exc.status, exc.message)


def _on_error(request: Request, exc: DatawheelError) -> Response:
    status = exc.status if isinstance(exc, LabellingError) else 404 if isinstance(exc, RefError) else 400
    if _is_api(request):
        return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=status)
    return error_page(request, status, str(exc))


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """A page that says what went wrong."""
    env: Environment = request.app.state.templates
    html = env.get_template("error.html").render(status=status, message=message, user=None, csrf="")
    return HTMLResponse(html, status_code=status)
