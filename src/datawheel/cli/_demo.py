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
    """Turn the flywheel once on SMS data: plan, ingest two rounds, quarantine, clean, diff, lineage."""
    result = run_demo(directory)
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
            }
        )
        return
    console.rule("datawheel demo")
    console.print(f"Workspace: {result.root}\n")
    console.print("[bold]datawheel sources list[/bold] (ranked by value score)")
    for source in result.sources:
        console.print(
            f"  {source.name:<14} score {source.value_score:>9,.1f}  {source.expected_rows:,} rows, "
            f"cost {source.cost:g}, {source.days:g} days, {source.quality} quality",
            markup=False,
        )
    for step, report in (("1", result.first), ("2", result.second)):
        console.print(
            f"\n{step}. Ingested {report.location} from source '{report.source}' as {report.ref}: rows read "
            f"{report.rows_read:,} = committed {report.rows:,} + quarantined {report.quarantined:,}",
            markup=False,
        )
    for row in result.quarantine:
        console.print(f"   quarantined line {row['line']}: {row['reason']} — {row['raw']!r}", markup=False)
    console.print(
        f"\nRound {result.round.round.number} added {result.round.rows_added:,} rows: "
        + ", ".join(f"{s or '?'} {a:,}" for s, _, a in result.round.by_source()),
        markup=False,
    )
    console.print(f"3. Unescaped HTML entities into {result.cleaned.ref} (tagged demo-clean)\n")
    console.print(versions_table(result.versions, title="datawheel versions sms"))
    console.print(f"\n[bold]datawheel diff {result.diff.a} {result.diff.b}[/bold]")
    print_diff(result.diff)
    console.print(f"\n[bold]datawheel lineage {result.cleaned.ref} --upstream[/bold]")
    console.print(to_text(result.lineage), markup=False)
    console.print(f"\nExplore it: cd {result.root} && datawheel datasets")
