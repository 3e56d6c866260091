"""Drawing a lineage graph as a text tree, Graphviz DOT, or Mermaid."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from datawheel.lineage._types import Graph, Node

GraphFormat = Literal["text", "json", "dot", "mermaid"]


def render_graph(graph: Graph, fmt: GraphFormat) -> str:
    """Render ``graph`` in one of the formats ``datawheel lineage --format`` offers."""
    if fmt == "json":
        return json.dumps(graph.to_dict(), indent=2, default=_json_value)
    if fmt == "dot":
        return to_dot(graph)
    if fmt == "mermaid":
        return to_mermaid(graph)
    return to_text(graph)


def _json_value(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _label(node: Node) -> str:
    if node.kind == "execution":
        return f"{node.name} (execution #{node.properties.get('execution')}, {node.properties.get('status')})"
    if node.kind == "dataset_version":
        return f"{node.name}"
    return f"{node.kind} {node.name}"


def to_text(graph: Graph) -> str:
    """An indented tree from the root, following the walk's direction.

    Example:
        >>> from datawheel.lineage._types import Edge
        >>> g = Graph("a2", "upstream",
        ...     (Node("a2", "dataset_version", "sms@1"), Node("a1", "file", "/d/sms.tsv"),
        ...      Node("e1", "execution", "ingest", properties={"execution": 1, "status": "completed"})),
        ...     (Edge("a1", "e1", "input"), Edge("e1", "a2", "output")))
        >>> print(to_text(g))
        sms@1
        └── ingest (execution #1, completed)
            └── file /d/sms.tsv
    """
    nodes = {n.id: n for n in graph.nodes}
    children: dict[str, list[str]] = {}
    for edge in graph.edges:
        parent, child = (
            (edge.target, edge.source) if graph.direction == "upstream" else (edge.source, edge.target)
        )
        children.setdefault(parent, []).append(child)
    lines = [_label(nodes[graph.root])]
    seen = {graph.root}

    def walk(node_id: str, prefix: str) -> None:
        kids = children.get(node_id, [])
        for i, kid in enumerate(kids):
            last = i == len(kids) - 1
            repeat = kid in seen
            lines.append(
                f"{prefix}{'└── ' if last else '├── '}{_label(nodes[kid])}{' (see above)' if repeat else ''}"
            )
            if not repeat:
                seen.add(kid)
                walk(kid, prefix + ("    " if last else "│   "))

    walk(graph.root, "")
    return "\n".join(lines)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(graph: Graph) -> str:
    """Graphviz DOT: artifacts as boxes, executions as ellipses, edges as data flowed."""
    out = ["digraph lineage {", "  rankdir=LR;"]
    for node in graph.nodes:
        shape = "ellipse" if node.kind == "execution" else "box"
        out.append(f'  {node.id} [label="{_quote(_label(node))}", shape={shape}];')
    out += [f"  {e.source} -> {e.target};" for e in graph.edges]
    out.append("}")
    return "\n".join(out)


def to_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart, left to right."""
    out = ["flowchart LR"]
    for node in graph.nodes:
        label = _label(node).replace('"', "#quot;")
        out.append(f'  {node.id}(["{label}"])' if node.kind == "execution" else f'  {node.id}["{label}"]')
    out += [f"  {e.source} --> {e.target}" for e in graph.edges]
    return "\n".join(out)
