"""The labelling service: REST API and web pages (FastAPI), over one workspace.

:func:`create_app` gives the ASGI application; :func:`serve` runs it with uvicorn.
"""

from datawheel.server._app import create_app
from datawheel.server._auth import CSRF_HEADER, SESSION_COOKIE
from datawheel.server._serve import DEFAULT_HOST, DEFAULT_PORT, serve

__all__ = ["CSRF_HEADER", "DEFAULT_HOST", "DEFAULT_PORT", "SESSION_COOKIE", "create_app", "serve"]
