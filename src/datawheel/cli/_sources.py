"""Commands of the acquisition plan: ``sources`` (add, list, show, remove) and ``round``.

``datawheel sources`` alone lists the sources, best first; ``datawheel round`` alone shows the
status of the open (else the last) round. ``--json`` may be given to the group or to the command.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from datawheel.cli._app import app, workspace
from datawheel.cli._output import cell, console, print_json, when
from datawheel.lineage import RoundInfo, RoundStatus, SourceInfo

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]

sources_app = typer.Typer(add_completion=False, rich_markup_mode=None)
round_app = typer.Typer(add_completion=False, rich_markup_mode=None)
app.add_typer(sources_app, name="sources")
app.add_typer(round_app, name="round")


def _json(ctx: typer.Context, flag: bool) -> bool:
    """``--json`` given to the command, or to its group (``datawheel sources --json list``)."""
    return flag or bool(ctx.parent is not None and ctx.parent.params.get("json"))


def _number(value: float) -> str:
    """A value score, cost or count as people read it: 10,000 / 12.5 / 0.0312."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")


# -- sources -----------------------------------------------------------------------------------


@sources_app.callback(invoke_without_command=True)
def sources_group(ctx: typer.Context, json: JsonOption = False) -> None:
    """The acquisition plan: where data can come from, ranked by value (alone: `sources list`)."""
    if ctx.invoked_subcommand is None:
        _print_sources(json)


@sources_app.command("add")
def add_source(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The source's name (letters, digits, '_', '-', '.').")],
    uri: Annotated[str, typer.Option(help="Where the data is: a URL, path, bucket or contact.")],
    cost: Annotated[float, typer.Option(help="What collecting it should cost, in any one currency.")],
    days: Annotated[float, typer.Option(help="How many days collecting it should take.")],
    expected_rows: Annotated[int, typer.Option(help="How many rows it should yield.")],
    quality: Annotated[str, typer.Option(help="How good its rows should be: low, medium or high.")],
    notes: Annotated[str, typer.Option(help="Free text kept with the source.")] = "",
    replace: Annotated[bool, typer.Option("--replace", help="Change the source if it exists.")] = False,
    json: JsonOption = False,
) -> None:
    """Add a source to the plan, with its cost, time, expected rows and quality."""
    with workspace() as ws:
        info = ws.sources.add(
            name,
            uri=uri,
            cost=cost,
            days=days,
            expected_rows=expected_rows,
            quality=quality,
            notes=notes,
            replace=replace,
        )
    if _json(ctx, json):
        print_json(info.to_dict())
    else:
        console.print(
            f"{'Replaced' if info.updated_at > info.created_at else 'Added'} source '{info.name}' "
            f"(value score {_number(info.value_score)})"
        )


@sources_app.command("list")
def list_sources(ctx: typer.Context, json: JsonOption = False) -> None:
    """List the sources, best first by value score (rows x quality per money and time)."""
    _print_sources(_json(ctx, json))


def _print_sources(json: bool) -> None:
    with workspace() as ws:
        found = ws.sources.list()
    if json:
        print_json([s.to_dict() for s in found])
        return
    if not found:
        console.print("No sources yet; add one with `datawheel sources add NAME --uri URI …`.")
        return
    table = Table()
    for column, justify in (
        ("rank", "right"),
        ("source", "left"),
        ("value score", "right"),
        ("expected rows", "right"),
        ("quality", "left"),
        ("cost", "right"),
        ("days", "right"),
        ("uri", "left"),
        ("notes", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for rank, s in enumerate(found, start=1):
        table.add_row(
            str(rank),
            s.name,
            _number(s.value_score),
            f"{s.expected_rows:,}",
            s.quality,
            _number(s.cost),
            _number(s.days),
            cell(s.uri, 40),
            cell(s.notes, 40),
        )
    console.print(table)


@sources_app.command("show")
def show_source(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The source's name.")],
    json: JsonOption = False,
) -> None:
    """Show one source: its URI, cost, days, expected rows, quality, notes and value score."""
    with workspace() as ws:
        info = ws.sources.get(name)
    if _json(ctx, json):
        print_json(info.to_dict())
    else:
        _print_source(info)


def _print_source(info: SourceInfo) -> None:
    console.print(f"{info.name}: value score {_number(info.value_score)}", markup=False)
    for label, value in (
        ("uri", info.uri),
        ("expected rows", f"{info.expected_rows:,}"),
        ("quality", info.quality),
        ("cost", _number(info.cost)),
        ("days", _number(info.days)),
        ("notes", info.notes),
        ("added", when(info.created_at)),
        ("changed", when(info.updated_at)),
    ):
        console.print(f"  {label:<14}{value}", markup=False)


@sources_app.command("remove")
def remove_source(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The source's name.")],
    json: JsonOption = False,
) -> None:
    """Take a source off the plan (the lineage of what was ingested from it stays)."""
    with workspace() as ws:
        info = ws.sources.remove(name)
    if _json(ctx, json):
        print_json(info.to_dict())
    else:
        console.print(f"Removed source '{info.name}'; the lineage of its ingests stays")


# -- rounds ------------------------------------------------------------------------------------


@round_app.callback(invoke_without_command=True)
def round_group(ctx: typer.Context, json: JsonOption = False) -> None:
    """Time-boxed collection rounds: start, status, close, list (alone: `round status`)."""
    if ctx.invoked_subcommand is None:
        _print_status(None, json)


@round_app.command("start")
def start_round(
    ctx: typer.Context,
    days: Annotated[float, typer.Option(help="The round's time box, in days.")],
    name: Annotated[str | None, typer.Option(help="A label for the round (default: round-N).")] = None,
    notes: Annotated[str, typer.Option(help="Free text kept with the round.")] = "",
    json: JsonOption = False,
) -> None:
    """Open the next collection round; ingests made while it is open count towards it."""
    with workspace() as ws:
        info = ws.sources.start_round(days=days, name=name, notes=notes)
    if _json(ctx, json):
        print_json(info.to_dict())
    else:
        console.print(
            f"Started round {info.number} ('{info.name}'): {_number(info.days)} days, "
            f"due {when(info.deadline)}",
            markup=False,
        )


@round_app.command("status")
def round_status(
    ctx: typer.Context,
    number: Annotated[
        int | None, typer.Argument(help="The round (default: the open one, else the last).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Show a round: time left, its ingests with their sources, and the rows they added."""
    _print_status(number, _json(ctx, json))


def _print_status(number: int | None, json: bool) -> None:
    with workspace() as ws:
        status = ws.sources.round_status(number)
    if json:
        print_json(status.to_dict())
    else:
        _print_round_status(status)


def _time_left(status: RoundStatus) -> str:
    info = status.round
    if info.closed_at is not None:
        late = " (after its deadline)" if status.overdue else ""
        return f"closed {when(info.closed_at)}{late}"
    left = status.days_left or 0.0
    return f"{left:.1f} days left" if left >= 0 else f"overdue by {-left:.1f} days"


def _print_round_status(status: RoundStatus) -> None:
    info = status.round
    console.print(
        f"Round {info.number} ('{info.name}'): started {when(info.started_at)}, due {when(info.deadline)}; "
        f"{_time_left(status)}; {status.rows_added:,} rows added by {len(status.executions)} executions",
        markup=False,
    )
    if not status.executions:
        return
    runs = Table(title="executions", title_justify="left")
    for column, justify in (("execution", "right"), ("step", "left"), ("status", "left")):
        runs.add_column(column, justify=justify)  # type: ignore[arg-type]
    for column, justify in (("source", "left"), ("versions", "left"), ("rows added", "right")):
        runs.add_column(column, justify=justify)  # type: ignore[arg-type]
    for e in status.executions:
        refs = ", ".join(v.ref for v in e.versions)
        runs.add_row(f"#{e.execution_id}", e.step, e.status, e.source or "", refs, f"{e.rows_added:,}")
    console.print(runs)
    totals = Table(title="rows added", title_justify="left")
    for column, justify in (("by", "left"), ("name", "left"), ("rows added", "right")):
        totals.add_column(column, justify=justify)  # type: ignore[arg-type]
    for source, _, added in status.by_source():
        totals.add_row("source", source or "(none)", f"{added:,}")
    for dataset, _, added in status.by_dataset():
        totals.add_row("dataset", dataset, f"{added:,}")
    console.print(totals)


@round_app.command("close")
def close_round(ctx: typer.Context, json: JsonOption = False) -> None:
    """Close the open round and show what it added."""
    with workspace() as ws:
        info = ws.sources.close_round()
        status = ws.sources.round_status(info.number)
    if _json(ctx, json):
        print_json(status.to_dict())
    else:
        console.print(f"Closed round {info.number} ('{info.name}')", markup=False)
        _print_round_status(status)


@round_app.command("list")
def list_rounds(ctx: typer.Context, json: JsonOption = False) -> None:
    """List the rounds, first to last, with the rows each added."""
    with workspace() as ws:
        found = [(r, ws.sources.round_status(r.number).rows_added) for r in ws.sources.rounds()]
    if _json(ctx, json):
        print_json([_round_row(r, added) for r, added in found])
        return
    if not found:
        console.print("No rounds yet; start one with `datawheel round start --days N`.")
        return
    table = Table()
    for column in ("round", "name", "started", "deadline", "closed", "rows added"):
        table.add_column(column, justify="right" if column in ("round", "rows added") else "left")
    for r, added in found:
        closed = when(r.closed_at) if r.closed_at else "open"
        table.add_row(str(r.number), r.name, when(r.started_at), when(r.deadline), closed, f"{added:,}")
    console.print(table)


def _round_row(info: RoundInfo, rows_added: int) -> dict[str, Any]:
    return {**info.to_dict(), "rows_added": rows_added}
