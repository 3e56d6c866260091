"""Commands of the evaluate capability: baseline, evaluate, slices, fairness, plan learning-curve.

``evaluate``, ``slices`` and ``fairness`` take a file (CSV, TSV, Parquet, JSON lines: nothing
is saved but ``--html``) or a ref (the result and its HTML report are saved as artifacts, with
lineage).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from datawheel.cli._app import app, workspace
from datawheel.cli._output import console, print_json
from datawheel.evaluate import (
    Evaluation,
    FairnessReport,
    LearningCurve,
    SliceReport,
    evaluate_predictions,
    evaluation_report,
    fairness_metrics,
    fairness_report,
    find_slices,
    load_rules,
    slices_report,
)
from datawheel.ingest import read_frame
from datawheel.pipeline._evaluate import (
    Saved,
    evaluate_dataset,
    fairness_dataset,
    plan_learning_curve,
    slice_dataset,
    train_baseline,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
SourceArg = Annotated[
    str, typer.Argument(help="A file of predictions, or a version: NAME, NAME@N, NAME@TAG.")
]
RefArg = Annotated[str, typer.Argument(help="A split version: NAME, NAME@N or NAME@TAG.")]
LabelOption = Annotated[str, typer.Option("--label", help="The column of true labels.")]
PredictionOption = Annotated[str, typer.Option("--prediction", help="The column of predictions.")]
ScoreOption = Annotated[
    str | None,
    typer.Option(help="Scores: the positive class's probability, or a list of probabilities per class."),
]
SplitOption = Annotated[str | None, typer.Option("--split", help="Only the rows of this split (e.g. test).")]
SplitColumnOption = Annotated[str, typer.Option(help="The column naming each row's split.")]
HtmlOption = Annotated[Path | None, typer.Option("--html", help="Also write the HTML report to this file.")]
TextOption = Annotated[
    str | None, typer.Option("--text", help="The text column (TF-IDF + logistic regression).")
]
FeaturesOption = Annotated[
    str | None, typer.Option("--features", help="Feature columns, comma-separated (gradient boosting).")
]
ImageOption = Annotated[
    str | None, typer.Option("--image", help="The image column (pixels + logistic regression).")
]

plan_app = typer.Typer(add_completion=False, rich_markup_mode=None, no_args_is_help=True)
app.add_typer(plan_app, name="plan")


@plan_app.callback()
def plan_group(json: JsonOption = False) -> None:
    """Plan what to collect next: learning curves (`--json` may be given here or to the command)."""


def _columns(value: str | None) -> list[str]:
    return [c.strip() for c in (value or "").split(",") if c.strip()]


def _file(source: str) -> Path | None:
    path = Path(source)
    return path if path.is_file() else None


def _saved_line(saved: Saved | None) -> str:
    if saved is None:
        return ""
    where = [
        x
        for x in (
            saved.artifact.name if saved.artifact else None,
            saved.report.name if saved.report else None,
        )
        if x
    ]
    return f"saved {', '.join(where)}" + (f"; report written to {saved.html}" if saved.html else "")


def _show(result: dict[str, Any], saved: Saved | None, json: bool, lines: list[str]) -> None:
    if json:
        print_json(saved.to_dict() if saved else result)
        return
    for line in [*lines, _saved_line(saved)]:
        if line:
            console.print(line, markup=False)


@app.command()
def baseline(
    ref: RefArg,
    label: LabelOption,
    text: TextOption = None,
    features: FeaturesOption = None,
    image: ImageOption = None,
    rules: Annotated[
        Path | None, typer.Option("--rules", help="A rules file (TOML): keywords, regex, thresholds.")
    ] = None,
    split_column: SplitColumnOption = "split",
    train: Annotated[str, typer.Option(help="The split value of the training rows.")] = "train",
    name: Annotated[str | None, typer.Option(help="The model's name (default: DATASET-baseline).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the model.")] = 0,
    json: JsonOption = False,
) -> None:
    """Train a baseline on the train split; save the model (with metrics) and the predictions."""
    rule_set = load_rules(rules, column=text) if rules else None
    with workspace() as ws:
        report = train_baseline(
            ws,
            ref,
            label=label,
            text=None if rule_set else text,
            features=_columns(features) or None,
            image=image,
            rules=rule_set,
            split=split_column,
            train=train,
            name=name,
            seed=seed,
        )
    if json:
        print_json(report.to_dict())
        return
    console.print(
        f"baseline: {report.model.name} ({report.kind}) trained on {report.train_rows:,} rows; "
        f"predictions in {report.predictions.ref}",
        markup=False,
    )
    for split, values in report.metrics.items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in values.items() if isinstance(v, float))
        console.print(f"  {split}: {shown}", markup=False)


def _evaluation_lines(result: Evaluation) -> list[str]:
    lines = [f"{result.rows:,} rows ({result.task})"]
    for name, value in result.metrics.items():
        interval = result.intervals.get(name)
        extra = f"  [{interval[0]:.4f}, {interval[1]:.4f}]" if interval else ""
        lines.append(f"  {name:<18} {'-' if value is None else f'{value:.4f}'}{extra}")
    if result.confusion_matrix:
        lines.append(
            "confusion matrix (rows: true, columns: predicted) " + ", ".join(map(str, result.classes))
        )
        lines.extend("  " + " ".join(f"{v:>7,}" for v in row) for row in result.confusion_matrix)
    return lines


@app.command()
def evaluate(
    source: SourceArg,
    label: LabelOption,
    prediction: PredictionOption,
    score: ScoreOption = None,
    metrics: Annotated[
        str | None, typer.Option(help="Metrics, comma-separated (accuracy, f1_macro, roc_auc, ece, mae…).")
    ] = None,
    split: SplitOption = None,
    split_column: SplitColumnOption = "split",
    bootstrap: Annotated[int, typer.Option(help="Resamples for the confidence intervals (0: none).")] = 1000,
    html: HtmlOption = None,
    json: JsonOption = False,
) -> None:
    """Metrics of predictions against labels, with bootstrap intervals and a confusion matrix."""
    chosen = _columns(metrics) or None
    path = _file(source)
    saved: Saved | None = None
    if path:
        frame = _only_split(read_frame(path), split_column, split)
        result = evaluate_predictions(
            frame, label=label, prediction=prediction, score=score, metrics=chosen, bootstrap=bootstrap
        )
        _write(html, lambda: evaluation_report(result, title=f"Evaluation of {path.name}").render())
    else:
        with workspace() as ws:
            result, saved = evaluate_dataset(
                ws,
                source,
                label=label,
                prediction=prediction,
                score=score,
                metrics=chosen,
                split=split_column,
                split_value=split,
                html=html,
                bootstrap=bootstrap,
            )
    _show(result.to_dict(), saved, json, _evaluation_lines(result))


def _only_split(frame: pl.DataFrame, column: str, value: str | None) -> pl.DataFrame:
    if value is None:
        return frame
    if column not in frame.columns:
        raise typer.BadParameter(f"the file has no column '{column}'", param_hint="--split-column")
    return frame.filter(pl.col(column).cast(pl.String) == value)


def _write(html: Path | None, page: Any) -> None:
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(page(), encoding="utf-8")


def _slice_lines(result: SliceReport, top: int) -> list[str]:
    lines = [
        f"{result.rows:,} rows; overall {result.metric} {result.overall:.4f}; "
        f"{len(result.significant)} slices significantly worse (BH q <= {result.alpha})"
    ]
    for s in result.slices[:top]:
        mark = "*" if s.significant and s.gap > 0 else " "
        lines.append(
            f" {mark} {s.name:<40} rows {s.count:>9,}  {result.metric} {s.value:.4f}  gap {s.gap:+.4f}  "
            f"q {s.q_value:.2g}"
        )
    return lines


@app.command()
def slices(
    source: SourceArg,
    label: LabelOption,
    prediction: PredictionOption,
    by: Annotated[str, typer.Option("--by", help="Metadata columns to slice by, comma-separated.")],
    score: ScoreOption = None,
    split: SplitOption = None,
    split_column: SplitColumnOption = "split",
    alpha: Annotated[float, typer.Option(help="False discovery rate (Benjamini-Hochberg).")] = 0.05,
    min_count: Annotated[int, typer.Option(help="Leave out slices with fewer rows.")] = 1,
    top: Annotated[int, typer.Option(help="How many slices to print.")] = 15,
    html: HtmlOption = None,
    json: JsonOption = False,
) -> None:
    """Where the model fails: the metric per value (and pair of values) of metadata columns, worst first."""
    columns = _columns(by)
    path = _file(source)
    saved: Saved | None = None
    if path:
        frame = _only_split(read_frame(path), split_column, split)
        result = find_slices(
            frame,
            label=label,
            prediction=prediction,
            by=columns,
            score=score,
            alpha=alpha,
            min_count=min_count,
        )
        _write(html, lambda: slices_report(result, title=f"Slices of {path.name}").render())
    else:
        with workspace() as ws:
            result, saved = slice_dataset(
                ws,
                source,
                label=label,
                prediction=prediction,
                by=columns,
                score=score,
                split=split_column,
                split_value=split,
                html=html,
                alpha=alpha,
                min_count=min_count,
            )
    _show(result.to_dict(), saved, json, _slice_lines(result, top))


def _fairness_lines(result: FairnessReport) -> list[str]:
    lines = [
        f"demographic parity difference {result.demographic_parity_difference:.4f} "
        f"(ratio {result.demographic_parity_ratio:.4f}); "
        f"equalised odds difference {result.equalized_odds_difference:.4f}"
    ]
    for g in result.groups:
        lines.append(
            f"  {g.group:<24} rows {g.count:>9,}  selection {g.selection_rate:.4f}  TPR {g.tpr:.4f}  "
            f"FPR {g.fpr:.4f}  precision {g.precision:.4f}  base rate {g.base_rate:.4f}"
        )
    return lines


@app.command()
def fairness(
    source: SourceArg,
    label: LabelOption,
    prediction: PredictionOption,
    group: Annotated[str, typer.Option("--group", help="The sensitive column (several: comma-separated).")],
    positive: Annotated[
        str | None, typer.Option(help="The positive class (default: 1, or the greater).")
    ] = None,
    split: SplitOption = None,
    split_column: SplitColumnOption = "split",
    max_difference: Annotated[
        float | None,
        typer.Option(help="Exit 1 if the parity or equalised odds difference is above this."),
    ] = None,
    html: HtmlOption = None,
    json: JsonOption = False,
) -> None:
    """Selection rate, TPR, FPR, precision per group; parity gaps; each group's share per split and label."""
    groups = _columns(group)
    path = _file(source)
    saved: Saved | None = None
    if path:
        frame = read_frame(path)
        chosen = _only_split(frame, split_column, split)
        result = fairness_metrics(
            chosen, label=label, prediction=prediction, group=groups, positive=positive, split=split_column
        )
        if split is not None and split_column in frame.columns:
            everything = fairness_metrics(
                frame, label=label, prediction=prediction, group=groups, positive=positive, split=split_column
            )
            result = FairnessReport(
                result.group, result.positive, result.rows, result.groups, everything.representation
            )
        _write(html, lambda: fairness_report(result, title=f"Fairness of {path.name}").render())
    else:
        with workspace() as ws:
            result, saved = fairness_dataset(
                ws,
                source,
                label=label,
                prediction=prediction,
                group=groups,
                positive=positive,
                split=split_column,
                split_value=split,
                html=html,
            )
    _show(result.to_dict(), saved, json, _fairness_lines(result))
    worst = max(result.demographic_parity_difference, result.equalized_odds_difference)
    if max_difference is not None and worst > max_difference:
        raise typer.Exit(1)


def _curve_lines(result: LearningCurve) -> list[str]:
    lines = [f"{result.metric} now {result.current:.4f} on {result.dev_rows:,} dev rows"]
    lines.extend(
        f"  {p.multiple:g}x data ({p.rows:,} rows): {p.metric:.4f}  [{p.low:.4f}, {p.high:.4f}]"
        for p in result.projections
    )
    lines.append(result.recommendation)
    return lines


@plan_app.command("learning-curve")
def learning_curve_command(
    ctx: typer.Context,
    ref: RefArg,
    label: LabelOption,
    text: TextOption = None,
    features: FeaturesOption = None,
    image: ImageOption = None,
    split_column: SplitColumnOption = "split",
    train: Annotated[str, typer.Option(help="The split value of the training rows.")] = "train",
    dev: Annotated[str, typer.Option(help="The split value the metric is measured on.")] = "dev",
    fractions: Annotated[
        str | None, typer.Option(help="Shares of the training rows, comma-separated (default 0.1…1).")
    ] = None,
    seeds: Annotated[int, typer.Option(help="Models per share (seeds 0…N-1).")] = 3,
    metric: Annotated[str, typer.Option(help="accuracy or f1_macro.")] = "accuracy",
    issues: Annotated[
        str | None, typer.Option(help="A boolean column marking rows whose label is suspect.")
    ] = None,
    html: HtmlOption = None,
    json: JsonOption = False,
) -> None:
    """How much more data would buy: a learning curve, a power-law fit, 2x/5x/10x predictions, advice."""
    shares = [float(f) for f in _columns(fractions)] or None
    with workspace() as ws:
        result, saved = plan_learning_curve(
            ws,
            ref,
            label=label,
            text=text,
            features=_columns(features) or None,
            image=image,
            split=split_column,
            train=train,
            dev=dev,
            fractions=shares,
            seeds=tuple(range(seeds)),
            metric=metric,
            issues=issues,
            html=html,
        )
    as_json = json or bool(ctx.parent is not None and ctx.parent.params.get("json"))
    _show(result.to_dict(), saved, as_json, _curve_lines(result))
