"""Each op on known data, against values computed by hand."""

from typing import Any

import polars as pl
import pytest

from datawheel.errors import TransformError
from datawheel.transform import (
    OPS,
    Bucketize,
    Clip,
    FillNull,
    MinMax,
    NormalizeText,
    OneHot,
    Op,
    Standardize,
    Vocabulary,
    op_from_dict,
)

# (op, training values, learned state, serving values, features)
CASES: list[tuple[Op, list[Any], dict[str, Any], list[Any], list[Any]]] = [
    # population std of 2, 4, 4, 4, 5, 5, 7, 9 is exactly 2; mean 5
    (
        Standardize("x"),
        [2, 4, 4, 4, 5, 5, 7, 9],
        {"mean": 5.0, "std": 2.0},
        [5, 9, None, 1],
        [0.0, 2.0, None, -2.0],
    ),
    # NaN and nulls are ignored when learning
    (Standardize("x"), [1.0, None, float("nan"), 3.0], {"mean": 2.0, "std": 1.0}, [2.0], [0.0]),
    # a constant column: std 1, mean the value, features exactly 0
    (Standardize("x"), [0.1, 0.1, 0.1], {"mean": 0.1, "std": 1.0}, [0.1, 1.1], [0.0, 1.0]),
    (
        MinMax("x"),
        [10, 20, 50],
        {"min": 10.0, "max": 50.0},
        [10, 30, 50, 90, None],
        [0.0, 0.5, 1.0, 2.0, None],
    ),
    (MinMax("x"), [3, 3], {"min": 3.0, "max": 3.0}, [3, 4], [0.0, 1.0]),
    # quantile positions over 1..10: lower 0.1*9=0.9 -> index 0 -> 1; higher 0.8*9=7.2 -> index 8 -> 9
    (Clip("x", 0.1, 0.8), list(range(1, 11)), {"lower": 1, "upper": 9}, [0, 5, 10, None], [1, 5, 9, None]),
    (Clip("x", 0.0, 1.0), [0.5, -2.5, 4.0], {"lower": -2.5, "upper": 4.0}, [-9.0, 9.0], [-2.5, 4.0]),
    # 1..8 in 4 buckets: linear quantiles at 1.75, 3.5, 5.25 positions -> 2.75, 4.5, 6.25
    (
        Bucketize("x", 4),
        [1, 2, 3, 4, 5, 6, 7, 8],
        {"edges": (2.75, 4.5, 6.25)},
        [1, 2.75, 4.4, 4.5, 100, -100, None],
        [0, 1, 1, 2, 3, 0, None],
    ),
    # many equal values: repeated edges collapse, so fewer buckets
    (Bucketize("x", 4), [0, 0, 0, 0, 0, 0, 1, 2], {"edges": (0.0, 0.25)}, [-1, 0, 0.1, 5], [0, 1, 1, 2]),
    (Bucketize("x", 1), [1, 2], {"edges": ()}, [7, None], [0, None]),
    # counts: b 3, a 2, c 2 (tie broken by value), d 1
    (
        Vocabulary("x"),
        ["a", "b", "c", "b", "a", "b", "c", "d", None],
        {"values": ("b", "a", "c", "d")},
        ["d", "b", "zz", None],
        [3, 0, 4, None],
    ),
    (
        Vocabulary("x", max_size=2),
        ["a", "b", "c", "b", "a", "b", "c", "d"],
        {"values": ("b", "a")},
        ["a", "c", "d"],
        [1, 2, 2],
    ),
    (
        Vocabulary("x", min_count=2, oov="<unk>"),
        ["a", "b", "<unk>", "<unk>", "<unk>", "b", "c"],
        {"values": ("b",)},
        ["b", "a", "<unk>"],
        [0, 1, 1],
    ),
    (Vocabulary("x"), [30, 10, 30, 20, 10, 30], {"values": (30, 10, 20)}, [20, 40], [2, 3]),
    (Vocabulary("x"), [True, False, False], {"values": (False, True)}, [True], [1]),
    (FillNull("x"), [1, None, 2, 6], {"fill": 3.0}, [None, 5], [3.0, 5.0]),
    (FillNull("x", "median"), [1.0, None, 2.0, 6.0, float("nan")], {"fill": 2.0}, [None], [2.0]),
    (FillNull("x", "mode"), ["b", "a", None, "a", "b", "c"], {"fill": "a"}, [None, "z"], ["a", "z"]),
    (FillNull("x", value=-1), [1, None], {"fill": -1}, [None, 4], [-1, 4]),
    (
        NormalizeText("x"),
        ["A"],
        {},
        ["  \uff28\uff25\uff2c\uff2c\uff2f\u00a0\u00a0Wörld\t\n!  ", None],
        ["hello wörld !", None],
    ),
    (NormalizeText("x", lowercase=False, nfkc=False), ["A"], {}, [" \uff21  B "], ["\uff21 B"]),
    (NormalizeText("x", strip=False, collapse_spaces=False), ["A"], {}, [" \uff21  B "], [" a  b "]),
]


@pytest.mark.parametrize(("op", "train", "state", "serving", "expected"), CASES)
def test_fit_learns_state_and_apply_computes_features(
    op: Op, train: list[Any], state: dict[str, Any], serving: list[Any], expected: list[Any]
) -> None:
    fitted = op.fit(pl.DataFrame({"x": train}, strict=False))
    assert {name: getattr(fitted, name) for name in state} == state
    assert fitted.fitted
    features = fitted.apply(pl.DataFrame({"x": serving}, strict=False))
    assert features["x"].to_list() == expected


@pytest.mark.parametrize(("op", "train", "state", "serving", "expected"), CASES)
def test_ops_round_trip_through_dicts(
    op: Op, train: list[Any], state: dict[str, Any], serving: list[Any], expected: list[Any]
) -> None:
    fitted = op.fit(pl.DataFrame({"x": train}, strict=False))
    assert op_from_dict(fitted.to_dict()) == fitted
    assert fitted.to_dict()["op"] in OPS


@pytest.mark.parametrize(
    ("op", "dtype"),
    [
        (Standardize("x"), pl.Float64),
        (MinMax("x"), pl.Float64),
        (Clip("x", 0.0, 1.0), pl.Int32),
        (Bucketize("x", 2), pl.Int64),
        (Vocabulary("x"), pl.Int64),
        (FillNull("x"), pl.Float64),
        (FillNull("x", value=0), pl.Int32),
    ],
)
def test_output_types(op: Op, dtype: pl.DataType) -> None:
    frame = pl.DataFrame({"x": [1, 2, None]}, schema={"x": pl.Int32})
    assert op.fit(frame).apply(frame).schema["x"] == dtype


def test_output_names_a_new_column_and_keeps_the_input() -> None:
    frame = pl.DataFrame({"age": [20, 40]})
    out = Standardize("age", output="age_std").fit(frame).apply(frame)
    assert out.columns == ["age", "age_std"]
    assert out.rows() == [(20, -1.0), (40, 1.0)]


def test_one_hot_in_place_and_with_a_prefix() -> None:
    frame = pl.DataFrame({"id": [1, 2, 3, 4], "color": ["red", "blue", "red", None]})
    op = OneHot("color").fit(frame)
    assert op.values == ("red", "blue")
    out = op.apply(pl.DataFrame({"id": [9, 8, 7], "color": ["blue", "green", None]}))
    assert out.columns == ["id", "color_red", "color_blue"]
    assert out.rows() == [(9, 0, 1), (8, 0, 0), (7, 0, 0)]
    assert out.schema["color_red"] == pl.Int8
    kept = OneHot("color", output="c", max_size=1).fit(frame).apply(frame)
    assert kept.columns == ["id", "color", "c_red"]
    assert kept["c_red"].to_list() == [1, 0, 1, 0]


def test_one_hot_refuses_to_overwrite_a_column() -> None:
    frame = pl.DataFrame({"color": ["red"], "color_red": [5]})
    with pytest.raises(TransformError, match="color_red"):
        OneHot("color").fit(frame)


def test_categorical_columns_are_read_as_text() -> None:
    frame = pl.DataFrame({"x": ["b", "a", "b"]}, schema={"x": pl.Categorical()})
    op = Vocabulary("x").fit(frame)
    assert op.values == ("b", "a")
    assert op.apply(frame)["x"].to_list() == [0, 1, 0]
    assert FillNull("x", "mode").fit(frame).fill == "b"
    assert NormalizeText("x").apply(frame).schema["x"] == pl.String


def test_fit_reads_lazy_frames_too() -> None:
    frame = pl.DataFrame({"x": [2, 4, 4, 4, 5, 5, 7, 9]})
    assert Standardize("x").fit(frame.lazy()) == Standardize("x").fit(frame)
    assert Bucketize("x", 3).fit(frame.lazy()) == Bucketize("x", 3).fit(frame)


@pytest.mark.parametrize(
    ("op", "values", "message"),
    [
        (Standardize("x"), ["a", "b"], "needs an integer or float column; column 'x' is String"),
        (NormalizeText("x"), [1, 2], "needs a String, Categorical or Enum column"),
        (Vocabulary("x"), [1.5], "needs a String, Categorical, Enum, integer or Boolean column"),
        (Standardize("x"), [None, float("nan")], "found no values to learn from"),
        (Bucketize("x"), [float("nan")], "found no values to learn from"),
        (FillNull("x", "mode"), pl.Series([None], dtype=pl.String), "found no values to learn from"),
        (MinMax("x"), [1.0, float("inf")], "which holds infinite values"),
        (FillNull("x", "mean"), ["a"], "the mean of column 'x' \\(String\\) is not defined"),
        (FillNull("x", value="none"), [1], "value 'none' does not fit column 'x' \\(Int64\\)"),
        (FillNull("x", value=True), [1], "does not fit"),
    ],
)
def test_fit_errors_name_the_column_and_the_problem(
    op: Op, values: list[Any] | pl.Series, message: str
) -> None:
    with pytest.raises(TransformError, match=message) as info:
        op.fit(pl.DataFrame({"x": values}, strict=False))
    assert info.value.hint


def test_fit_on_a_missing_column_lists_the_columns() -> None:
    with pytest.raises(TransformError, match=r"reads column 'age', which the frame lacks \(it has a, b\)"):
        Standardize("age").fit(pl.DataFrame({"a": [1], "b": [2]}))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Clip("x", -0.1, 0.5), "lower_quantile must be between 0 and 1"),
        (lambda: Clip("x", 0.9, 0.1), "is above upper_quantile"),
        (lambda: Bucketize("x", 0), "buckets must be 1 or more"),
        (lambda: Vocabulary("x", max_size=0), "max_size must be 1 or more"),
        (lambda: OneHot("x", min_count=0), "min_count must be 1 or more"),
        (lambda: FillNull("x", "mean", value=3), "a value goes with the 'constant' strategy"),
        (lambda: FillNull("x", "constant"), "a value goes with the 'constant' strategy"),
        (lambda: FillNull("x", "mostly"), "unknown strategy 'mostly'"),  # type: ignore[arg-type]
    ],
)
def test_bad_parameters_are_refused(make: Any, message: str) -> None:
    with pytest.raises(TransformError, match=message):
        make()


def test_an_unfitted_op_cannot_be_applied() -> None:
    with pytest.raises(TransformError, match=r"Standardize\('x'\) is not fitted"):
        Standardize("x").apply(pl.DataFrame({"x": [1.0]}))
    assert not Vocabulary("x").fitted
    assert NormalizeText("x").fitted  # nothing to learn


def test_op_from_dict_refuses_unknown_ops_and_fields() -> None:
    with pytest.raises(TransformError, match=r"unknown op 'scale'.*known ops are bucketize, clip"):
        op_from_dict({"op": "scale", "column": "x"})
    with pytest.raises(TransformError, match="op 'standardize' is malformed"):
        op_from_dict({"op": "standardize", "column": "x", "median": 3.0})


@pytest.mark.parametrize("op", [Standardize("x", mean=1.25, std=0.75), MinMax("x", min=1.25, max=2.0)])
def test_one_row_batches_give_the_bits_of_larger_batches(op: Op) -> None:
    # Polars divides an array of two or more values by a scalar as a multiplication by its
    # reciprocal, and a single value exactly: -1.25 / 0.75 differs in its last bit between the two
    # (0x...aab alone, 0x...aaa in a batch), so the ops must not divide
    alone = op.apply(pl.DataFrame({"x": [0.0]}))["x"][0]
    in_batch = op.apply(pl.DataFrame({"x": [0.0, 1.0, None]}))["x"][0]
    assert alone.hex() == in_batch.hex() == (-1.25 * (1 / 0.75)).hex()
