"""Accounts and sign-in sessions of the labelling service.

Passwords are hashed with argon2 (``argon2-cffi``); a session is a random token the browser
keeps in a cookie, stored here only as its SHA-256, with a CSRF token of its own.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from datawheel.errors import LabellingError
from datawheel.lineage import now, session_factory
from datawheel.lineage._db import connection, transaction
from datawheel.lineage._labelling_models import LabelSession, LabelUser
from datawheel.workspace import Workspace

Role = Literal["annotator", "reviewer", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
ADMIN_NAME = "admin"
SESSION_HOURS = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HASHER = PasswordHasher()
_SESSIONS: weakref.WeakKeyDictionary[Workspace, sessionmaker[Session]] = weakref.WeakKeyDictionary()


def sessions_of(workspace: Workspace) -> sessionmaker[Session]:
    """The session factory of a workspace's metadata database (one per workspace)."""
    found = _SESSIONS.get(workspace)
    if found is None:
        found = _SESSIONS[workspace] = session_factory(workspace.engine)
    return found


@dataclass(frozen=True)
class UserInfo:
    """An account of the labelling service."""

    id: int
    name: str
    role: Role
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of an account."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
        }

    def at_least(self, role: Role) -> bool:
        """Whether this account's role is ``role`` or above (annotator < reviewer < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class NewUser:
    """An account just made; ``password`` is set only when datawheel generated it (shown once)."""

    user: UserInfo
    password: str | None

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of ``datawheel users add``."""
        return {**self.user.to_dict(), "password": self.password}


@dataclass(frozen=True)
class SignedIn:
    """A live session: who it is, and the CSRF token its state-changing requests must carry."""

    user: UserInfo
    csrf_token: str
    expires_at: datetime


def _info(row: LabelUser) -> UserInfo:
    role: Role = row.role  # type: ignore[assignment]  # only ROLES are ever written
    return UserInfo(row.id, row.name, role, row.created_at)


def check_role(role: str) -> Role:
    """``role`` if it is one of ``annotator``, ``reviewer``, ``admin``; else a LabellingError."""
    if role not in ROLES:
        raise LabellingError(f"'{role}' is not a role", hint=f"use one of: {', '.join(ROLES)}")
    return role


def add_user(workspace: Workspace, name: str, *, role: str, password: str | None = None) -> NewUser:
    """Make an account; without ``password`` one is generated and returned once.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> with Workspace.init(Path(tempfile.mkdtemp())) as ws:
        ...     made = add_user(ws, "ann", role="annotator")
        ...     (made.user.name, made.user.role, len(made.password or "") >= 16)
        ('ann', 'annotator', True)
    """
    if not _NAME.match(name):
        raise LabellingError(
            f"'{name}' is not a valid account name",
            hint="use 1-64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit",
        )
    checked = check_role(role)
    if password is not None and len(password) < 8:
        raise LabellingError(f"the password of '{name}' is too short", hint="use at least 8 characters")
    generated = None if password is not None else secrets.token_urlsafe(12)
    hashed = _HASHER.hash(password if password is not None else str(generated))
    with transaction(sessions_of(workspace), write=True) as session:
        if session.scalar(select(LabelUser.id).where(LabelUser.name == name)) is not None:
            raise LabellingError(
                f"there is already an account '{name}'", hint="choose another name", status=409
            )
        row = LabelUser(name=name, role=checked, password_hash=hashed, active=True, created_at=now())
        session.add(row)
        session.flush()
        return NewUser(_info(row), generated)


def list_users(workspace: Workspace) -> list[UserInfo]:
    """Every account, by name."""
    with transaction(sessions_of(workspace), write=False) as session:
        return [_info(r) for r in session.scalars(select(LabelUser).order_by(LabelUser.name))]


def find_user(workspace: Workspace, name: str) -> UserInfo:
    """The account named ``name``."""
    with transaction(sessions_of(workspace), write=False) as session:
        row = session.scalar(select(LabelUser).where(LabelUser.name == name))
        if row is None:
            raise LabellingError(
                f"no account '{name}'", hint="add it with `datawheel users add NAME --role R`", status=404
            )
        return _info(row)


def ensure_admin(workspace: Workspace) -> NewUser | None:
    """Make the first admin account (``admin``, a one-time password) unless an admin exists."""
    with transaction(sessions_of(workspace), write=False) as session:
        admins = session.scalar(select(func.count()).select_from(LabelUser).where(LabelUser.role == "admin"))
    if admins:
        return None
    return add_user(workspace, ADMIN_NAME, role="admin")


def verify_password(workspace: Workspace, name: str, password: str) -> UserInfo | None:
    """The account if ``password`` is its password, else None (taking as long either way)."""
    with transaction(sessions_of(workspace), write=False) as session:
        row = session.scalar(select(LabelUser).where(LabelUser.name == name, LabelUser.active.is_(True)))
        hashed = row.password_hash if row is not None else _dummy_hash()
        try:
            _HASHER.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return None
        return _info(row) if row is not None else None


@functools.cache
def _dummy_hash() -> str:
    # Checked against when the account does not exist, so a wrong name takes as long as a wrong password.
    return _HASHER.hash("not a password of anyone")


def token_digest(token: str) -> str:
    """What the database keeps of a session's cookie token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(workspace: Workspace, user: UserInfo, *, hours: int = SESSION_HOURS) -> tuple[str, SignedIn]:
    """Start a session for ``user``: the cookie token (kept only by the client) and the session."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    started = now()
    expires = started + timedelta(hours=hours)
    with transaction(sessions_of(workspace), write=True) as session:
        session.execute(delete(LabelSession).where(LabelSession.expires_at < started))
        session.add(
            LabelSession(
                token_hash=token_digest(token),
                user_id=user.id,
                csrf_token=csrf,
                created_at=started,
                expires_at=expires,
            )
        )
    return token, SignedIn(user, csrf, expires)


_SESSION = LabelSession.__table__.c
_USER = LabelUser.__table__.c
LIVE_SESSION = (
    select(_SESSION.csrf_token, _SESSION.expires_at, _USER.id, _USER.name, _USER.role, _USER.created_at)
    .join_from(LabelSession.__table__, LabelUser.__table__, _USER.id == _SESSION.user_id)
    .where(_SESSION.token_hash == bindparam("token_hash"), _USER.active.is_(True))
)


def session_user(workspace: Workspace, token: str) -> SignedIn | None:
    """The live session whose cookie token is ``token``, or None (one query, asked on every request)."""
    with connection(workspace.engine, write=False) as conn:
        found = conn.execute(LIVE_SESSION, {"token_hash": token_digest(token)}).first()
    return live_session(found)


def live_session(found: Any) -> SignedIn | None:
    """The session read as (csrf_token, expires_at, id, name, role, created_at), if not expired."""
    if found is None or found.expires_at <= now():
        return None
    user = UserInfo(found.id, found.name, found.role, found.created_at)
    return SignedIn(user, found.csrf_token, found.expires_at)


def close_session(workspace: Workspace, token: str) -> None:
    """End the session whose cookie token is ``token``."""
    with transaction(sessions_of(workspace), write=True) as session:
        session.execute(delete(LabelSession).where(LabelSession.token_hash == token_digest(token)))
