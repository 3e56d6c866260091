"""Commands of the label capability: `datawheel label agreement|aggregate|issues|suggest|next-batch|weak`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from datawheel.cli._app import app, workspace
from datawheel.cli._output import cell, console, print_json
from datawheel.pipeline._label import (
    LabelReport,
    aggregate_labels,
    find_label_issues,
    measure_agreement,
    select_next_batch,
    suggest_labels,
    weak_label_dataset,
)

label_app = typer.Typer(add_completion=False, rich_markup_mode=None, no_args_is_help=True)
app.add_typer(
    label_app,
    name="label",
    help="Label quality: agreement, aggregation, label issues, suggestions, next batch, weak labels.",
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
SourceArg = Annotated[str, typer.Argument(help="Annotations: a file (csv, tsv, jsonl, parquet) or NAME[@N].")]
RefArg = Annotated[str, typer.Argument(help="The version: NAME, NAME@N or NAME@TAG.")]
ItemOption = Annotated[str, typer.Option(help="The item column.")]
AnnotatorOption = Annotated[str, typer.Option(help="The annotator column.")]
LabelOption = Annotated[str, typer.Option(help="The label column.")]
LabelsOption = Annotated[
    str | None, typer.Option(help="The label set, comma-separated: any other label is an error.")
]
ItemsOption = Annotated[
    str | None, typer.Option(help="A ref whose item column lists the known items: others are an error.")
]
TextOption = Annotated[str | None, typer.Option(help="The text column the baseline reads.")]
FeaturesOption = Annotated[
    str | None, typer.Option(help="Feature columns the baseline reads, comma-separated.")
]
SeedOption = Annotated[int, typer.Option(help="The seed of folds and models.")]


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _show(report: LabelReport, json: bool, line: str, table: Table | None = None) -> None:
    if json:
        print_json(report.to_dict())
        return
    console.print(line, markup=False)
    if table is not None and table.row_count:
        console.print(table)
    if report.outputs:
        console.print("wrote " + ", ".join(report.outputs.values()), markup=False)


def _table(rows: list[dict[str, Any]], columns: list[str], limit: int = 10) -> Table:
    table = Table()
    for column in columns:
        table.add_column(column)
    for row in rows[:limit]:
        table.add_row(*(cell(_round(row.get(c)), 50) for c in columns))
    return table


def _round(value: object) -> object:
    return f"{value:.3f}" if isinstance(value, float) else value


def _num(value: object) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


@label_app.command("agreement")
def agreement_command(
    source: SourceArg,
    item: ItemOption = "item",
    annotator: AnnotatorOption = "annotator",
    label: LabelOption = "label",
    level: Annotated[
        str, typer.Option(help="Krippendorff's alpha level: nominal, ordinal or interval.")
    ] = "nominal",
    labels: LabelsOption = None,
    items: ItemsOption = None,
    time: Annotated[str | None, typer.Option(help="A time column: adds agreement per period.")] = None,
    every: Annotated[str, typer.Option(help="The period with --time (1d, 1w, 1mo).")] = "1d",
    json: JsonOption = False,
) -> None:
    """Agreement between annotators: Fleiss' kappa, Krippendorff's alpha, Cohen's kappa per pair."""
    with workspace() as ws:
        report = measure_agreement(
            ws,
            source,
            item=item,
            annotator=annotator,
            label=label,
            level=level,
            labels=_split(labels),
            items=items,
            time=time,
            every=every,
        )
    r = report.result
    _show(
        report,
        json,
        f"{r['items']:,} items, {r['annotators']} annotators: Fleiss' kappa {_num(r['fleiss_kappa'])}, "
        f"Krippendorff's alpha ({r['level']}) {_num(r['krippendorff_alpha'])}, "
        f"percent agreement {_num(r['percent_agreement'])}",
        _table(r["cohen_kappa"], ["annotator_a", "annotator_b", "items", "agreement", "kappa"]),
    )


@label_app.command("aggregate")
def aggregate_command(
    source: SourceArg,
    method: Annotated[
        str, typer.Option(help="majority, dawid-skene, or crowdlab (needs --probabilities).")
    ] = "majority",
    item: ItemOption = "item",
    annotator: AnnotatorOption = "annotator",
    label: LabelOption = "label",
    labels: LabelsOption = None,
    items: ItemsOption = None,
    probabilities: Annotated[
        str | None, typer.Option(help="For crowdlab: a ref with the item column and one column per class.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """One label per item from several annotators, with confidence and an annotator quality table."""
    with workspace() as ws:
        report = aggregate_labels(
            ws,
            source,
            method=method,
            item=item,
            annotator=annotator,
            label=label,
            labels=_split(labels),
            items=items,
            probabilities=probabilities,
        )
    r = report.result
    _show(
        report,
        json,
        f"{r['items']:,} items labelled by {r['method']}",
        _table(r["annotators"], ["annotator", "count", "accuracy"], limit=20),
    )


@label_app.command("issues")
def issues_command(
    ref: RefArg,
    label: LabelOption = "label",
    text: TextOption = None,
    features: FeaturesOption = None,
    probabilities: Annotated[
        str | None, typer.Option(help="Your own probability columns, one per class in sorted class order.")
    ] = None,
    folds: Annotated[int, typer.Option(help="Cross-validation folds of the baseline.")] = 5,
    seed: SeedOption = 0,
    filter_by: Annotated[
        str, typer.Option(help="cleanlab's rule: low_self_confidence, prune_by_noise_rate, both…")
    ] = "low_self_confidence",
    json: JsonOption = False,
) -> None:
    """Find likely mislabelled rows (confident learning) and commit them as the review set NAME.review."""
    with workspace() as ws:
        report = find_label_issues(
            ws,
            ref,
            label=label,
            text=text,
            features=_split(features),
            probabilities=_split(probabilities),
            folds=folds,
            seed=seed,
            filter_by=filter_by,
        )
    r = report.result
    columns = [c for c in ("row_id", "given_label", "suggested_label", "score", text) if c]
    _show(
        report,
        json,
        f"{r['found']:,} likely label issues among {r['rows']:,} rows ({r['probabilities']})",
        _table(r["issues"], columns),
    )


@label_app.command("suggest")
def suggest_command(
    ref: RefArg,
    label: LabelOption = "label",
    text: TextOption = None,
    features: FeaturesOption = None,
    seed: SeedOption = 0,
    json: JsonOption = False,
) -> None:
    """Pre-annotate: a baseline trained on labelled rows suggests labels for unlabelled rows."""
    with workspace() as ws:
        report = suggest_labels(ws, ref, label=label, text=text, features=_split(features), seed=seed)
    r = report.result
    _show(
        report,
        json,
        f"{r['suggested']:,} suggestions from a baseline trained on {r['labelled']:,} labelled rows",
        _table(r["suggestions"], [c for c in ("row_id", "suggested_label", "score", text) if c]),
    )


@label_app.command("next-batch")
def next_batch_command(
    ref: RefArg,
    label: LabelOption = "label",
    size: Annotated[int, typer.Option(help="How many rows to pick.")] = 50,
    strategy: Annotated[
        str, typer.Option(help="least-confidence, margin, entropy, or diverse (uncertain and spread out).")
    ] = "entropy",
    text: TextOption = None,
    features: FeaturesOption = None,
    seed: SeedOption = 0,
    json: JsonOption = False,
) -> None:
    """The unlabelled rows worth labelling next (active learning), committed as NAME.batch."""
    with workspace() as ws:
        report = select_next_batch(
            ws,
            ref,
            label=label,
            size=size,
            strategy=strategy,
            text=text,
            features=_split(features),
            seed=seed,
        )
    r = report.result
    _show(
        report,
        json,
        f"{r['size']:,} of {r['pool']:,} unlabelled rows picked by {r['strategy']}",
        _table(r["batch"], [c for c in ("rank", "row_id", "uncertainty", "suggested_label", text) if c]),
    )


@label_app.command("weak")
def weak_command(
    ref: RefArg,
    functions: Annotated[
        Path,
        typer.Option("--functions", "--lf", help="Labelling functions: a .toml or .yaml rules file, or .py."),
    ],
    gold: Annotated[str | None, typer.Option(help="A column of known labels, to measure accuracy.")] = None,
    class_balance: Annotated[
        str | None, typer.Option(help="Fixed class shares, comma-separated, in label order (else estimated).")
    ] = None,
    labels: LabelsOption = None,
    json: JsonOption = False,
) -> None:
    """Weak supervision: labelling functions vote, a label model (EM) gives probabilistic labels."""
    balance = [float(v) for v in _split(class_balance) or []] or None
    with workspace() as ws:
        report = weak_label_dataset(
            ws, ref, functions=functions, gold=gold, class_balance=balance, labels=_split(labels)
        )
    r = report.result
    c = r["comparison"]
    compared = (
        f"; accuracy on {c['gold_rows']:,} gold rows: label model {_num(c['label_model_accuracy'])}, "
        f"majority vote {_num(c['majority_accuracy'])}"
        if c
        else ""
    )
    _show(
        report,
        json,
        f"{r['rows']:,} rows labelled by {len(r['analysis'])} functions{compared}",
        _table(
            r["analysis"],
            [
                k
                for k in ("function", "labels", "coverage", "overlaps", "conflicts", "accuracy")
                if k in r["analysis"][0]
            ],
            limit=50,
        ),
    )
