"""Pipeline commands: run, status, impact, rerun."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from datawheel.cli._app import app, state, workspace
from datawheel.cli._output import console, errors, print_json
from datawheel.lineage import to_text
from datawheel.pipeline import (
    DEFAULT_FILE,
    Pipeline,
    RunReport,
    load_pipeline,
    pipeline_status,
    rerun_from,
    run_pipeline,
)
from datawheel.pipeline._runner import Engine
from datawheel.workspace import Workspace

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
PipelineArg = Annotated[Path | None, typer.Argument(help=f"Pipeline file (default: {DEFAULT_FILE}).")]


def _pipeline(path: Path | None, ws: Workspace) -> Pipeline:
    if path is not None:
        return load_pipeline(
            path if path.is_absolute() or state.directory is None else state.directory / path
        )
    here = (state.directory or Path.cwd()) / DEFAULT_FILE
    return load_pipeline(here if here.is_file() else ws.root / DEFAULT_FILE)


def _report(report: RunReport, json: bool) -> None:
    if json:
        print_json(report.to_dict())
    else:
        for result in report.steps:
            outputs = ", ".join(result.outputs.values())
            what = {"executed": "ran", "skipped": "up to date", "failed": "FAILED", "not run": "not run"}[
                result.status
            ]
            console.print(f"  {result.name:<24} {what:<11} {outputs}", markup=False)
        console.print(f"{len(report.executed)} ran, {len(report.skipped)} up to date ({report.run})")
    failed = report.failed
    if failed is not None:
        errors.print(
            f"error: step '{failed.name}' failed: {failed.error}; fix it and run again "
            "(the steps before it are up to date and will not run again)",
            markup=False,
        )
        raise typer.Exit(1)


@app.command()
def run(
    pipeline: PipelineArg = None,
    engine: Annotated[Engine, typer.Option(help="Where steps run: local (Polars) or ray.")] = "local",
    json: JsonOption = False,
) -> None:
    """Run a pipeline: only the steps whose code, parameters or inputs changed."""
    with workspace() as ws:
        report = run_pipeline(ws, _pipeline(pipeline, ws), engine=engine)
    _report(report, json)


@app.command()
def status(pipeline: PipelineArg = None, json: JsonOption = False) -> None:
    """Which steps are up to date, and why the others are stale."""
    with workspace() as ws:
        found = pipeline_status(ws, _pipeline(pipeline, ws))
    if json:
        print_json([s.to_dict() for s in found])
        return
    table = Table()
    for column in ("step", "state", "why"):
        table.add_column(column)
    for s in found:
        table.add_row(s.name, s.state, "; ".join(s.reasons))
    console.print(table)


@app.command()
def impact(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@N or NAME@TAG.")], json: JsonOption = False
) -> None:
    """Every artifact downstream of a version: what a bad version affected."""
    with workspace() as ws:
        artifact = ws.artifact(ref)
        graph = ws.lineage.downstream(artifact.id)
    names = [n.name for n in graph.artifacts()]
    if json:
        print_json({"ref": artifact.name, "artifacts": names, "graph": graph.to_dict()})
        return
    console.print(to_text(graph), markup=False)
    console.print(f"\n{len(names)} artifacts downstream of {artifact.name}")


@app.command()
def rerun(
    from_ref: Annotated[str, typer.Option("--from", help="The version to recompute from, e.g. spam_list@2.")],
    pipeline: PipelineArg = None,
    json: JsonOption = False,
) -> None:
    """Recompute every step downstream of a version, reading that version."""
    with workspace() as ws:
        report = rerun_from(ws, _pipeline(pipeline, ws), from_ref)
    _report(report, json)
