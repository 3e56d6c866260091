"""Fairness numbers equal fairlearn's on Adult, with a baseline model's predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import precision_score

from datawheel.errors import EvaluationError
from datawheel.evaluate import fairness_metrics
from datawheel.models import fit_baseline

ADULT = Path(__file__).parents[1] / "data" / "adult" / "adult_head1000.data"
# the columns of adult.data, as adult.names (UCI) lists them
COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
    "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country",
    "income",
]  # fmt: skip
FEATURES = ["age", "workclass", "education_num", "occupation", "hours_per_week", "capital_gain"]


@pytest.fixture(scope="module")
def adult() -> pl.DataFrame:
    frame = pl.read_csv(ADULT, has_header=False, new_columns=COLUMNS).with_columns(
        pl.col(pl.String).str.strip_chars()
    )
    frame = frame.with_columns(
        y=(pl.col("income") == ">50K").cast(pl.Int64),
        split=pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("train")).otherwise(pl.lit("test")),
    )
    model = fit_baseline(frame.filter(pl.col("split") == "train"), label="y", features=FEATURES)
    return frame.with_columns(model.predict(frame).cast(pl.Int64).alias("p"))


@pytest.mark.parametrize("group", ["sex", "race"])
def test_equals_fairlearn_on_adult(adult: pl.DataFrame, group: str) -> None:
    test = adult.filter(pl.col("split") == "test")
    report = fairness_metrics(test, label="y", prediction="p", group=group)
    y, p, g = test["y"].to_numpy(), test["p"].to_numpy(), test[group].to_numpy()
    assert p.sum() > 10  # the model predicts both classes
    frame = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "precision": lambda a, b: precision_score(a, b, zero_division=0),
            "count": lambda a, b: len(a),
        },
        y_true=y,
        y_pred=p,
        sensitive_features=g,
    )
    by_group = frame.by_group
    ours = report.to_dict()["groups"]
    assert set(ours) == set(by_group.index)
    for name, row in by_group.iterrows():
        for metric in ("selection_rate", "tpr", "fpr", "precision", "count"):
            assert ours[name][metric] == pytest.approx(row[metric], abs=1e-12), (name, metric)
    assert report.demographic_parity_difference == pytest.approx(
        demographic_parity_difference(y, p, sensitive_features=g), abs=1e-12
    )
    assert report.demographic_parity_ratio == pytest.approx(
        demographic_parity_ratio(y, p, sensitive_features=g), abs=1e-12
    )
    assert report.equalized_odds_difference == pytest.approx(
        equalized_odds_difference(y, p, sensitive_features=g), abs=1e-12
    )


def test_representation_per_split_and_label(adult: pl.DataFrame) -> None:
    report = fairness_metrics(adult, label="y", prediction="p", group="sex")
    split = report.representation["split"]
    assert set(split) == {"train", "test"}
    train = adult.filter(pl.col("split") == "train")
    assert split["train"]["Female"]["count"] == train.filter(pl.col("sex") == "Female").height
    assert split["train"]["Female"]["share"] + split["train"]["Male"]["share"] == pytest.approx(1.0)
    high = report.representation["label"]["1"]
    assert high["Male"]["count"] == adult.filter((pl.col("y") == 1) & (pl.col("sex") == "Male")).height
    assert report.groups[0].base_rate == pytest.approx(adult.filter(pl.col("sex") == "Female")["y"].mean())


def test_string_labels_need_a_known_positive() -> None:
    frame = pl.DataFrame({"y": ["a", "b", "c"], "p": ["a", "b", "b"], "g": ["x", "y", "x"]})
    with pytest.raises(EvaluationError, match="3 classes"):
        fairness_metrics(frame, label="y", prediction="p", group="g")
    report = fairness_metrics(frame, label="y", prediction="p", group="g", positive="b")
    assert report.to_dict()["groups"]["y"]["selection_rate"] == 1.0
    assert np.isclose(report.to_dict()["groups"]["x"]["selection_rate"], 0.5)
