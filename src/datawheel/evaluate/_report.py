"""HTML reports of evaluations, slices, fairness and learning curves: offline, charts inline (SVG)."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from datawheel.evaluate._fairness import FairnessReport
from datawheel.evaluate._learning import LearningCurve
from datawheel.evaluate._metrics import Evaluation
from datawheel.evaluate._slices import SliceReport
from datawheel.report import Level, Report, bar_chart, fmt, heatmap, line_chart, table

_SHOWN_SLICES = 25


def evaluation_report(evaluation: Evaluation, *, title: str = "Evaluation") -> Report:
    """The metrics with their intervals, the confusion matrix, per-class scores and calibration.

    Example:
        >>> import polars as pl
        >>> from datawheel.evaluate import evaluate_predictions
        >>> frame = pl.DataFrame({"y": ["a", "b", "b"], "p": ["a", "b", "a"]})
        >>> page = evaluation_report(evaluate_predictions(frame, label="y", prediction="p")).render()
        >>> "Confusion matrix" in page and "<svg" in page
        True
    """
    report = Report(title, f"{evaluation.rows:,} rows, {evaluation.task}")
    report.summary([("info", f"{k}: {_with_interval(evaluation, k)}") for k in list(evaluation.metrics)[:6]])
    rows = [[k, fmt(v), *_interval_cells(evaluation, k)] for k, v in evaluation.metrics.items()]
    level = f"{evaluation.confidence:.0%}"
    report.section("Metrics", table(["metric", "value", f"{level} low", f"{level} high"], rows))
    if evaluation.confusion_matrix:
        names = [str(c) for c in evaluation.classes]
        counts = [[float(v) for v in r] for r in evaluation.confusion_matrix]
        chart = heatmap(names, names, counts, title="rows: true class, columns: predicted class")
        report.section("Confusion matrix", chart)
        per_class = [[str(c.label), c.support, c.precision, c.recall, c.f1] for c in evaluation.per_class]
        report.section("Per class", table(["class", "support", "precision", "recall", "F1"], per_class))
    if evaluation.reliability:
        report.section("Calibration", _reliability(evaluation))
    return report


def _with_interval(evaluation: Evaluation, metric: str) -> str:
    value = evaluation.metrics[metric]
    if metric not in evaluation.intervals:
        return fmt(value)
    low, high = evaluation.intervals[metric]
    return f"{fmt(value)} ({evaluation.confidence:.0%} interval {fmt(low)} to {fmt(high)})"


def _interval_cells(evaluation: Evaluation, metric: str) -> list[str]:
    low, high = evaluation.intervals.get(metric, (None, None))
    return [fmt(low), fmt(high)]


def _reliability(evaluation: Evaluation) -> str:
    bins = evaluation.reliability
    xs = [float(b["confidence"]) for b in bins]
    chart = line_chart(
        {
            "model": (xs, [float(b["accuracy"]) for b in bins]),
            "perfect calibration": ([0.0, 1.0], [0.0, 1.0]),
        },
        title="reliability: accuracy against confidence, per bin",
        x_label="mean confidence",
        y_label="accuracy",
    )
    rows = [
        [f"{fmt(b['low'])} to {fmt(b['high'])}", b["count"], b["confidence"], b["accuracy"]] for b in bins
    ]
    ece = evaluation.metrics.get("ece")
    note = f"<p>Expected calibration error: {fmt(ece)}</p>" if ece is not None else ""
    return note + chart + table(["confidence bin", "rows", "mean confidence", "accuracy"], rows)


def slices_report(found: SliceReport, *, title: str = "Slices") -> Report:
    """The significant slices first, a bar per slice of how much worse it is, and their worst rows."""
    report = Report(
        title, f"{found.rows:,} rows by {', '.join(found.by)}; overall {found.metric} {fmt(found.overall)}"
    )
    worse = found.significant
    items: list[tuple[Level, str]] = [
        ("warning", f"{s.name}: {found.metric} {fmt(s.value)} on {s.count:,} rows (q = {s.q_value:.2g})")
        for s in worse[:8]
    ]
    report.summary(items or [("ok", "no slice is significantly worse than the rest")])
    shown = found.slices[:_SHOWN_SLICES]
    report.section(
        "How much worse than overall",
        bar_chart(
            [s.name for s in shown],
            [s.gap for s in shown],
            title=f"gap in {found.metric} (positive: worse); red: significant",
            highlight={s.name for s in shown if s.significant and s.gap > 0},
        ),
    )
    rows = [[s.name, s.count, s.value, s.gap, s.p_value, s.q_value, s.significant] for s in shown]
    report.section(
        "Slices", table(["slice", "rows", found.metric, "gap", "p", "q (BH)", "significant"], rows)
    )
    examples = "".join(_examples(s.name, s.examples) for s in shown if s.examples)
    if examples:
        report.section("Worst examples per slice", examples)
    return report


def _examples(name: str, rows: tuple[dict[str, Any], ...]) -> str:
    columns = list(rows[0])
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    return f"<h3>{html.escape(name)}</h3>" + table(columns, cells)


def _cell(value: object) -> object:
    if isinstance(value, dict):
        return ", ".join(f"{k}={fmt(v)}" for k, v in value.items() if v is not None)
    return value


def fairness_report(found: FairnessReport, *, title: str = "Fairness") -> Report:
    """Rates per group, the gaps, and each group's share of each split and label."""
    report = Report(title, f"groups by {', '.join(found.group)}; positive class {found.positive!r}")
    dpd, eod = found.demographic_parity_difference, found.equalized_odds_difference
    items: list[tuple[Level, str]] = [
        ("warning" if dpd > 0.1 else "ok", f"demographic parity difference {fmt(dpd)}"),
        ("info", f"demographic parity ratio {fmt(found.demographic_parity_ratio)}"),
        ("warning" if eod > 0.1 else "ok", f"equalised odds difference {fmt(eod)}"),
    ]
    report.summary(items)
    names = [g.group for g in found.groups]
    charts = "".join(
        bar_chart(names, [getattr(g, rate) for g in found.groups], title=rate)
        for rate in ("selection_rate", "tpr", "fpr", "precision")
    )
    report.section("Rates per group", charts)
    rows = [
        [g.group, g.count, g.base_rate, g.selection_rate, g.tpr, g.fpr, g.precision] for g in found.groups
    ]
    report.section(
        "Groups", table(["group", "rows", "base rate", "selection rate", "TPR", "FPR", "precision"], rows)
    )
    for by, values in found.representation.items():
        shares = [
            [str(v), g, d["count"], d["share"]] for v, groups in values.items() for g, d in groups.items()
        ]
        report.section(f"Representation per {by}", table([by, "group", "rows", "share"], shares))
    return report


def learning_curve_report(curve: LearningCurve, *, title: str = "Learning curve") -> Report:
    """The curve, the fitted power law and its projections, per-class recall, and the advice."""
    report = Report(title, f"{curve.train_rows:,} training rows, {curve.dev_rows:,} dev rows")
    report.summary([("info", curve.recommendation)])
    sizes = sorted({p.rows for p in curve.points})
    mean = [float(np.mean([p.metric for p in curve.points if p.rows == n])) for n in sizes]
    series: dict[str, tuple[list[float], list[float]]] = {"measured": ([float(n) for n in sizes], mean)}
    if curve.fit:
        grid = np.geomspace(sizes[0], curve.train_rows * 10, 30)
        series["power-law fit"] = (grid.tolist(), [1 - curve.fit.error(float(n)) for n in grid])
    chart = line_chart(series, title=f"{curve.metric} on dev", x_label="training rows", y_label=curve.metric)
    report.section("Learning curve", chart)
    if curve.projections:
        rows = [[f"{p.multiple:g}x", p.rows, p.metric, p.low, p.high] for p in curve.projections]
        report.section("Predicted", table(["data", "rows", curve.metric, "90% low", "90% high"], rows))
    by_class = {
        c.label: ([float(n) for n in sizes], [_class_mean(curve, c.label, n) for n in sizes])
        for c in curve.classes
    }
    report.section("Recall per class", line_chart(by_class, x_label="training rows", y_label="recall"))
    rows = [[c.label, c.recall, c.recall_10x, c.label_issues] for c in curve.classes]
    report.section("Classes", table(["class", "recall", "recall at 10x", "label issues"], rows))
    return report


def _class_mean(curve: LearningCurve, name: str, rows: int) -> float:
    found = [p.recall[name] for p in curve.points if p.rows == rows and name in p.recall]
    return float(np.mean(found)) if found else float("nan")
