"""The split command: `datawheel split` commits the split as NAME.split and checks leakage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from datawheel.cli._app import app, workspace
from datawheel.cli._output import console, errors, print_json
from datawheel.errors import SplitError
from datawheel.pipeline._split import SplitVersion, split_dataset

_FORMATS = ("parquet", "csv", "tsv", "jsonl")


def _columns(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


def _ratios(value: str) -> list[float]:
    try:
        return [float(r) for r in value.split(",") if r.strip()]
    except ValueError as exc:
        raise SplitError(f"--ratios {value!r} are not numbers", hint="write them like 0.6,0.2,0.2") from exc


def _gap(value: str | None) -> str | float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return value


@app.command()
def split(
    ref: Annotated[str, typer.Argument(help="The version to split: NAME, NAME@N or NAME@TAG.")],
    ratios: Annotated[str, typer.Option(help="Shares of the splits, summing to 1.")] = "0.8,0.1,0.1",
    names: Annotated[
        str | None, typer.Option(help="Split names (default train,dev,test for three, train,test for two).")
    ] = None,
    stratify: Annotated[
        str | None, typer.Option(help="Columns to balance jointly, comma-separated (floats are binned).")
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="Keep all rows of each value of this column together.")
    ] = None,
    time: Annotated[str | None, typer.Option(help="Split by this date, time or number column.")] = None,
    cutoffs: Annotated[
        str | None, typer.Option(help="With --time: where each later split starts, comma-separated.")
    ] = None,
    gap: Annotated[
        str | None, typer.Option(help="With --time: leave out rows this close before a cut-off (7d, 12h, 5).")
    ] = None,
    multilabel: Annotated[
        str | None, typer.Option(help="Label columns for iterative stratification, comma-separated.")
    ] = None,
    stable: Annotated[
        bool, typer.Option("--stable", help="A row's split depends only on its row id and the seed.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    bins: Annotated[int, typer.Option(help="Quantile bins for float columns in --stratify.")] = 10,
    content: Annotated[
        str | None, typer.Option(help="Columns compared for exact leakage (default: all data columns).")
    ] = None,
    near: Annotated[
        str | None, typer.Option(help="Also check near-duplicate leakage of this text column (MinHash).")
    ] = None,
    near_threshold: Annotated[float, typer.Option(help="Jaccard similarity of near duplicates.")] = 0.8,
    fail_on_leak: Annotated[
        bool, typer.Option("--fail-on-leak", help="Exit 1 when rows leak across splits.")
    ] = False,
    export: Annotated[Path | None, typer.Option(help="Write each split to DIR/NAME.FORMAT.")] = None,
    export_format: Annotated[str, typer.Option("--format", help="parquet, csv, tsv or jsonl.")] = "parquet",
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """Split a version into train/dev/test: exact stratification, groups, time, stable; checks leakage."""
    if export_format not in _FORMATS:
        raise SplitError(f"unknown export format {export_format!r}", hint=f"use one of {', '.join(_FORMATS)}")
    with workspace() as ws:
        done = split_dataset(
            ws,
            ref,
            _ratios(ratios),
            names=_columns(names),
            stratify=_columns(stratify),
            group=group,
            multilabel=_columns(multilabel),
            time=time,
            cutoffs=_columns(cutoffs),
            gap=_gap(gap),
            stable=stable,
            seed=seed,
            bins=bins,
            content=_columns(content),
            near=near,
            near_threshold=near_threshold,
            export=export,
            export_format=export_format,  # type: ignore[arg-type]
        )
    if json:
        print_json(done.to_dict())
    else:
        _show(done)
    for warning in done.report.warnings:
        errors.print(f"warning: {warning}", markup=False)
    if fail_on_leak and done.leakage.leaked:
        raise typer.Exit(1)


def _show(done: SplitVersion) -> None:
    report = done.report
    console.print(
        f"split: {done.input.ref} -> {done.version.ref} ({report.mode}, seed {report.params.get('seed')}), "
        f"{report.rows:,} rows" + (f", {report.gap_rows:,} in gaps" if report.gap_rows else ""),
        markup=False,
    )
    for name, ratio in zip(report.names, report.ratios, strict=True):
        rows = report.split_rows[name]
        classes = report.split_classes.get(name, {})
        shown = "  ".join(f"{c} {n:,}" for c, n in list(classes.items())[:8])
        more = f"  (+{len(classes) - 8} classes)" if len(classes) > 8 else ""
        groups = f", {report.groups[name]:,} groups" if report.groups else ""
        console.print(
            f"  {name:<8} {rows:>10,}  {rows / max(report.rows, 1):6.1%} (target {ratio:.1%}){groups}  "
            f"{shown}{more}",
            markup=False,
        )
    console.print(
        f"  largest deviation: {report.max_class_deviation:.2f} rows in a class, "
        f"{report.max_ratio_deviation:.2%} in a split's share",
        markup=False,
    )
    for check in done.leakage.checks:
        console.print(f"  leakage ({check.kind}): {_leak_line(check.to_dict())}", markup=False)
    for name, path in done.exports.items():
        console.print(f"  exported {name}: {path}", markup=False)


def _leak_line(found: dict[str, Any]) -> str:
    if not found["found"]:
        return "none"
    example = found["examples"][0] if found["examples"] else {}
    return f"{found['found']:,} shared across splits ({found['rows']:,} rows), e.g. {example}"
