"""Metrics equal scikit-learn's on fixed predictions; intervals cover the point estimate."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.preprocessing import label_binarize

from datawheel.errors import EvaluationError
from datawheel.evaluate import (
    CLASSIFICATION_METRICS,
    average_precision,
    evaluate_predictions,
    log_loss,
    reliability,
    roc_auc,
)


def _binary(n: int = 2000, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + rng.normal(0.35, 0.2, n), 0, 1).round(2)  # rounded: ties on purpose
    labels = np.array(["ham", "spam"])
    return pl.DataFrame({"y": labels[y], "p": labels[(score > 0.5).astype(int)], "s": score})


def _multiclass(n: int = 3000, k: int = 4, seed: int = 2) -> tuple[pl.DataFrame, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), y] += 1.2
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pl.DataFrame({"y": y, "p": proba.argmax(axis=1), "s": proba.tolist()})
    return frame, proba


def test_binary_metrics_equal_sklearn() -> None:
    frame = _binary()
    result = evaluate_predictions(
        frame, label="y", prediction="p", score="s", metrics=CLASSIFICATION_METRICS, bootstrap=0
    )
    y, p, s = frame["y"].to_numpy(), frame["p"].to_numpy(), frame["s"].to_numpy()
    m = result.metrics
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, p), abs=1e-12)
    for avg in ("macro", "micro", "weighted"):
        assert m[f"precision_{avg}"] == pytest.approx(skm.precision_score(y, p, average=avg), abs=1e-12)
        assert m[f"recall_{avg}"] == pytest.approx(skm.recall_score(y, p, average=avg), abs=1e-12)
        assert m[f"f1_{avg}"] == pytest.approx(skm.f1_score(y, p, average=avg), abs=1e-12)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, s, pos_label="spam"), abs=1e-12)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, s), abs=1e-12)
    assert [list(r) for r in result.confusion_matrix] == skm.confusion_matrix(y, p).tolist()
    precision, recall, f1, support = skm.precision_recall_fscore_support(y, p)
    assert [c.precision for c in result.per_class] == pytest.approx(precision.tolist())
    assert [c.recall for c in result.per_class] == pytest.approx(recall.tolist())
    assert [c.f1 for c in result.per_class] == pytest.approx(f1.tolist())
    assert [c.support for c in result.per_class] == support.tolist()


def test_multiclass_metrics_equal_sklearn() -> None:
    frame, proba = _multiclass()
    result = evaluate_predictions(
        frame, label="y", prediction="p", score="s", metrics=CLASSIFICATION_METRICS, bootstrap=0
    )
    y, p = frame["y"].to_numpy(), frame["p"].to_numpy()
    m = result.metrics
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, p, average="macro"), abs=1e-12)
    assert m["precision_micro"] == pytest.approx(skm.precision_score(y, p, average="micro"), abs=1e-12)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"), abs=1e-12)
    expected_ap = skm.average_precision_score(label_binarize(y, classes=[0, 1, 2, 3]), proba, average="macro")
    assert m["pr_auc"] == pytest.approx(expected_ap, abs=1e-12)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba), abs=1e-12)
    assert [list(r) for r in result.confusion_matrix] == skm.confusion_matrix(y, p).tolist()


def test_zero_division_and_unseen_prediction_match_sklearn() -> None:
    y = ["a", "a", "b", "b", "b"]
    p = ["a", "c", "b", "b", "a"]  # 'c' is never a label: its recall has no support
    result = evaluate_predictions(pl.DataFrame({"y": y, "p": p}), label="y", prediction="p", bootstrap=0)
    with pytest.warns(skm._classification.UndefinedMetricWarning):
        expected = skm.recall_score(y, p, average="macro")
    assert result.metrics["recall_macro"] == pytest.approx(expected)
    assert result.classes == ("a", "b", "c")


def test_array_functions_on_ties_equal_sklearn() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 500).astype(bool)
    s = rng.integers(0, 10, 500) / 10  # many ties
    assert roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)
    proba = np.column_stack([1 - s, s])
    assert log_loss(y.astype(np.int64), proba) == pytest.approx(skm.log_loss(y, proba), abs=1e-12)
    assert roc_auc(np.zeros(3, dtype=bool), np.ones(3)) is None


def test_reliability_bins_match_calibration_curve_and_the_ece_formula() -> None:
    frame = _binary()
    y = (frame["y"] == "spam").to_numpy().astype(np.int64)
    s = frame["s"].to_numpy()
    proba = np.column_stack([1 - s, s])
    ece, table = reliability(y, proba, bins=10)
    confidence, correct = proba.max(axis=1), proba.argmax(axis=1) == y
    which = np.searchsorted(np.linspace(0, 1, 11)[1:-1], confidence)
    expected = sum(
        (which == b).mean() * abs(correct[which == b].mean() - confidence[which == b].mean())
        for b in np.unique(which)
    )
    assert ece == pytest.approx(expected, abs=1e-12)
    assert sum(int(r["count"]) for r in table) == y.size
    # against sklearn's reliability curve of the top-label confidence (uniform bins)
    prob_true, prob_pred = calibration_curve(correct, confidence, n_bins=10, strategy="uniform")
    assert [r["accuracy"] for r in table] == pytest.approx(prob_true.tolist())
    assert [r["confidence"] for r in table] == pytest.approx(prob_pred.tolist())


def test_regression_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(3)
    truth = rng.normal(10, 3, 1000)
    guess = truth + rng.normal(0, 1, 1000)
    frame = pl.DataFrame({"y": truth, "p": guess})
    result = evaluate_predictions(frame, label="y", prediction="p", bootstrap=200)
    assert result.task == "regression"
    assert result.metrics["mae"] == pytest.approx(skm.mean_absolute_error(truth, guess))
    assert result.metrics["rmse"] == pytest.approx(skm.root_mean_squared_error(truth, guess))
    assert result.metrics["r2"] == pytest.approx(skm.r2_score(truth, guess))
    low, high = result.intervals["mae"]
    assert low < result.metrics["mae"] < high  # type: ignore[operator]


def test_bootstrap_intervals_cover_the_estimate_and_are_seeded() -> None:
    frame = _binary()
    one = evaluate_predictions(frame, label="y", prediction="p", score="s", bootstrap=300, seed=7)
    two = evaluate_predictions(frame, label="y", prediction="p", score="s", bootstrap=300, seed=7)
    assert one.intervals == two.intervals
    for name in ("accuracy", "f1_macro", "roc_auc"):
        low, high = one.intervals[name]
        assert low < one.metrics[name] < high  # type: ignore[operator]
        assert high - low < 0.1
    # the multinomial draw of confusion cells has the spread of a row resample: sd of accuracy
    acc = one.metrics["accuracy"]
    assert acc is not None
    width = one.intervals["accuracy"][1] - one.intervals["accuracy"][0]
    assert width == pytest.approx(2 * 1.96 * np.sqrt(acc * (1 - acc) / frame.height), rel=0.2)


def test_json_shape_has_the_stable_keys() -> None:
    out = evaluate_predictions(_binary(), label="y", prediction="p", bootstrap=0).to_dict()
    for key in ("accuracy", "f1_macro", "precision_macro", "recall_macro", "confusion_matrix"):
        assert key in out


def test_bad_input_names_the_column() -> None:
    with pytest.raises(EvaluationError, match="no column 'nope'"):
        evaluate_predictions(_binary(), label="y", prediction="nope")
    with pytest.raises(EvaluationError, match="unknown metric 'auc'"):
        evaluate_predictions(_binary(), label="y", prediction="p", metrics=["auc"])
    multi, _ = _multiclass()
    with pytest.raises(EvaluationError, match="exactly two classes"):
        evaluate_predictions(multi.with_columns(f=pl.lit(0.5)), label="y", prediction="p", score="f")
