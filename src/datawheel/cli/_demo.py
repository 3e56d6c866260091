"""The demo command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datawheel.cli._app import app
from datawheel.cli._datasets import print_diff
from datawheel.cli._output import console, print_json, versions_table
from datawheel.demo import Stage, run_demo
from datawheel.lineage import to_text


def _say(stage: Stage) -> None:
    for line in stage.lines:
        console.print(line, markup=False)


@app.command()
def demo(
    directory: Annotated[
        Path | None, typer.Argument(help="New or empty folder (default: a temporary one).")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """Turn the flywheel once on SMS data: ingest, clean, check, label, split, train, release, monitor."""
    if not json:
        console.rule("datawheel demo: the flywheel, once, on the SMS Spam Collection")
    result = run_demo(directory, say=None if json else _say)
    if json:
        print_json(
            {
                "workspace": str(result.root),
                "sources": [s.to_dict() for s in result.sources],
                "ingests": [result.first.to_dict(), result.second.to_dict()],
                "round": result.round.to_dict(),
                "quarantine": list(result.quarantine),
                "versions": [v.to_dict() for v in result.versions],
                "diff": result.diff.to_dict(),
                "lineage": result.lineage.to_dict(),
                "stages": [s.to_dict() for s in result.stages],
                "reports": {k: str(v) for k, v in result.reports.items()},
            }
        )
        return
    console.print()
    console.print(versions_table(result.versions, title="datawheel versions sms (the first three)"))
    console.print(f"\n[bold]datawheel diff {result.diff.a} {result.diff.b}[/bold]")
    print_diff(result.diff)
    console.print(f"\n[bold]datawheel lineage {result.cleaned.ref} --upstream[/bold]")
    console.print(to_text(result.lineage), markup=False)
    console.print("\n[bold]Reports[/bold] (self-contained HTML, open in a browser)")
    for name, path in result.reports.items():
        console.print(f"  {name:<15} {path}", markup=False)
    console.print("\n[bold]Explore[/bold]")
    for command in (
        f"cd {result.root}",
        "datawheel datasets",
        "datawheel lineage sms.split@1 --upstream      # from the split back to the files and lines",
        "datawheel verify releases/v1 && datawheel reproduce v1",
        "datawheel serve                               # label the drifted batch: project sms-round-2",
    ):
        console.print(f"  {command}", markup=False)
