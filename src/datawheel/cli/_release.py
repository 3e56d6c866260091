"""Release commands: release, verify, reproduce, push, pull."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, get_args

import typer

from datawheel.cli._app import app, workspace
from datawheel.cli._output import console, print_json
from datawheel.pipeline._release import DataFormat, pull_release, push_release, release, reproduce
from datawheel.release import Verification, unpack_bundle, verify_bundle

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


@app.command("release")
def release_command(
    name: Annotated[str, typer.Argument(help="The release's name; it also tags each version (e.g. v1).")],
    more: Annotated[
        list[str] | None,
        typer.Argument(help="More versions after --datasets (REF REF …).", show_default=False),
    ] = None,
    datasets: Annotated[
        list[str] | None, typer.Option("--datasets", "-d", help="Versions to release: REF [REF …].")
    ] = None,
    notes: Annotated[Path | None, typer.Option(help="A Markdown file of notes for the datasheet.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The bundle folder to write.")] = None,
    formats: Annotated[
        str, typer.Option("--formats", help="Data formats, comma-separated: parquet, csv, jsonl.")
    ] = "parquet",
    archive: Annotated[bool, typer.Option("--archive", help="Also write BUNDLE.tar.gz.")] = False,
    label: Annotated[str | None, typer.Option(help="The label column, for class balances.")] = None,
    json: JsonOption = False,
) -> None:
    """Freeze versions as a release: tags, data, manifest, datasheet, quality report, lineage."""
    refs = [*(datasets or []), *(more or [])]
    chosen = [f.strip() for f in formats.split(",") if f.strip()]
    allowed = get_args(DataFormat)
    for fmt in chosen:
        if fmt not in allowed:
            raise typer.BadParameter(f"'{fmt}' is not one of {', '.join(allowed)}", param_hint="--formats")
    with workspace() as ws:
        report = release(
            ws,
            name,
            datasets=refs,
            notes=notes,
            output=output,
            formats=chosen,  # type: ignore[arg-type]
            archive=archive,
            label=label,
        )
    if json:
        print_json(report.to_dict())
        return
    console.print(
        f"release {name}: {', '.join(v.ref for v in report.versions)} tagged '{name}'; "
        f"{report.files} files in {report.bundle}"
        + (f"; archive {report.archive}" if report.archive else ""),
        markup=False,
    )
    for page in ("datasheet.html", "quality.html", "lineage.html"):
        console.print(f"  {report.bundle / page}", markup=False)


@app.command("verify")
def verify_command(
    bundle: Annotated[Path, typer.Argument(help="A release bundle: its folder or its .tar.gz.")],
    json: JsonOption = False,
) -> None:
    """Check every file of a bundle against its manifest's BLAKE3 checksums (exit 1 if any differs)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = unpack_bundle(bundle, Path(tmp)) if bundle.is_file() else bundle
        result = verify_bundle(folder)
    _show_verification(result, json)
    if not result.ok:
        raise typer.Exit(1)


def _show_verification(result: Verification, json: bool) -> None:
    if json:
        print_json(result.to_dict())
        return
    if result.ok:
        console.print(f"ok: {result.files} files match the manifest of {result.bundle}", markup=False)
        return
    count = len(result.problems)
    console.print(f"{count} problem{'s' if count > 1 else ''} in {result.bundle}:", markup=False)
    for problem in result.problems:
        console.print(f"  {problem.file}: {problem.problem}", markup=False)


@app.command("reproduce")
def reproduce_command(
    name: Annotated[str, typer.Argument(help="The release to rebuild.")],
    keep: Annotated[
        Path | None, typer.Option(help="Keep the rebuilt workspace in this folder (new) to inspect it.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Replay a release's recorded steps in a new workspace and compare the rows (exit 1 if any differ)."""
    with workspace() as ws:
        report = reproduce(ws, name, keep=keep)
    if json:
        print_json(report.to_dict())
    else:
        console.print(
            f"replayed {len(report.steps)} steps: {' → '.join(report.steps) or 'none'}", markup=False
        )
        for d in report.datasets:
            state = "identical" if d.identical else f"DIFFERENT: {d.problem}"
            console.print(
                f"  {d.ref}: {state} ({d.rows:,} of {d.expected_rows:,} rows rebuilt)", markup=False
            )
    if not report.identical:
        raise typer.Exit(1)


@app.command("push")
def push_command(
    name: Annotated[str, typer.Argument(help="The release to push.")],
    remote: Annotated[str, typer.Argument(help="A folder or an object-storage URI (s3://bucket/prefix).")],
    json: JsonOption = False,
) -> None:
    """Copy a release's bundle to a remote location (the manifest last)."""
    with workspace() as ws:
        where = push_release(ws, name, remote)
    if json:
        print_json({"release": name, "remote": where})
    else:
        console.print(f"pushed {name} to {where}", markup=False)


@app.command("pull")
def pull_command(
    remote: Annotated[
        str, typer.Argument(help="A folder or an object-storage URI the release was pushed to.")
    ],
    name: Annotated[str, typer.Argument(help="The release to pull.")],
    into: Annotated[Path, typer.Option("--into", help="The folder to pull into.")] = Path(),
    json: JsonOption = False,
) -> None:
    """Copy a release from a remote location and verify it against its manifest."""
    folder, result = pull_release(remote, name, into)
    if json:
        print_json({"bundle": str(folder), **result.to_dict()})
    else:
        console.print(f"pulled {name} into {folder}: {result.files} files verified", markup=False)
