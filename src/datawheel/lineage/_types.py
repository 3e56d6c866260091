"""Plain, frozen records that the metadata queries return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

EventType = Literal["input", "output"]
Direction = Literal["upstream", "downstream"]


@dataclass(frozen=True)
class ArtifactInfo:
    """An artifact of the lineage graph."""

    id: int
    kind: str
    name: str
    uri: str | None = None
    digest: str = ""
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutionInfo:
    """One run of one step."""

    id: int
    step: str
    status: str
    parameters: dict[str, Any]
    code_fingerprint: str
    engine: str
    user: str
    started_at: datetime
    ended_at: datetime | None
    cache_key: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset and its latest version."""

    name: str
    key: tuple[str, ...]
    versions: int
    latest: int | None
    rows: int | None
    created_at: datetime


@dataclass(frozen=True)
class VersionInfo:
    """One version of a dataset."""

    dataset: str
    version: int
    delta_version: int
    rows: int
    columns: dict[str, str]
    created_at: datetime
    author: str
    message: str
    execution_id: int | None
    artifact_id: int
    key: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """The exact ref of this version, e.g. ``sms@2``."""
        return f"{self.dataset}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of a version."""
        return {
            "dataset": self.dataset,
            "version": self.version,
            "ref": self.ref,
            "rows": self.rows,
            "columns": self.columns,
            "created_at": self.created_at.isoformat(),
            "author": self.author,
            "message": self.message,
            "execution": self.execution_id,
            "tags": list(self.tags),
        }


class Node(NamedTuple):
    """A node of a lineage graph: an artifact or an execution.

    Nodes and edges are named tuples rather than frozen dataclasses: a walk can return
    thousands, and a tuple is several times cheaper to build.
    """

    id: str
    kind: str
    name: str
    uri: str | None = None
    properties: dict[str, Any] = {}  # noqa: RUF012  (never mutated: each node gets its own dict)


class Edge(NamedTuple):
    """A directed edge of a lineage graph, always in the direction data flowed."""

    source: str
    target: str
    type: EventType
    role: str = ""


@dataclass(frozen=True)
class Graph:
    """A piece of the lineage graph around one artifact, as an upstream or downstream walk."""

    root: str
    direction: Direction
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def artifacts(self) -> tuple[Node, ...]:
        """The artifact nodes other than the root, nearest first."""
        return tuple(n for n in self.nodes if n.kind != "execution" and n.id != self.root)

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--format json`` shape: ``nodes`` and ``edges``."""
        return {
            "root": self.root,
            "direction": self.direction,
            "nodes": [
                {
                    "id": n.id,
                    "kind": n.kind,
                    "name": n.name,
                    "uri": n.uri,
                    "properties": n.properties,
                }
                for n in self.nodes
            ],
            "edges": [{"from": e.source, "to": e.target, "type": e.type, "role": e.role} for e in self.edges],
        }
