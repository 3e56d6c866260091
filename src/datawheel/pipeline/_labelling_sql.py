"""The annotating loop's statements that the SQLite and PostgreSQL paths share, written out.

Each database's own path (``_labelling_sqlite``, ``_labelling_pg``) runs hand-written SQL on
the labelling tables; the names come from the models, and the statements that read the same
on both databases are made here, given each driver's parameter marker.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from datawheel.lineage._labelling_models import (
    LabelAnnotation,
    LabelAssignment,
    LabelItem,
    LabelMember,
    LabelProject,
    LabelSession,
    LabelUser,
)

PROJECTS, MEMBERS, ITEMS, ASSIGNMENTS, ANNOTATIONS, SESSIONS, USERS = (
    cast(Table, model.__table__).name
    for model in (
        LabelProject,
        LabelMember,
        LabelItem,
        LabelAssignment,
        LabelAnnotation,
        LabelSession,
        LabelUser,
    )
)


def task_query(assignment: str) -> str:
    """What checking an answer to task ``assignment`` (a parameter marker) needs.

    Example:
        >>> "WHERE a.id = ?" in task_query("?")
        True
    """
    return f"""
SELECT a.user_id, a.status, a.assigned_at, a.item_id, a.project_id, i.payload, i.suggestion,
       i.round, p.task_type, p.labels, p.guideline_version
FROM {ASSIGNMENTS} a
JOIN {ITEMS} i ON i.id = a.item_id
JOIN {PROJECTS} p ON p.id = a.project_id
WHERE a.id = {assignment}
"""


def session_query(token_hash: str) -> str:
    """The live account and CSRF token of the session whose token hashes to ``token_hash``."""
    return f"""
SELECT s.csrf_token, s.expires_at, u.id, u.name, u.role, u.created_at
FROM {SESSIONS} s JOIN {USERS} u ON u.id = s.user_id
WHERE s.token_hash = {token_hash} AND u.active = TRUE
"""
