"""Commands on datasets: init, ingest, datasets, versions, show, tag, export, diff."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from datawheel.cli._app import app, state, workspace
from datawheel.cli._output import around_change, cell, console, print_json, versions_table, when
from datawheel.ingest import FileFormat
from datawheel.pipeline import ingest_file
from datawheel.store import DiffResult
from datawheel.workspace import Workspace

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def _split(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to make a workspace (default: here).")] = Path(),
    database_url: Annotated[
        str | None, typer.Option(help="Metadata database URL (default: SQLite in .datawheel/).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Workspace name (default: the folder's name).")] = None,
    json: JsonOption = False,
) -> None:
    """Make a folder a datawheel workspace (datawheel.toml and .datawheel/)."""
    folder = directory if directory.is_absolute() or state.directory is None else state.directory / directory
    with Workspace.init(folder, database_url=database_url, name=name) as ws:
        if json:
            print_json(
                {
                    "root": str(ws.root),
                    "name": ws.config.name,
                    "database": ws.engine.url.render_as_string(),
                }
            )
        else:
            console.print(f"Initialised datawheel workspace '{ws.config.name}' in {ws.root}")


@app.command()
def ingest(
    source: Annotated[Path, typer.Argument(help="The file to read.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset to commit to.")],
    format: Annotated[
        FileFormat | None,
        typer.Option("--format", "-f", help="File format (default: from the suffix)."),
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Key column(s), comma-separated, for stable row ids.")
    ] = None,
    no_header: Annotated[bool, typer.Option("--no-header", help="The file has no header line.")] = False,
    columns: Annotated[str | None, typer.Option(help="Column names, comma-separated.")] = None,
    separator: Annotated[
        str | None, typer.Option(help="Field separator (default: ',' for CSV, tab for TSV).")
    ] = None,
    message: Annotated[str, typer.Option("--message", "-m", help="A note kept with the version.")] = "",
    json: JsonOption = False,
) -> None:
    """Read a CSV, TSV, JSONL or Parquet file into a new version of a dataset."""
    with workspace() as ws:
        report = ingest_file(
            ws,
            source,
            name=name,
            format=format,
            has_header=not no_header,
            columns=_split(columns),
            separator=separator,
            key=_split(key),
            message=message,
        )
    if json:
        print_json(report.to_dict())
    else:
        console.print(
            f"Committed {report.ref}: {report.rows:,} rows from {report.source} "
            f"(execution #{report.execution_id})"
        )


@app.command()
def datasets(json: JsonOption = False) -> None:
    """List the workspace's datasets and their latest versions."""
    with workspace() as ws:
        found = ws.datasets()
    if json:
        print_json(
            [
                {
                    "name": d.name,
                    "versions": d.versions,
                    "latest": d.latest,
                    "rows": d.rows,
                    "key": list(d.key),
                    "created_at": d.created_at,
                }
                for d in found
            ]
        )
        return
    if not found:
        console.print("No datasets yet; add one with `datawheel ingest FILE --name NAME`.")
        return
    table = Table()
    for column in ("dataset", "versions", "latest rows", "key", "created"):
        table.add_column(column)
    for d in found:
        table.add_row(
            d.name,
            str(d.versions),
            f"{d.rows:,}" if d.rows is not None else "",
            ", ".join(d.key),
            when(d.created_at),
        )
    console.print(table)


@app.command()
def versions(name: Annotated[str, typer.Argument(help="Dataset name.")], json: JsonOption = False) -> None:
    """List a dataset's versions, oldest first."""
    with workspace() as ws:
        found = ws.versions(name)
    if json:
        print_json([v.to_dict() for v in found])
    else:
        console.print(versions_table(found))


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@N or NAME@TAG.")],
    limit: Annotated[int, typer.Option(help="How many rows to show.")] = 10,
    json: JsonOption = False,
) -> None:
    """Show a version's facts and its first rows."""
    with workspace() as ws:
        info = ws.resolve(ref)
        rows = ws.scan(info).head(limit).collect()
    if json:
        print_json({"version": info.to_dict(), "rows": rows.to_dicts()})
        return
    console.print(
        f"{info.ref}: {info.rows:,} rows, made {when(info.created_at)} by {info.author}"
        + (f", tags {', '.join(info.tags)}" if info.tags else "")
        + (f" — {info.message}" if info.message else "")
    )
    table = Table()
    shown = [c for c in rows.columns if c not in ("_row_hash",)]
    for column in shown:
        table.add_column(column, overflow="fold")
    for row in rows.select(shown).iter_rows():
        table.add_row(*(cell(v) for v in row))
    console.print(table)


@app.command()
def tag(
    ref: Annotated[str, typer.Argument(help="The version to name.")],
    name: Annotated[str, typer.Argument(help="The tag, e.g. v1-release.")],
    move: Annotated[bool, typer.Option("--move", help="Move the tag if it names another version.")] = False,
    json: JsonOption = False,
) -> None:
    """Name a version with a tag, usable as NAME@TAG."""
    with workspace() as ws:
        info = ws.tag(ref, name, move=move)
    if json:
        print_json(info.to_dict())
    else:
        console.print(f"Tagged {info.ref} as {info.dataset}@{name}")


@app.command()
def export(
    ref: Annotated[str, typer.Argument(help="The version to write.")],
    path: Annotated[Path, typer.Argument(help="Output file: .parquet, .csv, .tsv or .jsonl.")],
    data_only: Annotated[
        bool, typer.Option("--data-only", help="Leave out _row_id, _row_hash and _source.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Write a version to a Parquet, CSV, TSV or JSONL file (chosen by the suffix)."""
    with workspace() as ws:
        info, fmt = ws.export(ref, path, data_only=data_only)
    if json:
        print_json({"ref": info.ref, "path": str(path), "format": fmt, "rows": info.rows})
    else:
        console.print(f"Wrote {info.rows:,} rows of {info.ref} to {path} ({fmt})")


def print_diff(diff: DiffResult) -> None:
    """Print a diff's counts, column changes and samples for people."""
    console.print(
        f"{diff.a} → {diff.b}: {diff.added:,} added, {diff.removed:,} removed, "
        f"{diff.changed:,} changed, {diff.unchanged:,} unchanged"
    )
    for what, cols in (
        ("added", diff.columns.added),
        ("removed", diff.columns.removed),
        ("retyped", diff.columns.retyped),
    ):
        if cols:
            console.print(f"  columns {what}: {', '.join(cols)}")
    for sign, rows in (("+", diff.sample_added), ("-", diff.sample_removed)):
        for row in rows:
            console.print(f"  {sign} {cell(row, 110)}", markup=False)
    for row in diff.sample_changed:
        for column, (before, after) in row["columns"].items():
            old, new = around_change(before, after)
            console.print(f"  ~ {row['_row_id'][:12]} {column}: {old} → {new}", markup=False)


@app.command()
def diff(
    a: Annotated[str, typer.Argument(help="The older version.")],
    b: Annotated[str, typer.Argument(help="The newer version.")],
    sample: Annotated[int, typer.Option(help="How many rows of each kind to show.")] = 5,
    json: JsonOption = False,
) -> None:
    """Rows added, removed and changed between two versions, matched by _row_id."""
    with workspace() as ws:
        result = ws.diff(a, b, sample=sample)
    if json:
        print_json(result.to_dict())
    else:
        print_diff(result)
