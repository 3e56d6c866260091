"""The annotating loop's statements for a database's own driver, without SQLAlchemy at run time.

The service's own paths (``_labelling_sqlite``, ``_labelling_pg``) run the Core statements of
``_labelling_tasks`` and ``_labelling_users``, compiled once here for their driver, and, on
PostgreSQL, two statements of its own written on the tables named here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Dialect, Table
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

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


@dataclass(frozen=True)
class Compiled:
    """A SQLAlchemy statement compiled once for one driver: its SQL and positional parameters."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]

    def args(self, **values: Any) -> list[Any]:
        """The parameters in order: ``values`` by name, the statement's own constants besides."""
        given = {**self.defaults, **values}
        return [given[name] for name in self.names]


def compiled(statement: ClauseElement, dialect: Dialect, *, column_keys: Sequence[str] = ()) -> Compiled:
    """``statement`` as ``dialect``'s SQL, for a driver called without SQLAlchemy.

    ``column_keys`` name the columns an ``INSERT`` without values will be given. Values pass
    through no type processing: the caller converts what its driver does not.

    Example:
        >>> from sqlalchemy import column, select, table
        >>> from sqlalchemy.dialects import sqlite
        >>> found = compiled(select(column("a")).select_from(table("t")).limit(1), sqlite.dialect())
        >>> found.sql.split(), found.args()
        (['SELECT', 'a', 'FROM', 't', 'LIMIT', '?', 'OFFSET', '?'], [1, 0])
    """
    done = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=list(column_keys) or None))
    return Compiled(str(done), tuple(done.positiontup or ()), dict(done.params))
