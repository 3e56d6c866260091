"""Skew checks: identical features pass, a skewed serving pipeline is caught, with examples."""

import json
import math
from dataclasses import replace

import polars as pl
import pytest

from datawheel.errors import TransformError
from datawheel.transform import (
    FittedTransform,
    NormalizeText,
    SkewReport,
    Standardize,
    Transform,
    Vocabulary,
    recompute_skew,
    skew,
)


def column(report: SkewReport, name: str) -> dict[str, object]:
    return next(c for c in report.to_dict()["columns"] if c["column"] == name)


@pytest.fixture(scope="module")
def adult_fitted(adult: pl.DataFrame, adult_chain: Transform) -> FittedTransform:
    return adult_chain.fit(adult)


@pytest.fixture(scope="module")
def skewed(adult_fitted: FittedTransform) -> FittedTransform:
    """The same transform, but serving standardises age with a mean 5 years too high."""
    ops = [
        replace(op, mean=(op.mean or 0.0) + 5)
        if isinstance(op, Standardize) and op.target == "age_std"
        else op
        for op in adult_fitted.ops
    ]
    return replace(adult_fitted, ops=tuple(ops))


def test_identical_features_by_rows(adult: pl.DataFrame, adult_fitted: FittedTransform) -> None:
    features = adult_fitted.apply(adult)
    report = skew(features, features.sample(fraction=1.0, shuffle=True, seed=1), key="id")
    assert report.ok
    assert (report.mode, report.rows_compared, report.unmatched_train, report.unmatched_serving) == (
        "rows",
        1000,
        0,
        0,
    )
    assert len(report.columns) == features.width - 1
    assert all(c.rows_differing == 0 and not c.examples for c in report.columns)
    assert column(report, "age_std")["max_abs_diff"] == 0.0
    assert column(report, "income")["max_abs_diff"] is None  # text: no numeric difference


def test_identical_features_by_distribution(adult: pl.DataFrame, adult_fitted: FittedTransform) -> None:
    features = adult_fitted.apply(adult)
    report = skew(features, features.reverse())
    assert report.ok
    assert report.mode == "distribution"
    assert all(c.max_abs_diff == pytest.approx(0.0, abs=1e-12) for c in report.columns)
    assert column(report, "age_std")["train"] == {
        "mean": pytest.approx(0.0, abs=1e-12),
        "std": pytest.approx(1.0),
        "null_rate": 0.0,
    }


def test_a_skewed_serving_pipeline_is_caught_row_by_row(
    adult: pl.DataFrame, adult_fitted: FittedTransform, skewed: FittedTransform
) -> None:
    report = skew(adult_fitted.apply(adult), skewed.apply(adult.reverse()), key="id", examples=3)
    assert not report.ok
    assert report.differing == ("age_std",)
    age = column(report, "age_std")
    std = next(op.std for op in adult_fitted.ops if op.target == "age_std")  # type: ignore[attr-defined]
    assert age["rows_differing"] == 1000
    assert age["max_abs_diff"] == pytest.approx(5 / std)
    assert [e["key"] for e in age["examples"]] == [{"id": 0}, {"id": 1}, {"id": 2}]  # type: ignore[attr-defined]
    first = age["examples"][0]  # type: ignore[index]
    assert first["train"] - first["serving"] == pytest.approx(5 / std)


def test_a_skewed_serving_pipeline_is_caught_by_distribution(
    adult: pl.DataFrame, adult_fitted: FittedTransform, skewed: FittedTransform
) -> None:
    train = adult_fitted.apply(adult)
    features = list(adult_fitted.outputs)
    assert skew(train, adult_fitted.apply(adult.tail(400)), columns=features, threshold=0.2).ok
    report = skew(train, skewed.apply(adult.tail(400)), columns=features, threshold=0.2)
    assert report.differing == ("age_std",)
    age = next(c for c in report.columns if c.column == "age_std")
    assert age.distances["mean"] > 0.3
    assert age.examples[0]["statistic"] == "mean"
    assert (report.rows_compared, report.train_rows, report.serving_rows) == (400, 1000, 400)


def test_tolerance_is_an_absolute_limit() -> None:
    train = pl.DataFrame({"id": [1, 2], "x": [1.0, 2.0]})
    serving = train.with_columns(pl.col("x") + 1e-12)
    assert skew(train, serving, key="id").ok
    strict = skew(train, serving, key="id", tolerance=0.0)
    assert strict.columns[0].rows_differing == 2


def test_nulls_and_nan_by_rows() -> None:
    nan = float("nan")
    train = pl.DataFrame(
        {"id": [1, 2, 3, 4, 5], "x": [None, nan, nan, None, 1.0], "s": ["a", None, None, "b", "c"]}
    )
    serving = pl.DataFrame(
        {"id": [1, 2, 3, 4, 5], "x": [None, nan, 1.0, 2.0, 1.5], "s": ["a", None, "z", None, "c"]}
    )
    report = skew(train, serving, key="id")
    x, s = report.columns
    assert (x.rows_differing, x.max_abs_diff) == (3, 0.5)  # NaN vs 1.0, null vs 2.0, 1.0 vs 1.5
    assert [e["key"]["id"] for e in x.examples] == [3, 4, 5]
    assert (s.rows_differing, [e["serving"] for e in s.examples]) == (2, ["z", None])
    text = json.dumps(report.to_dict(), allow_nan=False)  # strict JSON: NaN written as text
    assert '"train": "nan"' in text


def test_a_composite_key_and_unmatched_rows() -> None:
    train = pl.DataFrame({"user": [1, 1, 2], "day": [1, 2, 1], "x": [0.5, 0.6, 0.7]})
    serving = pl.DataFrame({"user": [1, 2, 3], "day": [2, 1, 1], "x": [0.6, 0.8, 0.9]})
    report = skew(train, serving, key=["user", "day"])
    assert (report.rows_compared, report.unmatched_train, report.unmatched_serving) == (2, 1, 1)
    assert report.columns[0].examples == ({"key": {"user": 2, "day": 1}, "train": 0.7, "serving": 0.8},)


def test_nothing_matched_is_not_ok() -> None:
    train = pl.DataFrame({"id": [1], "x": [1.0]})
    report = skew(train, pl.DataFrame({"id": [2], "x": [1.0]}), key="id")
    assert (report.ok, report.rows_compared, report.differing) == (False, 0, ())
    assert not skew(train, train.clear()).ok


def test_a_feature_only_one_side_has_differs() -> None:
    train = pl.DataFrame({"id": [1], "x": [1.0], "y": [2.0]})
    for key in ("id", None):
        report = skew(train, train.drop("y"), key=key)
        assert report.differing == ("y",)
        assert report.columns[-1].examples == ({"problem": "missing from the serving features"},)


def test_a_type_change_differs_by_distribution() -> None:
    train = pl.DataFrame({"x": [1.0, 2.0]})
    report = skew(train, pl.DataFrame({"x": ["1.0", "2.0"]}))
    assert report.columns[0].examples == ({"problem": "train is Float64, serving is String"},)
    by_rows = skew(
        train.with_row_index("id"), pl.DataFrame({"x": ["1.0", "2"]}).with_row_index("id"), key="id"
    )
    assert by_rows.columns[0].rows_differing == 1  # compared as text: "2.0" against "2"


def test_category_frequencies_and_null_rates() -> None:
    train = pl.DataFrame({"label": ["ham"] * 8 + ["spam"] * 2})
    serving = pl.DataFrame({"label": ["ham"] * 5 + ["spam"] * 3 + [None] * 2})
    label = skew(train, serving).columns[0]
    assert label.differs
    # shares among non-null values: ham 0.8 -> 0.625, spam 0.2 -> 0.375
    assert label.distances == {"null_rate": 0.2, "categories": pytest.approx(0.175)}
    assert [e.get("statistic", e.get("value")) for e in label.examples] == ["null_rate", "ham", "spam"]
    assert skew(train, serving, threshold=0.25).ok


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": "nope"}, "the train features lack the key column"),
        ({"key": "id", "columns": ["id"]}, "they are the key"),
        ({"columns": ["nope"]}, "neither frame has them"),
    ],
)
def test_misuse_is_an_error(kwargs: dict[str, object], message: str) -> None:
    frame = pl.DataFrame({"id": [1], "x": [1.0]})
    with pytest.raises(TransformError, match=message):
        skew(frame, frame, **kwargs)  # type: ignore[arg-type]


def test_a_repeated_key_is_an_error() -> None:
    frame = pl.DataFrame({"id": [1, 1], "x": [1.0, 2.0]})
    with pytest.raises(TransformError, match=r"the key id repeats in the serving features, e.g. \{'id': 1\}"):
        skew(frame.head(1), frame, key="id")


def test_to_dict_shape() -> None:
    frame = pl.DataFrame({"id": [1, 2], "x": [1.0, 2.0]})
    data = skew(frame, frame, key="id").to_dict()
    assert list(data) == [
        "ok",
        "mode",
        "key",
        "rows_compared",
        "train_rows",
        "serving_rows",
        "unmatched",
        "tolerance",
        "threshold",
        "columns",
    ]
    assert data["columns"] == [
        {
            "column": "x",
            "differs": False,
            "max_abs_diff": 0.0,
            "rows_differing": 0,
            "distances": {},
            "train": {},
            "serving": {},
            "examples": [],
        }
    ]
    assert (data["tolerance"], data["threshold"]) == (1e-9, None)


# -- recomputing serving features from raw rows -----------------------------------------------


@pytest.fixture(scope="module")
def sms_fitted(sms: pl.DataFrame) -> FittedTransform:
    return Transform([NormalizeText("text"), Vocabulary("label")]).fit(sms)


def test_recompute_skew_on_served_sms_rows(sms: pl.DataFrame, sms_fitted: FittedTransform) -> None:
    logged = sms_fitted.apply(sms)
    served = sms.slice(1000, 500).sample(fraction=1.0, shuffle=True, seed=7)
    report = recompute_skew(sms_fitted, served, logged, key="id")
    assert report.ok
    assert [c.column for c in report.columns] == ["text", "label"]
    assert (report.rows_compared, report.unmatched_train, report.unmatched_serving) == (
        500,
        sms.height - 500,
        0,
    )
    assert recompute_skew(sms_fitted, served.lazy(), logged, key="id").ok


def test_recompute_skew_finds_a_training_pipeline_that_did_not_lowercase(
    sms: pl.DataFrame, sms_fitted: FittedTransform
) -> None:
    logged = Transform([NormalizeText("text", lowercase=False), Vocabulary("label")]).fit(sms).apply(sms)
    report = recompute_skew(sms_fitted, sms, logged, key="id", examples=2)
    assert report.differing == ("text",)
    text = report.columns[0]
    with_capitals = logged.filter(pl.col("text") != pl.col("text").str.to_lowercase()).height
    assert text.rows_differing == with_capitals > 1000
    first = text.examples[0]
    assert first["key"] == {"id": 0}
    assert first["train"].startswith("Go until jurong point")
    assert first["serving"] == first["train"].lower()


def test_recompute_skew_compares_only_the_named_columns(
    sms: pl.DataFrame, sms_fitted: FittedTransform
) -> None:
    logged = sms_fitted.apply(sms).with_columns(pl.lit(0).alias("label"))
    assert recompute_skew(sms_fitted, sms, logged, key="id", columns=["text"]).ok
    assert recompute_skew(sms_fitted, sms, logged, key="id").differing == ("label",)


def test_recompute_skew_refuses_a_key_the_transform_rewrites(sms: pl.DataFrame) -> None:
    fitted = Transform([Vocabulary("label")]).fit(sms)
    with pytest.raises(TransformError, match="writes or drops the key column"):
        recompute_skew(fitted, sms, fitted.apply(sms), key="label")


def test_max_abs_diff_skips_non_finite_values() -> None:
    train = pl.DataFrame({"id": [1, 2], "x": [math.inf, 1.0]})
    serving = pl.DataFrame({"id": [1, 2], "x": [1.0, 1.25]})
    x = skew(train, serving, key="id").columns[0]
    assert (x.rows_differing, x.max_abs_diff) == (2, 0.25)
