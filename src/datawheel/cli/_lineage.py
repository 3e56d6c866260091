"""The lineage command: where a version came from, and what it fed."""

from __future__ import annotations

from typing import Annotated

import typer

from datawheel.cli._app import app, workspace
from datawheel.lineage import GraphFormat, render_graph


@app.command()
def lineage(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@N or NAME@TAG.")],
    upstream: Annotated[
        bool, typer.Option("--upstream", help="Where the version came from (the default).")
    ] = False,
    downstream: Annotated[bool, typer.Option("--downstream", help="What the version fed.")] = False,
    depth: Annotated[int | None, typer.Option(min=0, help="How many steps to walk (default: all).")] = None,
    format: Annotated[GraphFormat, typer.Option("--format", help="text, json, dot or mermaid.")] = "text",
    json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Walk the lineage graph from a version: upstream (sources) or downstream (impact)."""
    if upstream and downstream:
        raise typer.BadParameter("give --upstream or --downstream, not both")
    with workspace() as ws:
        artifact = ws.artifact(ref)
        walk = ws.lineage.downstream if downstream else ws.lineage.upstream
        graph = walk(artifact.id, depth=depth)
    print(render_graph(graph, "json" if json else format))
