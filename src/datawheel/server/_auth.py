"""Who is asking: session cookies, CSRF tokens, roles, and a rate limit on signing in."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Awaitable, Callable

from fastapi import Request

from datawheel.lineage import now
from datawheel.pipeline._labelling import project_access
from datawheel.pipeline._labelling_users import Role, SignedIn, UserInfo, close_session, session_user
from datawheel.server._work import annotating
from datawheel.workspace import Workspace

SESSION_COOKIE = "datawheel_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Refused(Exception):
    """A request the service refuses: not signed in (401), wrong role or CSRF (403), unknown (404)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LoginLimiter:
    """At most ``attempts`` failed sign-ins per account name and per client address per ``window`` s."""

    def __init__(self, *, attempts: int = 5, window: float = 60.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, at: float) -> deque[float]:
        times = self._failures[key]
        while times and times[0] <= at - self.window:
            times.popleft()
        return times

    def blocked(self, *keys: str) -> float:
        """Seconds to wait before another attempt for any of ``keys`` (0: go ahead)."""
        at = time.monotonic()
        with self._lock:
            waits = [
                times[0] + self.window - at
                for key in keys
                if len(times := self._recent(key, at)) >= self.attempts
            ]
        return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        """Count a failed attempt against each of ``keys``."""
        at = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, at).append(at)

    def succeeded(self, name_key: str) -> None:
        """Forget the failures of an account once its owner signed in."""
        with self._lock:
            self._failures.pop(name_key, None)


def workspace_of(request: Request) -> Workspace:
    """The workspace the app serves."""
    found: Workspace = request.app.state.workspace
    return found


class SessionCache:
    """Sessions read lately, so that an annotator's every request need not ask the database again.

    An entry is trusted for ``seconds`` after it was read, never past the session's own expiry,
    and signing out removes it at once. Sessions change only by signing in and out, so the one
    thing an entry can miss is a sign-out made in another process of ``datawheel serve
    --workers N``: that process's cookie stays good here for at most ``seconds``.
    """

    def __init__(self, *, seconds: float = 2.0, size: int = 10_000) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: OrderedDict[str, tuple[SignedIn, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> SignedIn | None:
        """The session of ``token`` if it was read less than ``seconds`` ago and has not expired."""
        with self._lock:
            entry = self._entries.get(token)
        if entry is None or time.monotonic() >= entry[1] or entry[0].expires_at <= now():
            return None
        return entry[0]

    def put(self, token: str, signed: SignedIn) -> None:
        """Remember a session just read from the database."""
        with self._lock:
            self._entries[token] = (signed, time.monotonic() + self.seconds)
            self._entries.move_to_end(token)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, token: str) -> None:
        """Drop a session that ended."""
        with self._lock:
            self._entries.pop(token, None)


def _token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


async def optional_session(request: Request) -> SignedIn | None:
    """The signed-in session of the request, or None."""
    token = _token(request)
    if not token:
        return None
    cache: SessionCache = request.app.state.session_cache
    signed = cache.get(token)
    if signed is None:
        signed = await annotating(request, "session_user", session_user, token)
        if signed is not None:
            cache.put(token, signed)
    return signed


def end_session(request: Request) -> None:
    """Sign the request's session out: gone from the database and from this process's cache."""
    token = request.cookies[SESSION_COOKIE]
    close_session(workspace_of(request), token)
    cache: SessionCache = request.app.state.session_cache
    cache.forget(token)


async def _check_csrf(request: Request, signed: SignedIn) -> None:
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    if not given or not secrets.compare_digest(given, signed.csrf_token):
        raise Refused(403, "missing or wrong CSRF token: send the X-CSRF-Token header (or csrf_token field)")


async def signed_in(request: Request) -> SignedIn:
    """The request's session; refuses one without (401) and a state change without CSRF (403)."""
    signed = await optional_session(request)
    if signed is None:
        raise Refused(401, "sign in first: POST /api/login")
    if request.method not in _SAFE_METHODS:
        await _check_csrf(request, signed)
    request.state.signed = signed
    return signed


def require(role: Role) -> Callable[[Request], Awaitable[UserInfo]]:
    """A dependency: the signed-in account, refused (403) unless its role is ``role`` or above."""

    async def dependency(request: Request) -> UserInfo:
        signed = await signed_in(request)
        if not signed.user.at_least(role):
            raise Refused(403, f"this needs the {role} role; {signed.user.name} is {signed.user.role}")
        return signed.user

    return dependency


def member_of(workspace: Workspace, project: str | int, user: UserInfo) -> int:
    """The project's id; refuses (403) an account that does not work on it."""
    project_id, member = project_access(workspace, project, user)
    if not member:
        raise Refused(403, f"{user.name} does not work on project '{project}'")
    return project_id
