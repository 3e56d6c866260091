"""Commands of the labelling service: ``serve``, ``users add|list`` and ``project create|list|export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from datawheel.cli._app import app, workspace
from datawheel.cli._output import console, print_json
from datawheel.pipeline._labelling import PRIORITIES, TASK_TYPES, create_project, list_projects
from datawheel.pipeline._labelling_export import export_project, write_labels
from datawheel.pipeline._labelling_import import import_suggestions
from datawheel.pipeline._labelling_users import add_user, ensure_admin, list_users
from datawheel.server import DEFAULT_HOST, DEFAULT_PORT, serve

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]

users_app = typer.Typer(add_completion=False, rich_markup_mode=None, no_args_is_help=True)
project_app = typer.Typer(add_completion=False, rich_markup_mode=None, no_args_is_help=True)
app.add_typer(users_app, name="users", help="Accounts of the labelling service.")
app.add_typer(project_app, name="project", help="Labelling projects: create, list, export.")


@app.command("serve")
def serve_command(
    host: Annotated[
        str, typer.Option(help="The address to listen on (0.0.0.0: every interface).")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="The port to listen on.")] = DEFAULT_PORT,
    log_level: Annotated[
        str, typer.Option(help="uvicorn's log level: info logs every request, warning only problems.")
    ] = "info",
    workers: Annotated[
        int, typer.Option(help="Server processes (more than 1: more requests served on PostgreSQL).")
    ] = 1,
) -> None:
    """Serve the labelling pages and REST API on the workspace (first start: an admin account)."""
    with workspace() as ws:
        first = ensure_admin(ws)
        if first is not None:
            console.print(
                f"created the admin account '{first.user.name}', one-time password: {first.password}\n"
                "  (shown only now: sign in and keep it, or add another admin with `datawheel users add`)",
                markup=False,
            )
        console.print(f"labelling service on http://{host}:{port}/ (Ctrl+C stops it)", markup=False)
        serve(ws, host=host, port=port, log_level=log_level, workers=workers)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The account name.")],
    role: Annotated[str, typer.Option(help="annotator, reviewer or admin.")],
    password: Annotated[
        str | None, typer.Option(help="The password (at least 8 characters); default: generate one.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Make an account; a generated password is printed once."""
    with workspace() as ws:
        made = add_user(ws, name, role=role, password=password)
    if json:
        print_json(made.to_dict())
        return
    line = f"account {made.user.name} ({made.user.role}) created"
    console.print(line + (f"; its one-time password: {made.password}" if made.password else ""), markup=False)


@users_app.command("list")
def users_list(json: JsonOption = False) -> None:
    """The accounts and their roles."""
    with workspace() as ws:
        users = list_users(ws)
    if json:
        print_json([u.to_dict() for u in users])
        return
    table = Table("account", "role", "created")
    for u in users:
        table.add_row(u.name, u.role, u.created_at.strftime("%Y-%m-%d %H:%M"))
    console.print(table)


@project_app.command("create")
def project_create(
    name: Annotated[str, typer.Argument(help="The project's name (it also names the label datasets).")],
    source: Annotated[str, typer.Argument(help="The version to label: NAME, NAME@N or NAME@TAG.")],
    column: Annotated[str, typer.Option(help="The text column (or the blob column, for images).")],
    labels: Annotated[str, typer.Option(help="Labels, comma-separated: NAME or NAME:#rrggbb:KEY.")],
    task_type: Annotated[str, typer.Option("--type", help=f"One of: {', '.join(TASK_TYPES)}.")] = "single",
    overlap: Annotated[int, typer.Option(help="How many annotators label each item.")] = 1,
    priority: Annotated[str, typer.Option(help=f"Order of the items: {', '.join(PRIORITIES)}.")] = "order",
    score_column: Annotated[str | None, typer.Option(help="Active-learning score (highest first).")] = None,
    suggestion_column: Annotated[str | None, typer.Option(help="A model's label, shown pre-filled.")] = None,
    confidence_column: Annotated[
        str | None, typer.Option(help="The model's confidence (lowest first).")
    ] = None,
    pilot: Annotated[int, typer.Option(help="Items in the pilot round (0: no pilot).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the random order and the pilot sample.")] = 0,
    guidelines: Annotated[Path | None, typer.Option(help="A Markdown file of guidelines.")] = None,
    members: Annotated[str, typer.Option(help="Accounts who work on it, comma-separated.")] = "",
    json: JsonOption = False,
) -> None:
    """Make a labelling project from a dataset version, recorded in lineage."""
    text = guidelines.read_text(encoding="utf-8") if guidelines else ""
    with workspace() as ws:
        info = create_project(
            ws,
            name,
            source,
            task_type=task_type,  # type: ignore[arg-type]  # checked by create_project
            column=column,
            labels=[x.strip() for x in labels.split(",") if x.strip()],
            overlap=overlap,
            priority=priority,  # type: ignore[arg-type]
            score_column=score_column,
            suggestion_column=suggestion_column,
            confidence_column=confidence_column,
            pilot=pilot,
            seed=seed,
            guidelines=text,
            members=[m.strip() for m in members.split(",") if m.strip()],
        )
    if json:
        print_json(info.to_dict())
        return
    console.print(
        f"project {info.name}: {info.items:,} items from {info.source_ref} ({info.task_type}, overlap "
        f"{info.overlap}, {info.pilot_items} in the pilot); start labelling with `datawheel serve`",
        markup=False,
    )


@project_app.command("list")
def project_list(json: JsonOption = False) -> None:
    """The labelling projects."""
    with workspace() as ws:
        projects = list_projects(ws)
    if json:
        print_json([p.to_dict() for p in projects])
        return
    table = Table("project", "source", "type", "items", "overlap", "round")
    for p in projects:
        table.add_row(p.name, p.source_ref, p.task_type, f"{p.items:,}", str(p.overlap), p.round)
    console.print(table)


@project_app.command("import")
def project_import(
    name: Annotated[str, typer.Argument(help="The project.")],
    path: Annotated[Path, typer.Argument(help="Labels: .jsonl, .csv, .json (Label Studio) or .conll.")],
    json: JsonOption = False,
) -> None:
    """Pre-fill tasks with suggestions from a file (a model's predictions, another tool's labels)."""
    with workspace() as ws:
        count = import_suggestions(ws, name, path)
    if json:
        print_json({"project": name, "file": str(path), "suggested": count})
        return
    console.print(f"{count:,} items of {name} now carry a suggestion from {path}", markup=False)


@project_app.command("export")
def project_export(
    name: Annotated[str, typer.Argument(help="The project.")],
    method: Annotated[
        str, typer.Option(help="Where annotators disagree: majority or dawid-skene.")
    ] = "majority",
    output: Annotated[
        Path | None,
        typer.Option(
            help="Also write the final labels to a file: .jsonl, .csv, .json (Label Studio), .conll."
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Commit annotations and final labels as dataset versions (PROJECT.annotations, PROJECT.labels)."""
    with workspace() as ws:
        done = export_project(ws, name, method=method)  # type: ignore[arg-type]
        written = write_labels(ws, name, output, method=method) if output else None  # type: ignore[arg-type]
    if json:
        print_json({**done.to_dict(), "file": str(output) if output else None, "file_rows": written})
        return
    decided = ", ".join(f"{k} {v:,}" for k, v in done.decided.items())
    console.print(
        f"exported {done.annotations.ref} ({done.annotations.rows:,} annotations) and {done.labels.ref} "
        f"({done.labels.rows:,} items: {decided or 'none'})" + (f"; wrote {output}" if output else ""),
        markup=False,
    )
