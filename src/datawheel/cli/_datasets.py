"""Commands on datasets: init, ingest, datasets, versions, show, tag, export, diff."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from datawheel.cli._app import app, state, workspace
from datawheel.cli._output import around_change, cell, console, print_json, versions_table, when
from datawheel.errors import IngestError
from datawheel.ingest import ReadOptions, SourceFormat, parse_schema
from datawheel.pipeline import IngestReport, source_location
from datawheel.pipeline import ingest as run_ingest
from datawheel.store import SOURCE, DiffResult
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


def _meta(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"'{pair}' is not KEY=VALUE", param_hint="--meta")
        out[key.strip()] = value
    return out


def _quote(text: str | None) -> str | Literal["auto"] | None:
    if text is None:
        return "auto"
    return None if text.lower() == "none" else text


@app.command()
def ingest(
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset to commit to.")],
    source: Annotated[
        str | None,
        typer.Argument(
            help="A file, a folder of files, an http(s) URL of a file, or a database URL (with --query); "
            "a folder with --format csv (tsv, jsonl, parquet…), or a quoted glob ('data/*.parquet'), "
            "reads those files as one table; default: the --uri of the --source named."
        ),
    ] = None,
    format: Annotated[
        SourceFormat | None, typer.Option("--format", "-f", help="Source format (default: detected).")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            help="Key column(s), comma-separated, for stable row ids (rows with an empty or repeated key "
            "are quarantined)."
        ),
    ] = None,
    header: Annotated[
        bool | None, typer.Option("--header/--no-header", help="Whether the first line names the columns.")
    ] = None,
    columns: Annotated[str | None, typer.Option(help="Column names, comma-separated.")] = None,
    separator: Annotated[str | None, typer.Option(help="Field separator (default: detected).")] = None,
    quote: Annotated[
        str | None, typer.Option(help="Quote character, or 'none' (default: \" for CSV, none for TSV).")
    ] = None,
    encoding: Annotated[
        str, typer.Option(help="Text encoding: auto, utf-8, utf-16, cp949, latin-1…")
    ] = "auto",
    null_values: Annotated[
        str | None, typer.Option(help="Values read as null, comma-separated (e.g. '?,NA').")
    ] = None,
    trim: Annotated[bool, typer.Option("--trim", help="Strip spaces around fields.")] = False,
    decimal_comma: Annotated[
        bool | None,
        typer.Option(
            "--decimal-comma/--no-decimal-comma",
            help="Floats are written 1,5 (default: guessed for ';'-separated files).",
        ),
    ] = None,
    schema: Annotated[str | None, typer.Option(help="Declared types, e.g. 'age:int,when:date'.")] = None,
    query: Annotated[str | None, typer.Option(help="SQL query to run on the database URL SOURCE.")] = None,
    pattern: Annotated[
        str | None, typer.Option(help="Fields in a folder's paths, e.g. '{label}/{name}.png'.")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="Spreadsheet sheet (default: the first).")] = None,
    meta: Annotated[
        list[str] | None, typer.Option("--meta", help="KEY=VALUE kept as a column; repeatable.")
    ] = None,
    append: Annotated[
        bool, typer.Option("--append", help="Add the rows to the latest version (a new round).")
    ] = False,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Append, but a row whose key the latest version holds replaces that row "
            "(corrections); needs --key or a dataset with a key.",
        ),
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail (exit 1) and commit nothing if any row is bad.")
    ] = False,
    from_source: Annotated[
        str | None, typer.Option("--source", help="The acquisition source this came from.")
    ] = None,
    message: Annotated[str, typer.Option("--message", "-m", help="A note kept with the version.")] = "",
    json: JsonOption = False,
) -> None:
    """Read a file, folder or query into a new version; bad rows go to NAME.quarantine."""
    options = ReadOptions(
        separator=separator,
        has_header=header,
        columns=tuple(_split(columns) or ()) or None,
        quote_char=_quote(quote),
        encoding=encoding,
        null_values=tuple(_split(null_values) or ()),
        trim=trim,
        schema=parse_schema(schema) if schema else {},
        query=query,
        pattern=pattern,
        sheet=sheet,
        decimal_comma=decimal_comma,
    )
    with workspace() as ws, _progress(enabled=not json) as progress:
        if source is not None:
            location: str | Path = source  # a path, an http(s) URL or a database URL: the API tells
        elif from_source is not None:
            location = source_location(ws, from_source)
        else:
            raise IngestError(
                "nothing to ingest: give SOURCE",
                hint="pass a file, folder or URL, or --source NAME with a --uri",
            )
        report = run_ingest(
            ws,
            location,
            name=name,
            format=format,
            options=options,
            key=_split(key),
            meta=_meta(meta),
            append=append,
            update=update,
            strict=strict,
            source=from_source,
            message=message,
            progress=progress,
        )
    if json:
        print_json(report.to_dict())
        return
    if report.skipped:
        console.print(f"Skipped: {report.location} was already ingested with these options as {report.ref}")
        return
    console.print(
        f"Committed {report.ref}: {report.rows:,} rows read from {report.location}"
        + (f" ({', '.join(said)})" if (said := _read_as(report)) else "")
        + f", execution #{report.execution_id}"
    )
    console.print(
        f"rows read {report.rows_read:,} = committed {report.rows:,} + quarantined {report.quarantined:,}"
    )
    if report.updated:
        before = f"{report.dataset}@{report.version.version - 1}"
        console.print(
            f"of these, {report.updated:,} replaced {'a row' if report.updated == 1 else 'rows'} "
            f"with the same key: datawheel diff {before} {report.ref}"
        )
    if report.quarantine is not None and report.quarantined:
        console.print(
            f"Quarantined rows are in {report.quarantine.ref}: datawheel show {report.quarantine.ref}"
        )


def _read_as(report: IngestReport) -> list[str]:
    """How many files were read as one table, and in what encoding, for the ingest's summary."""
    return ([f"{report.files:,} files"] if report.files is not None else []) + (
        [report.encoding] if report.encoding else []
    )


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled or not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("ingesting"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("ingest", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update


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
    row: Annotated[
        str | None,
        typer.Option("--row", help="Only rows whose _row_id starts with this (e.g. an id `diff` printed)."),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Show a version's facts and its first rows (with where each came from: file and line)."""
    with workspace() as ws:
        info = ws.resolve(ref)
        rows = ws.scan(info).head(limit).collect() if row is None else ws.find_rows(info, row, limit=limit)
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
    for values in rows.select(shown).iter_rows(named=True):
        table.add_row(*(_where(v) if c == SOURCE else cell(v) for c, v in values.items()))
    console.print(table)


def _where(source: dict[str, object] | None) -> str:
    """A row's ``_source`` in a table cell: its file and line, then the acquisition source, if any.

    Example:
        >>> _where({"file": "/data/people.csv", "line": 4, "source": "crm", "execution": 2})
        '/data/people.csv:4 (crm)'
    """
    if source is None:
        return cell(None)
    where = f"{source.get('file')}" + (f":{source['line']}" if source.get("line") is not None else "")
    return where + (f" ({source['source']})" if source.get("source") else "")


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
