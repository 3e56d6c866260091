"""The metadata database: the dataset catalog and the lineage graph, with their queries."""

from datawheel.lineage._catalog import DATASET_VERSION, Catalog
from datawheel.lineage._db import connect, head_revision, migrate, session_factory
from datawheel.lineage._graph import LineageGraph, now
from datawheel.lineage._openlineage import OpenLineageEmitter
from datawheel.lineage._render import GraphFormat, render_graph, to_dot, to_mermaid, to_text
from datawheel.lineage._sources import (
    QUALITY_WEIGHTS,
    ROUND_CONTEXT,
    SOURCE_ARTIFACT,
    Quality,
    RoundExecution,
    RoundInfo,
    RoundStatus,
    RoundVersion,
    SourceCatalog,
    SourceInfo,
    value_score,
)
from datawheel.lineage._types import (
    ArtifactInfo,
    DatasetInfo,
    Direction,
    Edge,
    EventType,
    ExecutionInfo,
    Graph,
    Node,
    VersionInfo,
)

__all__ = [
    "DATASET_VERSION",
    "QUALITY_WEIGHTS",
    "ROUND_CONTEXT",
    "SOURCE_ARTIFACT",
    "ArtifactInfo",
    "Catalog",
    "DatasetInfo",
    "Direction",
    "Edge",
    "EventType",
    "ExecutionInfo",
    "Graph",
    "GraphFormat",
    "LineageGraph",
    "Node",
    "OpenLineageEmitter",
    "Quality",
    "RoundExecution",
    "RoundInfo",
    "RoundStatus",
    "RoundVersion",
    "SourceCatalog",
    "SourceInfo",
    "VersionInfo",
    "connect",
    "head_revision",
    "migrate",
    "now",
    "render_graph",
    "session_factory",
    "to_dot",
    "to_mermaid",
    "to_text",
    "value_score",
]
