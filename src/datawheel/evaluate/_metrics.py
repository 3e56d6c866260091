"""Evaluation of fixed predictions: the metrics chosen, per class, calibration, bootstrap intervals.

Classification: accuracy; precision, recall and F1 per class and as macro, micro and weighted
averages; ROC-AUC (binary, or one-vs-rest macro) and PR-AUC (average precision) when scores
are given; log loss; expected calibration error with its reliability table; the confusion
matrix. Regression (a numeric label): MAE, RMSE, R².

Bootstrap intervals: the count metrics are read from confusion matrices, so a resample of the
rows is a multinomial draw of the confusion cells (exactly the same distribution), drawn for
all resamples at once. Score metrics and regression metrics resample rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from datawheel.errors import EvaluationError
from datawheel.evaluate._scores import (
    Floats,
    Ints,
    average_precision,
    confusion_counts,
    count_metrics,
    log_loss,
    regression_scores,
    reliability,
    roc_auc,
)

Task = Literal["classification", "regression"]
COUNT_METRICS = (
    "accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_micro",
    "recall_micro",
    "f1_micro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
)
SCORE_METRICS = ("roc_auc", "pr_auc", "log_loss", "ece")
CLASSIFICATION_METRICS = COUNT_METRICS + SCORE_METRICS
REGRESSION_METRICS = ("mae", "rmse", "r2")
DEFAULT_METRICS = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "f1_micro", *SCORE_METRICS)
_MAX_RESAMPLED_CELLS = 50_000_000


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall, F1 and support (rows whose true label is the class) of one class."""

    label: Any
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    """The metrics of one set of predictions, with per-class scores and intervals.

    ``intervals`` maps a metric to its bootstrap interval ``(low, high)`` at ``confidence``.
    ``reliability`` lists the calibration bins (``low``, ``high``, ``count``, ``confidence``,
    ``accuracy``) when scores were given.
    """

    task: Task
    rows: int
    metrics: dict[str, float | None]
    classes: tuple[Any, ...] = ()
    per_class: tuple[ClassScores, ...] = ()
    confusion_matrix: tuple[tuple[int, ...], ...] = ()
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    confidence: float = 0.95
    resamples: int = 0
    reliability: tuple[dict[str, float | int], ...] = ()
    skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape: each metric at the top level, then the details."""
        return {
            **self.metrics,
            "task": self.task,
            "rows": self.rows,
            "skipped": self.skipped,
            "classes": list(self.classes),
            "confusion_matrix": [list(r) for r in self.confusion_matrix],
            "per_class": {
                str(c.label): {"precision": c.precision, "recall": c.recall, "f1": c.f1, "support": c.support}
                for c in self.per_class
            },
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "confidence": self.confidence,
            "resamples": self.resamples,
            "reliability": list(self.reliability),
        }


def evaluate_predictions(
    frame: pl.DataFrame,
    *,
    label: str,
    prediction: str,
    score: str | None = None,
    metrics: Sequence[str] | None = None,
    task: Task | None = None,
    positive: Any = None,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    bins: int = 10,
    seed: int = 0,
) -> Evaluation:
    """Evaluate the predictions in ``frame`` against its labels.

    Args:
        frame: One row per example, with the true label and the prediction.
        label: The column of true labels.
        prediction: The column of predictions.
        score: Optional scores: a float column (the probability of the positive class, for two
            classes) or a list column (one probability per class, classes in sorted order).
        metrics: The metrics to report (default: the usual ones for the task); the confusion
            matrix and per-class scores are always given for classification.
        task: ``classification`` or ``regression`` (default: regression when the label is a
            float column).
        positive: The positive class of a float score (default: the greater of the two classes).
        bootstrap: How many resamples for the confidence intervals (0: none).
        confidence: The level of the intervals.
        bins: Calibration bins (equal width over [0, 1]).
        seed: Seed of the resampling.

    Returns:
        An :class:`Evaluation`. Rows whose label or prediction is null are left out (``skipped``).

    Example:
        >>> frame = pl.DataFrame({"y": ["a", "a", "b", "b"], "p": ["a", "b", "b", "b"]})
        >>> result = evaluate_predictions(frame, label="y", prediction="p", bootstrap=0)
        >>> result.metrics["accuracy"], result.confusion_matrix
        (0.75, ((1, 1), (0, 2)))
    """
    for column in (label, prediction, score):
        if column is not None and column not in frame.columns:
            raise EvaluationError(
                f"no column '{column}' (columns: {', '.join(frame.columns)})", hint="name an existing column"
            )
    rows = frame.filter(pl.col(label).is_not_null() & pl.col(prediction).is_not_null())
    if rows.height == 0:
        raise EvaluationError(
            f"no row has both '{label}' and '{prediction}'", hint="check the label and prediction columns"
        )
    chosen_task = task or ("regression" if rows.schema[label].is_float() else "classification")
    skipped = frame.height - rows.height
    if chosen_task == "regression":
        return _regression(rows, label, prediction, metrics, bootstrap, confidence, seed, skipped)
    return _classification(
        rows,
        label=label,
        prediction=prediction,
        score=score,
        wanted=_wanted(metrics, CLASSIFICATION_METRICS, DEFAULT_METRICS),
        positive=positive,
        resampling=(bootstrap, confidence, seed),
        bins=bins,
        skipped=skipped,
    )


def _wanted(metrics: Sequence[str] | None, known: Sequence[str], default: Sequence[str]) -> list[str]:
    chosen = list(metrics) if metrics else list(default)
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise EvaluationError(f"unknown metric '{unknown[0]}'", hint=f"choose from {', '.join(known)}")
    return chosen


def class_codes(frame: pl.DataFrame, label: str, prediction: str) -> tuple[tuple[Any, ...], Ints, Ints]:
    """The sorted classes seen in labels or predictions, and both columns as codes into them."""
    values = pl.concat([frame[label], frame[prediction].cast(frame.schema[label])]).unique().sort()
    classes = tuple(values.to_list())
    codes = {v: i for i, v in enumerate(classes)}
    true = frame[label].replace_strict(codes, return_dtype=pl.Int64).to_numpy()
    pred = frame[prediction].cast(frame.schema[label]).replace_strict(codes, return_dtype=pl.Int64).to_numpy()
    return classes, true, pred


def _classification(
    rows: pl.DataFrame,
    *,
    label: str,
    prediction: str,
    score: str | None,
    wanted: list[str],
    positive: Any,
    resampling: tuple[int, float, int],
    bins: int,
    skipped: int,
) -> Evaluation:
    try:
        classes, true, pred = class_codes(rows, label, prediction)
    except pl.exceptions.InvalidOperationError as exc:
        raise EvaluationError(
            f"predictions in '{prediction}' are not of the type of the labels in '{label}'",
            hint="predict the same kind of values as the labels",
        ) from exc
    cm = confusion_counts(true, pred, len(classes))
    counted = count_metrics(cm)
    values: dict[str, float | None] = {m: float(counted[m]) for m in wanted if m in COUNT_METRICS}
    proba = probabilities(rows, score, classes, positive) if score else None
    table: list[dict[str, float | int]] = []
    if proba is not None:
        score_values, table = _score_metrics(true, proba, [m for m in wanted if m in SCORE_METRICS], bins)
        values.update(score_values)
    bootstrap, confidence, seed = resampling
    intervals = _count_intervals(cm, [m for m in wanted if m in COUNT_METRICS], bootstrap, confidence, seed)
    if proba is not None:
        intervals.update(_score_intervals(true, proba, wanted, resampling, bins))
    per_class = tuple(
        ClassScores(
            c,
            float(counted["precision"][i]),
            float(counted["recall"][i]),
            float(counted["f1"][i]),
            int(counted["support"][i]),
        )
        for i, c in enumerate(classes)
    )
    return Evaluation(
        "classification",
        rows.height,
        {m: values.get(m) for m in wanted},
        classes,
        per_class,
        tuple(tuple(int(x) for x in r) for r in cm),
        intervals,
        confidence,
        bootstrap,
        tuple(table),
        skipped,
    )


def probabilities(frame: pl.DataFrame, score: str, classes: tuple[Any, ...], positive: Any) -> Floats:
    """Scores as a rows-by-classes probability matrix (columns in the order of ``classes``)."""
    column = frame[score]
    if isinstance(column.dtype, pl.List | pl.Array):
        matrix = np.asarray(column.to_list(), dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != len(classes):
            raise EvaluationError(
                f"'{score}' should hold {len(classes)} probabilities a row, one per class {classes}",
                hint="give one probability per class, classes in sorted order",
            )
        return matrix
    if not column.dtype.is_numeric() or len(classes) != 2:
        raise EvaluationError(
            f"a numeric score in '{score}' needs exactly two classes, not {len(classes)}",
            hint="for more classes give a list column of probabilities",
        )
    chosen = classes[1] if positive is None else {str(c): c for c in classes}.get(str(positive), positive)
    if chosen not in classes:
        raise EvaluationError(f"positive class {chosen!r} is not one of {classes}", hint="name a class")
    p = column.cast(pl.Float64).fill_null(0.5).to_numpy()
    return np.column_stack([1 - p, p]) if chosen == classes[1] else np.column_stack([p, 1 - p])


def _score_metrics(
    true: Ints, proba: Floats, wanted: list[str], bins: int
) -> tuple[dict[str, float | None], list[dict[str, float | int]]]:
    values: dict[str, float | None] = {}
    k = proba.shape[1]
    if "roc_auc" in wanted:
        values["roc_auc"] = _per_class_mean(roc_auc, true, proba, k)
    if "pr_auc" in wanted:
        values["pr_auc"] = _per_class_mean(average_precision, true, proba, k)
    if "log_loss" in wanted:
        values["log_loss"] = log_loss(true, proba)
    ece, table = reliability(true, proba, bins=bins)
    if "ece" in wanted:
        values["ece"] = ece
    return values, table


def _per_class_mean(fn: Any, true: Ints, proba: Floats, k: int) -> float | None:
    """Binary: the metric of the second class. More classes: the mean one-vs-rest over classes seen."""
    if k == 2:
        value: float | None = fn(true == 1, proba[:, 1])
        return value
    found = [fn(true == c, proba[:, c]) for c in range(k) if (true == c).any()]
    kept = [v for v in found if v is not None]
    return float(np.mean(kept)) if kept else None


def _interval(samples: Floats, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def _count_intervals(
    cm: Ints, wanted: list[str], bootstrap: int, confidence: float, seed: int
) -> dict[str, tuple[float, float]]:
    if bootstrap <= 0 or not wanted:
        return {}
    n = int(cm.sum())
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, cm.ravel() / n, size=bootstrap).reshape(bootstrap, *cm.shape)
    sampled = count_metrics(draws)
    return {m: _interval(sampled[m], confidence) for m in wanted}


def _score_intervals(
    true: Ints, proba: Floats, wanted: list[str], resampling: tuple[int, float, int], bins: int
) -> dict[str, tuple[float, float]]:
    bootstrap, confidence, seed = resampling
    chosen = [m for m in wanted if m in SCORE_METRICS]
    times = min(bootstrap, max(50, _MAX_RESAMPLED_CELLS // max(true.size, 1)))
    if bootstrap <= 0 or not chosen:
        return {}
    rng = np.random.default_rng(seed + 1)
    samples: dict[str, list[float]] = {m: [] for m in chosen}
    for _ in range(times):
        pick = rng.integers(0, true.size, true.size)
        found, _table = _score_metrics(true[pick], proba[pick], chosen, bins)
        for m in chosen:
            samples[m].append(np.nan if found[m] is None else float(found[m]))  # type: ignore[arg-type]
    return {m: _interval(np.asarray(v), confidence) for m, v in samples.items() if not np.isnan(v).all()}


def _regression(
    rows: pl.DataFrame,
    label: str,
    prediction: str,
    metrics: Sequence[str] | None,
    bootstrap: int,
    confidence: float,
    seed: int,
    skipped: int,
) -> Evaluation:
    wanted = _wanted(metrics, REGRESSION_METRICS, REGRESSION_METRICS)
    try:
        truth = rows[label].cast(pl.Float64).to_numpy()
        guess = rows[prediction].cast(pl.Float64).to_numpy()
    except pl.exceptions.InvalidOperationError as exc:
        raise EvaluationError(
            f"'{label}' and '{prediction}' must be numbers for regression", hint="pick numeric columns"
        ) from exc
    scores = regression_scores(truth, guess)
    intervals: dict[str, tuple[float, float]] = {}
    if bootstrap > 0:
        rng = np.random.default_rng(seed)
        times = min(bootstrap, max(50, _MAX_RESAMPLED_CELLS // max(truth.size, 1)))
        picks = (rng.integers(0, truth.size, truth.size) for _ in range(times))
        drawn = [regression_scores(truth[p], guess[p]) for p in picks]
        intervals = {m: _interval(np.array([d[m] for d in drawn]), confidence) for m in wanted}
    values: dict[str, float | None] = {m: scores[m] for m in wanted}
    return Evaluation(
        "regression",
        rows.height,
        values,
        intervals=intervals,
        confidence=confidence,
        resamples=bootstrap,
        skipped=skipped,
    )
