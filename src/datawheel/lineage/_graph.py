"""Recording and walking the lineage graph: artifact → execution → artifact."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, TextClause, select, text, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from datawheel.errors import LineageError
from datawheel.lineage._db import transaction
from datawheel.lineage._models import Artifact, Association, Attribution, Context, Event, Execution
from datawheel.lineage._types import (
    ArtifactInfo,
    Direction,
    Edge,
    EventType,
    ExecutionInfo,
    Graph,
    Node,
)

_WALK_ALL = """
WITH RECURSIVE walk(artifact_id) AS (
    SELECT CAST(:start AS INTEGER)
    UNION
    SELECT nxt.artifact_id
    FROM walk
    JOIN events AS here ON here.artifact_id = walk.artifact_id AND here.type = :here
    JOIN events AS nxt ON nxt.execution_id = here.execution_id AND nxt.type = :next
)
SELECT a.id, 0, a.kind, a.name, a.uri, a.digest, a.properties
FROM walk JOIN artifacts AS a ON a.id = walk.artifact_id
"""

_WALK_DEPTH = """
WITH RECURSIVE walk(artifact_id, depth) AS (
    SELECT CAST(:start AS INTEGER), CAST(0 AS INTEGER)
    UNION
    SELECT nxt.artifact_id, walk.depth + 1
    FROM walk
    JOIN events AS here ON here.artifact_id = walk.artifact_id AND here.type = :here
    JOIN events AS nxt ON nxt.execution_id = here.execution_id AND nxt.type = :next
    WHERE walk.depth < :max_depth
)
SELECT a.id, r.depth, a.kind, a.name, a.uri, a.digest, a.properties
FROM (SELECT artifact_id, MIN(depth) AS depth FROM walk GROUP BY artifact_id) AS r
JOIN artifacts AS a ON a.id = r.artifact_id
"""


def now() -> datetime:
    """The current time in UTC (every timestamp datawheel stores is in UTC)."""
    return datetime.now(UTC)


def _artifact_info(row: Artifact) -> ArtifactInfo:
    return ArtifactInfo(row.id, row.kind, row.name, row.uri, row.digest, dict(row.properties))


def _execution_info(row: Execution) -> ExecutionInfo:
    return ExecutionInfo(
        id=row.id,
        step=row.step,
        status=row.status,
        parameters=dict(row.parameters),
        code_fingerprint=row.code_fingerprint,
        engine=row.engine,
        user=row.user,
        started_at=row.started_at,
        ended_at=row.ended_at,
        cache_key=row.cache_key,
        error=row.error,
    )


class LineageGraph:
    """The lineage graph of one workspace, stored in its metadata database.

    Every method runs in its own short transaction, so a recording made by one process is
    visible to every other at once.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # -- recording -------------------------------------------------------------------------

    def add_artifact(
        self,
        kind: str,
        name: str,
        *,
        digest: str = "",
        uri: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> ArtifactInfo:
        """Record an artifact, or return the one with the same kind, name and digest."""
        for _ in range(3):
            try:
                with transaction(self._sessions, write=True) as session:
                    return _artifact_info(
                        get_or_add_artifact(
                            session, kind, name, digest=digest, uri=uri, properties=properties
                        )
                    )
            except IntegrityError:  # a concurrent writer added it first: read theirs
                continue
        raise LineageError(f"cannot record artifact {kind} '{name}'", hint="retry the command")

    def start_execution(
        self,
        step: str,
        *,
        parameters: dict[str, Any] | None = None,
        code_fingerprint: str = "",
        engine: str = "local",
        user: str = "",
        cache_key: str | None = None,
        contexts: Iterable[int] = (),
    ) -> ExecutionInfo:
        """Record that a step has started; finish it with :meth:`finish_execution`."""
        with transaction(self._sessions, write=True) as session:
            row = Execution(
                step=step,
                parameters=parameters or {},
                code_fingerprint=code_fingerprint,
                engine=engine,
                user=user,
                cache_key=cache_key,
                status="running",
                started_at=now(),
            )
            session.add(row)
            session.flush()
            for context_id in contexts:
                session.add(Association(context_id=context_id, execution_id=row.id))
            return _execution_info(row)

    def record_event(self, execution_id: int, artifact_id: int, type: EventType, *, role: str = "") -> None:
        """Record that an execution read (``input``) or wrote (``output``) an artifact."""
        with transaction(self._sessions, write=True) as session:
            add_event(session, execution_id, artifact_id, type, role=role)

    def finish_execution(
        self, execution_id: int, *, status: str = "completed", error: str | None = None
    ) -> ExecutionInfo:
        """Record how an execution ended (``completed`` or ``failed``)."""
        with transaction(self._sessions, write=True) as session:
            row = session.get(Execution, execution_id)
            if row is None:
                raise LineageError(f"no execution #{execution_id}", hint="list them with `datawheel lineage`")
            row.status, row.error, row.ended_at = status, error, now()
            return _execution_info(row)

    def add_context(self, kind: str, name: str, *, properties: dict[str, Any] | None = None) -> int:
        """Record a context (a pipeline, a run, a labelling project) or return the existing one."""
        for _ in range(3):
            try:
                with transaction(self._sessions, write=True) as session:
                    found = session.scalar(select(Context).where(Context.kind == kind, Context.name == name))
                    if found is not None:
                        return found.id
                    row = Context(kind=kind, name=name, properties=properties or {}, created_at=now())
                    session.add(row)
                    session.flush()
                    return row.id
            except IntegrityError:
                continue
        raise LineageError(f"cannot record context {kind} '{name}'", hint="retry the command")

    def attribute(self, context_id: int, artifact_id: int) -> None:
        """Place an artifact in a context."""
        with transaction(self._sessions, write=True) as session:
            if session.get(Attribution, (context_id, artifact_id)) is None:
                session.add(Attribution(context_id=context_id, artifact_id=artifact_id))

    def associate(self, context_id: int, execution_id: int) -> None:
        """Place an execution in a context (e.g. a cached step in the run that reused it)."""
        with transaction(self._sessions, write=True) as session:
            if session.get(Association, (context_id, execution_id)) is None:
                session.add(Association(context_id=context_id, execution_id=execution_id))

    # -- reading ---------------------------------------------------------------------------

    def artifact(self, artifact_id: int) -> ArtifactInfo:
        """The artifact with this id."""
        with transaction(self._sessions, write=False) as session:
            row = session.get(Artifact, artifact_id)
            if row is None:
                raise LineageError(f"no artifact #{artifact_id}", hint="check the id")
            return _artifact_info(row)

    def find_artifacts(self, kind: str, name: str) -> list[ArtifactInfo]:
        """Every artifact of this kind and name (a file read at several contents has several)."""
        with transaction(self._sessions, write=False) as session:
            rows = session.scalars(
                select(Artifact).where(Artifact.kind == kind, Artifact.name == name).order_by(Artifact.id)
            )
            return [_artifact_info(r) for r in rows]

    def execution(self, execution_id: int) -> ExecutionInfo:
        """The execution with this id."""
        with transaction(self._sessions, write=False) as session:
            row = session.get(Execution, execution_id)
            if row is None:
                raise LineageError(f"no execution #{execution_id}", hint="check the id")
            return _execution_info(row)

    def executions(self, *, context_id: int | None = None) -> list[ExecutionInfo]:
        """Executions, oldest first, optionally those of one context."""
        with transaction(self._sessions, write=False) as session:
            query = select(Execution).order_by(Execution.id)
            if context_id is not None:
                query = query.join(Association).where(Association.context_id == context_id)
            return [_execution_info(r) for r in session.scalars(query)]

    def cached(self, cache_key: str) -> ExecutionInfo | None:
        """The latest completed execution with this cache key (same step, code, parameters, inputs)."""
        with transaction(self._sessions, write=False) as session:
            row = session.scalar(
                select(Execution)
                .where(Execution.cache_key == cache_key, Execution.status == "completed")
                .order_by(Execution.id.desc())
                .limit(1)
            )
            return _execution_info(row) if row is not None else None

    def last_run(
        self, step: str, *, context_id: int | None = None, status: str | None = "completed"
    ) -> ExecutionInfo | None:
        """The latest execution of ``step`` (in a context, with a status, when given)."""
        with transaction(self._sessions, write=False) as session:
            query = select(Execution).where(Execution.step == step)
            if status is not None:
                query = query.where(Execution.status == status)
            if context_id is not None:
                query = query.join(Association).where(Association.context_id == context_id)
            row = session.scalar(query.order_by(Execution.id.desc()).limit(1))
            return _execution_info(row) if row is not None else None

    def upstream(self, artifact_id: int, *, depth: int | None = None) -> Graph:
        """Everything an artifact came from, to ``depth`` steps (all of it by default)."""
        return self._walk(artifact_id, "upstream", depth)

    def downstream(self, artifact_id: int, *, depth: int | None = None) -> Graph:
        """Everything an artifact fed, to ``depth`` steps (all of it by default)."""
        return self._walk(artifact_id, "downstream", depth)

    def impact(self, artifact_id: int) -> list[ArtifactInfo]:
        """Every artifact downstream of this one, nearest first."""
        return [
            ArtifactInfo(
                int(n.id[1:]), n.kind, n.name, n.uri, n.properties.get("digest", ""), _own(n.properties)
            )
            for n in self.downstream(artifact_id).artifacts()
        ]

    def _walk(self, artifact_id: int, direction: Direction, depth: int | None) -> Graph:
        # Plain row tuples, not ORM objects, and id lists rendered as integer literals rather than
        # hundreds of bound parameters: a walk can reach thousands of nodes.
        here, _ = _ends(direction)
        with transaction(self._sessions, write=False) as session:
            found = _reach(session, artifact_id, direction, depth)  # the walk and its artifacts at once
            if not found:
                raise LineageError(f"no artifact #{artifact_id}", hint="check the id")
            reached = {row[0]: row[1] for row in found}
            conn = session.connection()  # Core execution: no ORM loading machinery per row
            frontier = {a for a, d in reached.items() if depth is None or d < depth}
            touching = conn.execute(
                select(Event.execution_id, Event.artifact_id, Event.type, Event.role, Event.id)
                .where(_among("events.artifact_id", reached))
                .order_by(Event.id)
            ).all()
            # Rows unpacked as tuples: attribute access by name costs more than the query here.
            steps = {run for run, art, kind, _, _ in touching if kind == here and art in frontier}
            events = [(run, art, kind, role) for run, art, kind, role, _ in touching if run in steps]
            executions = conn.execute(
                select(
                    Execution.id,
                    Execution.step,
                    Execution.status,
                    type_coerce(Execution.parameters, Text),
                    Execution.engine,
                    Execution.user,
                    Execution.started_at,
                ).where(_among("executions.id", steps))
            ).all()
        edges = [
            Edge(f"a{art}", f"e{run}", "input", role)
            if kind == "input"
            else Edge(f"e{run}", f"a{art}", "output", role)
            for run, art, kind, role in events
        ]
        distance = _distances(f"a{artifact_id}", edges, direction)
        nodes = [
            _artifact_node(a, kind, name, uri, digest, props)
            for a, _, kind, name, uri, digest, props in found
        ]
        nodes += [_execution_node(*r) for r in executions]
        nodes.sort(key=lambda n: (distance.get(n.id, len(distance)), n.kind == "execution", int(n.id[1:])))
        return Graph(root=f"a{artifact_id}", direction=direction, nodes=tuple(nodes), edges=tuple(edges))


def _own(properties: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in properties.items() if k != "digest"}


def _among(column: str, ids: Iterable[int]) -> TextClause:
    """``column IN (1, 2, …)`` with the ids as literals (each forced through ``int``)."""
    listed = ",".join(str(int(i)) for i in ids)
    return text(f"{column} IN ({listed})" if listed else "1 = 0")


def _distances(root: str, edges: list[Edge], direction: Direction) -> dict[str, int]:
    """Steps from the root to every node, walking the edges in the walk's direction."""
    forward: dict[str, list[str]] = {}
    for edge in edges:
        start, end = (edge.target, edge.source) if direction == "upstream" else (edge.source, edge.target)
        forward.setdefault(start, []).append(end)
    distance, queue = {root: 0}, deque([root])
    while queue:
        node = queue.popleft()
        for nxt in forward.get(node, ()):
            if nxt not in distance:
                distance[nxt] = distance[node] + 1
                queue.append(nxt)
    return distance


def _ends(direction: Direction) -> tuple[EventType, EventType]:
    return ("output", "input") if direction == "upstream" else ("input", "output")


def _reach(session: Session, start: int, direction: Direction, depth: int | None) -> list[Any]:
    """Rows (id, depth, kind, name, uri, digest, properties) of every artifact the walk reaches."""
    here, nxt = _ends(direction)
    params: dict[str, Any] = {"start": start, "here": here, "next": nxt}
    if depth is None:
        return list(session.execute(text(_WALK_ALL), params))
    return list(session.execute(text(_WALK_DEPTH), {**params, "max_depth": depth}))


def _json_object(text: str | dict[str, Any] | None) -> dict[str, Any]:
    """A JSON object read as text (or already decoded by the driver); empty ones need no parsing."""
    if isinstance(text, dict):
        return text
    if not text or text == "{}":
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def _artifact_node(
    id: int, kind: str, name: str, uri: str | None, digest: str, properties: str | None
) -> Node:
    props = _json_object(properties)
    if digest:
        props.setdefault("digest", digest)
    return Node(f"a{id}", kind, name, uri, props)


def _execution_node(
    id: int,
    step: str,
    status: str,
    parameters: str | dict[str, Any] | None,
    engine: str,
    user: str,
    started_at: datetime,
) -> Node:
    props = {
        "execution": id,
        "status": status,
        "parameters": _json_object(parameters),
        "engine": engine,
        "user": user,
        "started_at": started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC),
    }
    return Node(f"e{id}", "execution", step, None, props)


def get_or_add_artifact(
    session: Session,
    kind: str,
    name: str,
    *,
    digest: str = "",
    uri: str | None = None,
    properties: dict[str, Any] | None = None,
) -> Artifact:
    """The artifact with this kind, name and digest, added in ``session`` if it is new."""
    found = session.scalar(
        select(Artifact).where(Artifact.kind == kind, Artifact.name == name, Artifact.digest == digest)
    )
    if found is not None:
        return found
    row = Artifact(
        kind=kind, name=name, digest=digest, uri=uri, properties=properties or {}, created_at=now()
    )
    session.add(row)
    session.flush()
    return row


def add_event(
    session: Session, execution_id: int, artifact_id: int, type: EventType, *, role: str = ""
) -> None:
    """Add an event in ``session``."""
    if type not in ("input", "output"):
        raise LineageError(f"event type {type!r} is neither 'input' nor 'output'", hint="use one of those")
    session.add(
        Event(
            execution_id=execution_id,
            artifact_id=artifact_id,
            type=type,
            role=role,
            created_at=now(),
        )
    )
