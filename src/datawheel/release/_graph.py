"""The lineage of a release drawn as a page: an SVG graph in layers, data flowing left to right."""

from __future__ import annotations

import html
from collections.abc import Sequence

_W, _H, _GAP_X, _GAP_Y = 190, 34, 70, 18


def lineage_html(
    nodes: Sequence[tuple[str, str, str]], edges: Sequence[tuple[str, str]], *, title: str
) -> str:
    """A self-contained page with the graph of ``nodes`` (id, kind, name) and ``edges`` (from, to).

    Each node sits in the column of its longest path from a node with no inputs, so every
    edge points right. Executions are grey boxes, artifacts coloured by kind.

    Example:
        >>> nodes = [("a1", "file", "sms.tsv"), ("e1", "execution", "ingest")]
        >>> page = lineage_html(nodes, [("a1", "e1")], title="t")
        >>> page.count("<rect"), "sms.tsv" in page
        (2, True)
    """
    depth = _depths([n[0] for n in nodes], edges)
    columns: dict[int, list[tuple[str, str, str]]] = {}
    for node in nodes:
        columns.setdefault(depth[node[0]], []).append(node)
    where: dict[str, tuple[int, int]] = {}
    for col, members in columns.items():
        for row, node in enumerate(sorted(members, key=lambda n: (n[1] == "execution", n[2]))):
            where[node[0]] = (20 + col * (_W + _GAP_X), 20 + row * (_H + _GAP_Y))
    width = 40 + (max(columns, default=0) + 1) * (_W + _GAP_X)
    height = 40 + max((len(m) for m in columns.values()), default=1) * (_H + _GAP_Y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="lineage graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0L10,5L0,10z" fill="#777"/></marker></defs>',
    ]
    for source, target in edges:
        if source in where and target in where:
            (x1, y1), (x2, y2) = where[source], where[target]
            x1, y1, y2 = x1 + _W, y1 + _H // 2, y2 + _H // 2
            mid = (x1 + x2) // 2
            parts.append(
                f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" stroke="#999" '
                'stroke-width="1.4" marker-end="url(#arrow)"/>'
            )
    for node_id, kind, name in nodes:
        x, y = where[node_id]
        fill = "#e8e8e8" if kind == "execution" else _COLOURS.get(kind, "#dbeafe")
        label = name if len(name) <= 26 else name[:25] + "…"
        parts.append(
            f"<g><title>{html.escape(kind)}: {html.escape(name)}</title>"
            f'<rect x="{x}" y="{y}" width="{_W}" height="{_H}" rx="{2 if kind == "execution" else 9}" '
            f'fill="{fill}" stroke="#667"/>'
            f'<text x="{x + 8}" y="{y + 14}" font-size="10" fill="#556">{html.escape(kind)}</text>'
            f'<text x="{x + 8}" y="{y + 28}" font-size="12" fill="#111">{html.escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font:14px system-ui,sans-serif;margin:20px}svg text{font-family:system-ui,sans-serif}"
        "</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{len(nodes)} nodes, {len(edges)} edges; data flows left to right. "
        "Grey boxes are steps (executions), coloured boxes what they read and wrote.</p>"
        + "".join(parts)
        + "</body></html>\n"
    )


_COLOURS = {
    "dataset_version": "#dbeafe",
    "file": "#dcfce7",
    "source": "#fef3c7",
    "model": "#fae8ff",
    "release": "#fee2e2",
}


def _depths(ids: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    incoming: dict[str, list[str]] = {i: [] for i in ids}
    for source, target in edges:
        if source in incoming and target in incoming:
            incoming[target].append(source)
    depth: dict[str, int] = {}

    def of(node: str, seen: frozenset[str]) -> int:
        if node not in depth:
            parents = [p for p in incoming[node] if p not in seen]
            depth[node] = 1 + max((of(p, seen | {node}) for p in parents), default=-1)
        return depth[node]

    for node in ids:
        of(node, frozenset())
    return depth
