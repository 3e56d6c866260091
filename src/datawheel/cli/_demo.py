"""The demo command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datawheel.cli._app import app
from datawheel.cli._datasets import print_diff
from datawheel.cli._output import console, print_json, versions_table
from datawheel.demo import run_demo
from datawheel.lineage import to_text


@app.command()
def demo(
    directory: Annotated[
        Path | None, typer.Argument(help="New or empty folder (default: a temporary one).")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """Turn the flywheel once on the SMS Spam Collection: ingest, clean, diff, lineage."""
    result = run_demo(directory)
    if json:
        print_json(
            {
                "workspace": str(result.root),
                "ingest": result.ingest.to_dict(),
                "versions": [v.to_dict() for v in result.versions],
                "diff": result.diff.to_dict(),
                "lineage": result.lineage.to_dict(),
            }
        )
        return
    console.rule("datawheel demo")
    console.print(f"Workspace: {result.root}")
    console.print(
        f"1. Ingested {result.ingest.rows:,} SMS messages from {result.ingest.source} as {result.ingest.ref}"
    )
    console.print(f"2. Unescaped HTML entities into {result.cleaned.ref} (tagged demo-clean)\n")
    console.print(versions_table(result.versions, title="datawheel versions sms"))
    console.print("\n[bold]datawheel diff sms@1 sms@2[/bold]")
    print_diff(result.diff)
    console.print("\n[bold]datawheel lineage sms@2 --upstream[/bold]")
    console.print(to_text(result.lineage), markup=False)
    console.print(f"\nExplore it: cd {result.root} && datawheel datasets")
