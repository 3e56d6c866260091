"""How much more data: a learning curve, a power-law fit, and what 2x, 5x, 10x the data should buy.

The baseline is trained on 10%…100% of the training split (a stratified sample of each class,
for several seeds) and scored on the dev split. The error ``1 - metric`` is fitted with
``err(n) = a * n^(-b) + c`` (``c``: the error no amount of this data removes) by least squares
(``scipy.optimize.curve_fit``); the interval of a prediction comes from drawing the parameters
from their fitted covariance. The same is done per class with recall, which names the class
that would gain most from more data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from datawheel.errors import EvaluationError
from datawheel.evaluate._scores import confusion_counts, count_metrics
from datawheel.models import fit_baseline

DEFAULT_FRACTIONS = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
MULTIPLES = (2.0, 5.0, 10.0)
_RANK = "__rank"


@dataclass(frozen=True)
class PowerLaw:
    """``err(n) = a * n^(-b) + c``, with the standard errors of the parameters (NaN if unknown)."""

    a: float
    b: float
    c: float
    a_err: float
    b_err: float
    c_err: float
    covariance: tuple[tuple[float, ...], ...] = ()

    def error(self, n: float) -> float:
        """The error the law predicts at ``n`` training rows."""
        return float(self.a * n ** (-self.b) + self.c)

    def interval(
        self, n: float, *, level: float = 0.9, draws: int = 2000, seed: int = 0
    ) -> tuple[float, float]:
        """An interval of the error at ``n``, drawing the parameters from their covariance."""
        cov = np.asarray(self.covariance, dtype=np.float64)
        if cov.shape != (3, 3) or not np.isfinite(cov).all():
            return (math.nan, math.nan)
        rng = np.random.default_rng(seed)
        params = rng.multivariate_normal([self.a, self.b, self.c], cov, size=draws, check_valid="ignore")
        a, b, c = np.maximum(params[:, 0], 0), np.maximum(params[:, 1], 0), params[:, 2]
        values = np.clip(a * n ** (-b) + c, 0.0, 1.0)
        tail = (1 - level) / 2 * 100
        low, high = np.percentile(values, [tail, 100 - tail])
        return float(low), float(high)

    def to_dict(self) -> dict[str, float]:
        """The parameters and their standard errors."""
        return {
            "a": self.a,
            "b": self.b,
            "c": self.c,
            "a_err": self.a_err,
            "b_err": self.b_err,
            "c_err": self.c_err,
        }


def fit_power_law(
    sizes: Sequence[float] | np.ndarray[Any, Any], errors: Sequence[float] | np.ndarray[Any, Any]
) -> PowerLaw:
    """Fit ``err(n) = a * n^(-b) + c`` to errors measured at training sizes (repeats allowed).

    Example:
        >>> n = np.array([100, 200, 400, 800, 1600, 3200] * 2, dtype=float)
        >>> law = fit_power_law(n, 2.0 * n**-0.5 + 0.05)
        >>> round(law.b, 3), round(law.c, 3)
        (0.5, 0.05)
    """
    from scipy.optimize import curve_fit

    n = np.asarray(sizes, dtype=np.float64)
    err = np.asarray(errors, dtype=np.float64)
    if n.size < 3 or np.unique(n).size < 3:
        raise EvaluationError(
            "a power law needs errors at three training sizes or more", hint="use more fractions"
        )
    scale = float(n.max())

    def law(x: Any, a: float, b: float, c: float) -> Any:
        return a * x ** (-b) + c

    start = [max(float(err.max() - err.min()), 1e-3), 0.5, max(float(err.min()) * 0.5, 0.0)]
    try:
        params, cov = curve_fit(
            law, n / scale, err, p0=start, bounds=([0.0, 0.0, 0.0], [np.inf, 3.0, 1.0]), maxfev=20000
        )
    except (RuntimeError, ValueError) as exc:
        raise EvaluationError(
            "the power law did not fit the learning curve", hint="add seeds or data"
        ) from exc
    a_scaled, b, c = (float(v) for v in params)
    # a * (n / scale)^-b == (a * scale^b) * n^-b: carry the covariance through the same change
    factor = scale**b
    jac = np.array([[factor, a_scaled * factor * math.log(scale), 0.0], [0, 1, 0], [0, 0, 1]])
    full = jac @ np.asarray(cov, dtype=np.float64) @ jac.T
    errs = np.sqrt(np.diag(full)) if np.isfinite(full).all() else np.full(3, math.nan)
    a_err, b_err, c_err = (float(e) for e in errs)
    covariance = tuple(tuple(float(v) for v in r) for r in full)
    return PowerLaw(a_scaled * factor, b, c, a_err, b_err, c_err, covariance)


@dataclass(frozen=True)
class CurvePoint:
    """One model of the curve: trained on ``rows`` rows (``fraction`` of the split) with ``seed``."""

    fraction: float
    rows: int
    seed: int
    metric: float
    recall: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Projection:
    """The metric predicted at ``multiple`` times the training rows, with an interval."""

    multiple: float
    rows: int
    metric: float
    low: float
    high: float


@dataclass(frozen=True)
class ClassCurve:
    """A class's recall now, and predicted at 10x the data."""

    label: str
    recall: float
    recall_10x: float | None
    label_issues: int = 0

    @property
    def gain(self) -> float:
        """Recall the class is predicted to gain with 10x the data."""
        return 0.0 if self.recall_10x is None else self.recall_10x - self.recall


@dataclass(frozen=True)
class LearningCurve:
    """The curve, its fit, the projections, and the advice in plain words."""

    metric: str
    train_rows: int
    dev_rows: int
    points: tuple[CurvePoint, ...]
    fit: PowerLaw | None
    projections: tuple[Projection, ...]
    classes: tuple[ClassCurve, ...]
    needs_data: str | None
    fix_labels_first: str | None
    recommendation: str

    @property
    def current(self) -> float:
        """The mean metric of the models trained on all the training rows."""
        full = [p.metric for p in self.points if p.fraction == max(q.fraction for q in self.points)]
        return float(np.mean(full))

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: the points, the fit, the projections, the advice."""
        return {
            "metric": self.metric,
            "current": self.current,
            "train_rows": self.train_rows,
            "dev_rows": self.dev_rows,
            "points": [p.__dict__ for p in self.points],
            "fit": self.fit.to_dict() if self.fit else None,
            "projections": [p.__dict__ for p in self.projections],
            "classes": {
                c.label: {"recall": c.recall, "recall_10x": c.recall_10x, "label_issues": c.label_issues}
                for c in self.classes
            },
            "needs_data": self.needs_data,
            "fix_labels_first": self.fix_labels_first,
            "recommendation": self.recommendation,
        }


def learning_curve(
    frame: pl.DataFrame,
    *,
    label: str,
    text: str | None = None,
    features: Sequence[str] | None = None,
    image: str | None = None,
    split: str = "split",
    train: str = "train",
    dev: str = "dev",
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seeds: Sequence[int] = (0, 1, 2),
    metric: str = "accuracy",
    label_issues: Mapping[str, int] | None = None,
) -> LearningCurve:
    """Train the baseline on growing shares of the training split and predict what more data buys.

    Args:
        frame: Rows with a ``split`` column (``train`` and ``dev`` rows are used).
        label: The label column.
        text: The text column (TF-IDF + logistic regression), or
        features: feature columns (gradient boosting), or
        image: an image column (pixels + logistic regression).
        split: The column naming each row's split; ``train`` and ``dev`` name the values used.
        train: The split value of the training rows.
        dev: The split value of the rows the metric is measured on.
        fractions: Shares of the training rows to train on.
        seeds: One model per fraction and seed.
        metric: ``accuracy`` or ``f1_macro``.
        label_issues: Suspected label errors per class (from ``datawheel label issues``): the
            advice then says which class's labels to fix first.

    Example:
        >>> frame = pl.DataFrame({
        ...     "text": [f"win cash {i}" if i % 2 else f"see you at {i}" for i in range(200)],
        ...     "y": ["spam" if i % 2 else "ham" for i in range(200)],
        ...     "split": ["train"] * 150 + ["dev"] * 50,
        ... })
        >>> curve = learning_curve(frame, label="y", text="text", seeds=(0,))
        >>> curve.current
        1.0
    """
    train_rows, dev_rows = _splits(frame, label, split, train, dev)
    if metric not in ("accuracy", "f1_macro"):
        raise EvaluationError(f"unknown metric '{metric}'", hint="use accuracy or f1_macro")
    inputs = {"text": text, "features": features, "image": image}
    classes = tuple(sorted(str(v) for v in frame[label].drop_nulls().unique().to_list()))
    points = [
        _point(train_rows, dev_rows, label, inputs, fraction, seed, metric, classes)
        for fraction in sorted(set(fractions))
        for seed in seeds
    ]
    return _summarise(points, metric, train_rows.height, dev_rows.height, classes, dict(label_issues or {}))


def _splits(
    frame: pl.DataFrame, label: str, split: str, train: str, dev: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    for column in (label, split):
        if column not in frame.columns:
            raise EvaluationError(
                f"no column '{column}' (columns: {', '.join(frame.columns)})",
                hint="split the dataset first (`datawheel split`) and name its label column",
            )
    labelled = frame.filter(pl.col(label).is_not_null())
    train_rows = labelled.filter(pl.col(split) == train)
    dev_rows = labelled.filter(pl.col(split) == dev)
    if train_rows.height < 10 or dev_rows.height == 0:
        raise EvaluationError(
            f"the learning curve needs training rows ('{split}' = '{train}', {train_rows.height} found) "
            f"and dev rows ('{split}' = '{dev}', {dev_rows.height} found)",
            hint="split the dataset into train and dev first",
        )
    return train_rows, dev_rows


def stratified_share(frame: pl.DataFrame, label: str, fraction: float, seed: int) -> pl.DataFrame:
    """``fraction`` of the rows of each class (at least one), chosen at random with ``seed``."""
    rank = pl.int_range(pl.len()).shuffle(seed=seed).over(label)
    keep = pl.max_horizontal(pl.lit(1), (pl.len().over(label) * fraction).round().cast(pl.Int64))
    return frame.filter(rank < keep)


def _point(
    train_rows: pl.DataFrame,
    dev_rows: pl.DataFrame,
    label: str,
    inputs: dict[str, Any],
    fraction: float,
    seed: int,
    metric: str,
    classes: tuple[str, ...],
) -> CurvePoint:
    subset = stratified_share(train_rows, label, fraction, seed)
    model = fit_baseline(subset, label=label, seed=seed, **inputs)
    predicted = model.predict(dev_rows).cast(pl.String).to_list()
    codes = {c: i for i, c in enumerate(classes)}
    true = np.array([codes[str(v)] for v in dev_rows[label].to_list()], dtype=np.int64)
    pred = np.array([codes.get(v, 0) for v in predicted], dtype=np.int64)
    counted = count_metrics(confusion_counts(true, pred, len(classes)))
    recall = {c: float(counted["recall"][i]) for i, c in enumerate(classes) if counted["support"][i] > 0}
    return CurvePoint(fraction, subset.height, seed, float(counted[metric]), recall)


def _summarise(
    points: list[CurvePoint],
    metric: str,
    train_rows: int,
    dev_rows: int,
    classes: tuple[str, ...],
    label_issues: dict[str, int],
) -> LearningCurve:
    sizes = [p.rows for p in points]
    fit = _try_fit(sizes, [1 - p.metric for p in points])
    projections = tuple(_project(fit, train_rows, m) for m in MULTIPLES) if fit else ()
    per_class = tuple(
        _class_curve(points, c, train_rows, label_issues.get(c, 0))
        for c in classes
        if any(c in p.recall for p in points)
    )
    needs = max(per_class, key=lambda c: (c.gain, -c.recall)).label if per_class else None
    fix = _fix_first(per_class)
    curve = LearningCurve(
        metric, train_rows, dev_rows, tuple(points), fit, projections, per_class, needs, fix, ""
    )
    return LearningCurve(**{**curve.__dict__, "recommendation": recommend(curve)})


def _try_fit(sizes: list[int], errors: list[float]) -> PowerLaw | None:
    try:
        return fit_power_law(sizes, errors)
    except EvaluationError:
        return None


def _project(fit: PowerLaw, rows: int, multiple: float) -> Projection:
    n = rows * multiple
    low_err, high_err = fit.interval(n)
    return Projection(multiple, int(n), 1 - fit.error(n), 1 - high_err, 1 - low_err)


def _class_curve(points: list[CurvePoint], name: str, rows: int, issues: int) -> ClassCurve:
    seen = [p for p in points if name in p.recall]
    top = max(p.fraction for p in seen)
    now = float(np.mean([p.recall[name] for p in seen if p.fraction == top]))
    fit = _try_fit([p.rows for p in seen], [1 - p.recall[name] for p in seen])
    later = None if fit is None else min(1.0, max(now, 1 - fit.error(rows * 10)))
    return ClassCurve(name, now, later, issues)


def _fix_first(classes: tuple[ClassCurve, ...]) -> str | None:
    flagged = [c for c in classes if c.label_issues > 0]
    return max(flagged, key=lambda c: (c.label_issues, -c.recall)).label if flagged else None


def recommend(curve: LearningCurve) -> str:
    """The advice in plain words: what 10x (and 2x) the data should add, which class needs data or labels."""
    now = curve.current
    parts = []
    if not curve.projections:
        parts.append(
            f"{curve.metric} is {now:.3f}; the learning curve is too flat or too noisy to fit a power law"
        )
    else:
        two, _, ten = curve.projections
        gain = (ten.metric - now) * 100
        if gain < 0.5:
            parts.append(
                f"10x more data ({ten.rows:,} rows) is predicted to add only {gain:.1f} points of "
                f"{curve.metric} ({now:.3f} -> {ten.metric:.3f}): the amount of data is not what limits "
                "the model; improve the labels or the features instead"
            )
        else:
            parts.append(
                f"10x more data ({ten.rows:,} rows) is predicted to add {gain:.1f} points of {curve.metric} "
                f"({now:.3f} -> {ten.metric:.3f}, 90% interval {ten.low:.3f}-{ten.high:.3f}); "
                f"2x adds {(two.metric - now) * 100:.1f}"
            )
    if curve.fix_labels_first:
        flagged = next(c for c in curve.classes if c.label == curve.fix_labels_first)
        parts.append(
            f"fix the labels of class {flagged.label} first ({flagged.label_issues:,} suspected label issues)"
        )
    chosen = next((c for c in curve.classes if c.label == curve.needs_data), None)
    if chosen and chosen.gain > 0.005:
        parts.append(
            f"class {chosen.label} needs data most (recall {chosen.recall:.3f} now, "
            f"{chosen.recall_10x:.3f} predicted at 10x): collect more of it"
        )
    return "; ".join(parts) + "."
