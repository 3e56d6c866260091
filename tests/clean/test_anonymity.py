"""k-anonymity on hand-made frames and on Adult, its invariants, aggregation, and bad input."""

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datawheel.clean._anonymity import aggregate_unique, k_anonymize
from datawheel.errors import CleanError

ADULT = Path(__file__).resolve().parents[1] / "data" / "adult" / "adult_head1000.data"
ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
]
QI = ["age", "sex", "race", "native-country"]


@pytest.fixture(scope="module")
def adult() -> pl.DataFrame:
    frame = pl.read_csv(ADULT, has_header=False, new_columns=ADULT_COLUMNS)
    return frame.with_columns(pl.col(pl.String).str.strip_chars())


def _min_group(frame: pl.DataFrame, columns: list[str]) -> int:
    return int(frame.group_by(columns).len()["len"].min())  # type: ignore[arg-type]


def test_adult_reaches_k5_and_reports_suppressed(adult: pl.DataFrame) -> None:
    result = k_anonymize(adult, QI, k=5, generalize={"age": {"bucket": 5}})
    assert _min_group(result.kept, QI) >= 5
    assert result.k_reached >= 5
    assert result.kept.height + result.suppressed == adult.height == 1000
    # What the first 1000 rows of Adult give: ages in buckets of 5, the rest raw, 148 suppressed.
    assert result.labels == {"age": "bucket=5", "sex": "raw", "race": "raw", "native-country": "raw"}
    assert result.suppressed == 148
    assert result.to_dict()["removed"] == 148
    assert result.removed["reason"].str.starts_with("group of ").all()


def test_adult_with_a_suppression_budget(adult: pl.DataFrame) -> None:
    result = k_anonymize(adult, QI, k=5, generalize={"age": {"bucket": 5}}, max_suppression=0.05)
    assert result.suppressed <= 50
    assert _min_group(result.kept, QI) >= 5
    assert (
        result.information_loss
        > k_anonymize(adult, QI, k=5, generalize={"age": {"bucket": 5}}).information_loss
    )


def test_adult_with_a_country_hierarchy(adult: pl.DataFrame) -> None:
    regions = {
        "United-States": "North-America",
        "Canada": "North-America",
        "Mexico": "Latin-America",
        "Cuba": "Latin-America",
        "Jamaica": "Latin-America",
        "Puerto-Rico": "Latin-America",
        "India": "Asia",
        "China": "Asia",
        "Philippines": "Asia",
        "Japan": "Asia",
        "North-America": "Americas",
        "Latin-America": "Americas",
    }
    result = k_anonymize(
        adult, QI, k=5, generalize={"age": {"bucket": 5}, "native-country": {"hierarchy": regions}}
    )
    assert _min_group(result.kept, QI) >= 5
    assert result.suppressed <= 148  # a richer lattice never does worse


def test_prefix_and_bucket_labels() -> None:
    frame = pl.DataFrame({"zip": ["13053", "13068", "13053", "14850"], "age": [21, 23, 27, 29]})
    result = k_anonymize(frame, ["zip", "age"], k=2, generalize={"zip": {"prefix": 3}, "age": {"bucket": 10}})
    assert result.kept.height + result.suppressed == 4
    assert _min_group(result.kept, ["zip", "age"]) >= 2
    assert set(result.kept["age"]) <= {"[20, 30)", "[20, 40)", "*", "21", "23", "27", "29"}


def test_k_of_one_changes_nothing() -> None:
    frame = pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    result = k_anonymize(frame, ["a", "b"], k=1)
    assert result.levels == {"a": 0, "b": 0}
    assert result.suppressed == 0
    assert result.information_loss == 0.0
    assert result.kept["a"].to_list() == ["1", "2", "3"]


def test_hierarchy_levels() -> None:
    frame = pl.DataFrame({"city": ["Seoul", "Busan", "Tokyo", "Osaka"]})
    tree = {
        "Seoul": "Korea",
        "Busan": "Korea",
        "Tokyo": "Japan",
        "Osaka": "Japan",
        "Korea": "Asia",
        "Japan": "Asia",
    }
    result = k_anonymize(frame, ["city"], k=2, generalize={"city": {"hierarchy": tree}})
    assert sorted(result.kept["city"]) == ["Japan", "Japan", "Korea", "Korea"]
    assert result.labels == {"city": "hierarchy+1"}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 99), st.sampled_from(["a", "b", "c"]), st.sampled_from(["x", "y"])),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 6),
)
def test_result_is_k_anonymous_and_counts_add_up(rows: list[tuple[int, str, str]], k: int) -> None:
    frame = pl.DataFrame(rows, schema=["age", "g", "h"], orient="row")
    if k > frame.height:
        k = frame.height
    result = k_anonymize(frame, ["age", "g", "h"], k=k, generalize={"age": {"bucket": 10}})
    assert result.kept.height + result.removed.height == frame.height
    if result.kept.height:
        assert _min_group(result.kept, ["age", "g", "h"]) >= k
        assert result.k_reached >= k
    assert 0.0 <= result.information_loss <= 1.0


def test_aggregate_unique_replaces_only_rare_rows_by_groups_of_k() -> None:
    frame = pl.DataFrame(
        {"zip": ["1", "1", "2", "3", "4"], "income": [10, 20, 30, 50, 70], "job": list("abccd")}
    )
    result = aggregate_unique(frame, ["zip"], ["income", "job"], k=2)
    assert result.at_risk == 3
    assert result.replaced == {"income": 3, "job": 3}
    # sorted incomes 10 20 | 30 50 70 → means 15 and 50
    assert result.frame["income"].to_list() == [10.0, 20.0, 50.0, 50.0, 50.0]
    assert result.frame["job"].to_list() == ["a", "b", "c", "c", "c"]
    assert result.to_dict()["removed"] == 0


@pytest.mark.parametrize(
    ("frame", "columns", "k", "options", "message"),
    [
        (pl.DataFrame({"a": [1, 2]}), ["a"], 0, {}, "at least 1"),
        (pl.DataFrame({"a": [1, 2]}), ["a"], 3, {}, "larger than the dataset's 2 rows"),
        (pl.DataFrame({"a": [1, 2]}), ["zip"], 1, {}, "no column 'zip'"),
        (pl.DataFrame({"a": []}, schema={"a": pl.Int64}), ["a"], 1, {}, "no rows"),
        (pl.DataFrame({"a": [1, 2]}), [], 1, {}, "no quasi-identifier"),
        (pl.DataFrame({"a": ["x", "y"]}), ["a"], 1, {"generalize": {"a": {"bucket": 5}}}, "not numeric"),
        (pl.DataFrame({"a": [1, 2]}), ["a"], 1, {"generalize": {"a": {"bucket": 0}}}, "positive number"),
        (pl.DataFrame({"a": ["x", "y"]}), ["a"], 1, {"generalize": {"a": {"prefix": 0}}}, "positive whole"),
        (
            pl.DataFrame({"a": ["x", "y"]}),
            ["a"],
            1,
            {"generalize": {"a": {"hierarchy": {"x": "y", "y": "x"}}}},
            "cycle",
        ),
        (
            pl.DataFrame({"a": ["x", "y"]}),
            ["a"],
            1,
            {"generalize": {"a": {"round": 2}}},
            "unknown generalisation",
        ),
        (
            pl.DataFrame({"a": ["x", "y"]}),
            ["a"],
            1,
            {"generalize": {"b": {"prefix": 2}}},
            "not quasi-identifiers",
        ),
        (pl.DataFrame({"a": ["x", "y"]}), ["a"], 1, {"max_suppression": -1}, "max_suppression"),
    ],
)
def test_bad_input_is_a_clear_error(
    frame: pl.DataFrame, columns: list[str], k: int, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(CleanError, match=message) as caught:
        k_anonymize(frame, columns, k=k, **options)
    assert caught.value.hint


def test_aggregate_unique_bad_input() -> None:
    frame = pl.DataFrame({"zip": ["1", "2"], "income": [1, 2]})
    with pytest.raises(CleanError, match="larger than"):
        aggregate_unique(frame, ["zip"], ["income"], k=3)
    with pytest.raises(CleanError, match="no value column"):
        aggregate_unique(frame, ["zip"], ["salary"], k=1)
