"""Metrics of fixed predictions over NumPy arrays: counts, ranks, probabilities, errors.

Every function here equals scikit-learn's metric of the same name on the same input (the tests
use scikit-learn as the oracle); they are written over NumPy so that they also run on a batch
of bootstrap resamples at once (confusion matrices shaped ``(..., k, k)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

Floats = np.ndarray[Any, np.dtype[np.float64]]
Ints = np.ndarray[Any, np.dtype[np.int64]]


def confusion_counts(true_codes: Ints, pred_codes: Ints, k: int) -> Ints:
    """The ``k`` by ``k`` confusion matrix of class codes: rows are true classes, columns predicted.

    Example:
        >>> confusion_counts(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2).tolist()
        [[1, 1], [0, 2]]
    """
    flat = np.bincount(true_codes * k + pred_codes, minlength=k * k)
    return flat.reshape(k, k).astype(np.int64)


def _ratio(top: Floats, bottom: Floats) -> Floats:
    """``top / bottom``, 0 where ``bottom`` is 0 (scikit-learn's ``zero_division`` default)."""
    safe = np.where(bottom == 0, 1.0, bottom)
    return np.where(bottom == 0, 0.0, top / safe)


def count_metrics(matrix: np.ndarray[Any, Any]) -> dict[str, Floats]:
    """Metrics read from confusion matrices shaped ``(..., k, k)``, one value per leading index.

    Gives ``accuracy``; ``precision``, ``recall``, ``f1`` and ``support`` per class (last axis);
    and their ``_macro``, ``_micro`` and ``_weighted`` averages over every class.

    Example:
        >>> m = count_metrics(np.array([[1, 1], [0, 2]]))
        >>> float(m["accuracy"]), m["precision"].round(3).tolist(), float(m["f1_macro"].round(3))
        (0.75, [1.0, 0.667], 0.733)
    """
    cm = np.asarray(matrix, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    total = support.sum(axis=-1)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support)
    f1 = _ratio(2 * tp, support + predicted)
    weights = _ratio(support, total[..., None] * np.ones_like(support))
    micro = _ratio(tp.sum(axis=-1), total)
    return {
        "accuracy": micro,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": support,
        "precision_macro": precision.mean(axis=-1),
        "recall_macro": recall.mean(axis=-1),
        "f1_macro": f1.mean(axis=-1),
        "precision_micro": micro,
        "recall_micro": micro,
        "f1_micro": micro,
        "precision_weighted": (precision * weights).sum(axis=-1),
        "recall_weighted": (recall * weights).sum(axis=-1),
        "f1_weighted": (f1 * weights).sum(axis=-1),
    }


def _ranks(values: Floats) -> Floats:
    """Ranks from 1, ties sharing their average rank."""
    from scipy.stats import rankdata

    return np.asarray(rankdata(values, method="average"), dtype=np.float64)


def roc_auc(positive: np.ndarray[Any, np.dtype[np.bool_]], score: Floats) -> float | None:
    """Area under the ROC curve (the Mann-Whitney U statistic); None if one side is empty.

    Example:
        >>> roc_auc(np.array([False, False, True, True]), np.array([0.1, 0.4, 0.35, 0.8]))
        0.75
    """
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _ranks(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(positive: np.ndarray[Any, np.dtype[np.bool_]], score: Floats) -> float | None:
    """Average precision (the area under the precision-recall curve, as steps); None if no positive.

    Example:
        >>> round(average_precision(np.array([False, False, True, True]), np.array([0.1, 0.4, 0.35, 0.8])), 4)
        0.8333
    """
    if not positive.any():
        return None
    order = np.argsort(-score, kind="mergesort")
    ordered, hits = score[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(ordered)), ordered.size - 1]
    tps = np.cumsum(hits)[last].astype(np.float64)
    precision = tps / (last + 1)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def log_loss(true_codes: Ints, proba: Floats) -> float:
    """Mean negative log-likelihood of the true classes, probabilities clipped to [eps, 1 - eps].

    Example:
        >>> round(log_loss(np.array([1, 0, 0, 1]), np.array([[.1, .9], [.9, .1], [.8, .2], [.35, .65]])), 5)
        0.21616
    """
    eps = np.finfo(np.float64).eps
    clipped = np.clip(proba, eps, 1 - eps)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    picked = clipped[np.arange(true_codes.size), true_codes]
    return float(-np.log(picked).mean())


def reliability(
    true_codes: Ints, proba: Floats, *, bins: int = 10
) -> tuple[float, list[dict[str, float | int]]]:
    """Expected calibration error, and the reliability table it is read from.

    Confidence is the highest probability of a row; rows fall in ``bins`` equal-width bins of
    confidence over [0, 1], each closed on the right (``(low, high]``, the first also holding 0,
    as scikit-learn's ``calibration_curve``). ECE = sum over bins of
    ``rows_in_bin / rows * |accuracy_in_bin - mean_confidence_in_bin|``.

    Example:
        >>> proba = np.array([[.1, .9], [.9, .1], [.8, .2], [.35, .65]])
        >>> ece, table = reliability(np.array([1, 0, 0, 1]), proba)
        >>> round(ece, 4), [row["count"] for row in table]
        (0.1875, [1, 1, 2])
    """
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == true_codes
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.searchsorted(edges[1:-1], confidence, side="left")
    counts = np.bincount(which, minlength=bins)
    conf_sum = np.bincount(which, weights=confidence, minlength=bins)
    hit_sum = np.bincount(which, weights=correct.astype(np.float64), minlength=bins)
    table: list[dict[str, float | int]] = []
    ece = 0.0
    for b in np.flatnonzero(counts):
        accuracy, mean_conf = hit_sum[b] / counts[b], conf_sum[b] / counts[b]
        ece += counts[b] / true_codes.size * abs(accuracy - mean_conf)
        table.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "count": int(counts[b]),
                "confidence": float(mean_conf),
                "accuracy": float(accuracy),
            }
        )
    return float(ece), table


def regression_scores(truth: Floats, predicted: Floats) -> dict[str, float]:
    """Mean absolute error, root mean squared error and R² of numeric predictions.

    Example:
        >>> regression_scores(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
        {'mae': 0.3333333333333333, 'rmse': 0.5773502691896257, 'r2': 0.5}
    """
    error = predicted - truth
    spread = float(((truth - truth.mean()) ** 2).sum())
    residual = float((error**2).sum())
    r2 = (1.0 - residual / spread) if spread else (1.0 if residual == 0 else 0.0)
    return {
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "r2": r2,
    }
