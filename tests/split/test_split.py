"""split_frame in every mode: exact stratification, groups, multi-label, time, stable; and bad input."""

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datawheel.errors import SplitError
from datawheel.split import GAP, split_frame

KOREAN = Path(__file__).parents[1] / "data" / "korean_hate_speech" / "labeled_train_head300.tsv"
RATIOS = [0.6, 0.2, 0.2]


def korean() -> pl.DataFrame:
    return pl.read_csv(KOREAN, separator="\t", quote_char=None)


def test_100_rows_30_positives_split_exactly_18_6_6() -> None:
    frame = pl.DataFrame({"label": [1] * 30 + [0] * 70, "x": range(100)})
    for seed in range(5):
        result = split_frame(frame, RATIOS, stratify=["label"], seed=seed)
        counts = result.frame.group_by("split", "label").len()
        got = {(s, y): n for s, y, n in counts.iter_rows()}
        assert [got[(s, 1)] for s in ("train", "dev", "test")] == [18, 6, 6]
        assert [got[(s, 0)] for s in ("train", "dev", "test")] == [42, 14, 14]
        assert result.report.split_rows == {"train": 60, "dev": 20, "test": 20}
        assert result.report.max_class_deviation < 1e-9


def test_same_seed_same_split_and_other_seeds_differ() -> None:
    frame = pl.DataFrame({"label": [1] * 30 + [0] * 70})
    a = split_frame(frame, RATIOS, stratify=["label"], seed=1).frame["split"]
    b = split_frame(frame, RATIOS, stratify=["label"], seed=1).frame["split"]
    c = split_frame(frame, RATIOS, stratify=["label"], seed=2).frame["split"]
    assert a.to_list() == b.to_list()
    assert a.to_list() != c.to_list()


def test_joint_stratification_and_float_columns_are_binned() -> None:
    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {"a": rng.integers(0, 3, 600), "b": rng.choice(["x", "y"], 600), "v": rng.random(600)}
    )
    joint = split_frame(frame, [0.5, 0.5], stratify=["a", "b"])
    assert len(joint.report.classes) == 6
    assert all("|" in label for label in joint.report.classes)
    assert joint.report.max_class_deviation < 1
    binned = split_frame(frame, [0.5, 0.5], stratify=["v"], bins=4)
    assert len(binned.report.classes) == 4
    assert all(label.startswith("[") for label in binned.report.classes)


def test_default_names_and_custom_names() -> None:
    frame = pl.DataFrame({"x": range(10)})
    assert split_frame(frame, [0.8, 0.2]).report.names == ("train", "test")
    named = split_frame(frame, [0.5, 0.3, 0.2], names=["a", "b", "c"])
    assert named.report.split_rows == {"a": 5, "b": 3, "c": 2}
    assert named.part("c").columns == ["x"]


def test_a_class_with_fewer_rows_than_splits_warns_and_says_where_rows_went() -> None:
    frame = pl.DataFrame({"label": ["rare"] * 2 + ["common"] * 98})
    result = split_frame(frame, RATIOS, stratify=["label"])
    (warning,) = result.report.warnings
    assert "fewer rows than the 3 splits" in warning
    assert "'rare' (2 rows: " in warning
    rare = result.frame.filter(pl.col("label") == "rare")["split"].to_list()
    assert len(set(rare)) == 2  # one row in each of two splits, never both in one


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ratios": [0.6, 0.2, 0.1]}, "sum to 0.9, not 1"),
        ({"ratios": [1.0]}, "two or more"),
        ({"ratios": [0.5, 0.5], "names": ["a"]}, r"1 names \(a\) for 2 ratios"),
        ({"ratios": [0.5, 0.5], "names": ["a", "a"]}, "must be distinct"),
        ({"ratios": [0.5, 0.5], "stratify": ["nope"]}, "no column 'nope'"),
        ({"ratios": [0.5, 0.5], "group": "nope"}, "no column 'nope'"),
        ({"ratios": [0.5, 0.5], "time": "label", "group": "label"}, "cannot also be grouped"),
        ({"ratios": [0.5, 0.5], "stable": True}, "no column '_row_id'"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs: dict[str, object], message: str) -> None:
    frame = pl.DataFrame({"label": ["a", "b"] * 5})
    ratios = kwargs.pop("ratios")
    with pytest.raises(SplitError, match=message) as info:
        split_frame(frame, ratios, **kwargs)  # type: ignore[arg-type]
    assert info.value.hint


labels = st.lists(st.sampled_from(["a", "b", "c", "d", None]), min_size=1, max_size=200)
ratio_sets = st.sampled_from([[0.5, 0.5], [0.6, 0.2, 0.2], [0.7, 0.3], [0.5, 0.25, 0.15, 0.1]])


@settings(max_examples=60, deadline=None)
@given(labels, ratio_sets, st.integers(0, 1000))
def test_stratified_is_complete_and_each_class_within_one_of_its_target(
    values: list[str | None], ratios: list[float], seed: int
) -> None:
    frame = pl.DataFrame({"y": values}, schema={"y": pl.String})
    result = split_frame(frame, ratios, stratify=["y"], seed=seed)
    assert result.frame.height == frame.height
    assert set(result.frame["split"]) <= set(result.report.names)
    assert sum(result.report.split_rows.values()) == frame.height
    totals = result.report.classes
    for name, ratio in zip(result.report.names, ratios, strict=True):
        for label, total in totals.items():
            got = result.report.split_classes[name].get(label, 0)
            assert abs(got - total * ratio) < 1 + 1e-9
    again = split_frame(frame, ratios, stratify=["y"], seed=seed)
    assert again.frame["split"].to_list() == result.frame["split"].to_list()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["p", "q"])), min_size=1, max_size=300),
    ratio_sets,
    st.integers(0, 1000),
)
def test_groups_never_cross_splits(rows: list[tuple[int, str]], ratios: list[float], seed: int) -> None:
    frame = pl.DataFrame({"user": [r[0] for r in rows], "y": [r[1] for r in rows]})
    result = split_frame(frame, ratios, group="user", stratify=["y"], seed=seed)
    assert result.frame.height == frame.height
    per_group = result.frame.group_by("user").agg(pl.col("split").n_unique().alias("n"))
    assert per_group["n"].max() == 1
    again = split_frame(frame, ratios, group="user", stratify=["y"], seed=seed)
    assert again.frame["split"].to_list() == result.frame["split"].to_list()


def test_group_split_reports_achieved_against_target() -> None:
    rng = np.random.default_rng(3)
    frame = pl.DataFrame({"user": rng.integers(0, 2000, 20_000), "y": rng.integers(0, 4, 20_000)})
    report = split_frame(frame, RATIOS, group="user", stratify=["y"]).report
    assert report.max_ratio_deviation < 0.005
    assert sum(report.groups.values()) == frame["user"].n_unique()
    dumped = report.to_dict()
    assert dumped["splits"]["train"]["target"] == 0.6
    assert abs(dumped["splits"]["train"]["share"] - 0.6) < 0.005


def test_one_huge_group_is_reported_when_ratios_cannot_be_met() -> None:
    frame = pl.DataFrame({"user": [0] * 90 + list(range(1, 11))})
    result = split_frame(frame, [0.5, 0.5], group="user")
    assert result.report.split_rows["train"] == 90
    assert any("groups too large" in w for w in result.report.warnings)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.integers(1, 300), st.integers(0, 1000), ratio_sets)
def test_stable_mode_never_moves_old_rows_after_appends(
    old: int, new: int, seed: int, ratios: list[float]
) -> None:
    ids = [f"row-{i}" for i in range(old + new)]
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame({"_row_id": ids, "y": rng.integers(0, 3, old + new)})
    before = split_frame(frame.head(old), ratios, stable=True, stratify=["y"], seed=seed).frame
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    after = split_frame(shuffled, ratios, stable=True, stratify=["y"], seed=seed).frame
    joined = before.join(after, on="_row_id", suffix="_after")
    assert joined.height == old
    assert joined["split"].to_list() == joined["split_after"].to_list()


def test_stable_mode_balances_new_rows_in_expectation() -> None:
    frame = pl.DataFrame({"_row_id": [f"id{i}" for i in range(20_000)], "y": [i % 2 for i in range(20_000)]})
    report = split_frame(frame, RATIOS, stable=True, stratify=["y"], seed=5).report
    for name, ratio in zip(report.names, RATIOS, strict=True):
        for label in ("0", "1"):
            # each of 10,000 rows lands in a split with probability ratio: within 4 standard deviations
            assert abs(report.split_classes[name][label] - 10_000 * ratio) < 4 * np.sqrt(
                10_000 * ratio * (1 - ratio)
            )


def test_multilabel_balances_every_label_on_the_korean_hate_speech_data() -> None:
    frame = korean()
    result = split_frame(frame, RATIOS, multilabel=["bias", "hate"], seed=0)
    report = result.report
    assert set(report.classes) == {
        "bias=gender",
        "bias=none",
        "bias=others",
        "hate=hate",
        "hate=none",
        "hate=offensive",
    }
    assert report.max_class_deviation <= 2.0
    for name, ratio in zip(report.names, RATIOS, strict=True):
        assert abs(report.split_rows[name] - 300 * ratio) <= 2
        for label, total in report.classes.items():
            assert abs(report.split_classes[name][label] / total - ratio) < 0.04


def test_multilabel_beats_a_random_split_on_label_balance() -> None:
    frame = korean()
    iterative = split_frame(frame, RATIOS, multilabel=["bias", "hate"]).report.max_class_deviation
    random_worst = []
    for seed in range(10):
        rnd = split_frame(frame, RATIOS, seed=seed).frame
        dev = 0.0
        for column in ("bias", "hate"):
            table = rnd.group_by(column, "split").len()
            totals = rnd.group_by(column).len()
            for value, total in totals.iter_rows():
                for name, ratio in zip(("train", "dev", "test"), RATIOS, strict=True):
                    got = table.filter((pl.col(column) == value) & (pl.col("split") == name))["len"].sum()
                    dev = max(dev, abs(got - total * ratio))
        random_worst.append(dev)
    assert iterative < min(random_worst)


def test_multilabel_accepts_list_and_boolean_columns() -> None:
    frame = pl.DataFrame({"tags": [["a", "b"], ["a"], [], ["b"]] * 25, "flag": [True, False] * 50})
    report = split_frame(frame, [0.5, 0.5], multilabel=["tags", "flag"]).report
    assert set(report.classes) == {"tags=a", "tags=b", "flag"}
    assert report.classes["tags=a"] == 50
    assert report.max_class_deviation <= 1.0


def test_time_split_by_ratios_keeps_order_and_gap() -> None:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(100)]
    frame = pl.DataFrame({"day": days, "x": range(100)}).sample(fraction=1.0, shuffle=True, seed=1)
    result = split_frame(frame, RATIOS, time="day")
    parts = {n: result.part(n)["day"] for n in ("train", "dev", "test")}
    assert result.report.split_rows == {"train": 60, "dev": 20, "test": 20}
    assert parts["train"].max() < parts["dev"].min()  # type: ignore[operator]
    assert parts["dev"].max() < parts["test"].min()  # type: ignore[operator]
    gapped = split_frame(frame, RATIOS, time="day", gap="5d")
    assert gapped.report.gap_rows == 10
    assert gapped.report.split_rows == {"train": 55, "dev": 15, "test": 20}
    assert gapped.part(GAP).height == 10


def test_time_split_by_cutoffs_and_numbers() -> None:
    frame = pl.DataFrame({"t": list(range(10))})
    result = split_frame(frame, [0.5, 0.5], time="t", cutoffs=[7])
    assert result.report.split_rows == {"train": 7, "test": 3}
    assert split_frame(frame, [0.5, 0.5], time="t", cutoffs=[7], gap=2).report.gap_rows == 2
    stamps = pl.DataFrame(
        {"when": pl.datetime_range(pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 10), "1d", eager=True)}
    )
    by_date = split_frame(stamps, [0.5, 0.5], time="when", cutoffs=["2024-01-08"])
    assert by_date.report.split_rows == {"train": 7, "test": 3}
    with pytest.raises(SplitError, match="not increasing"):
        split_frame(frame, RATIOS, time="t", cutoffs=[5, 3])
    with pytest.raises(SplitError, match="1 cut-offs for 3 splits"):
        split_frame(frame, RATIOS, time="t", cutoffs=[5])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=200), ratio_sets)
def test_time_split_never_puts_a_later_row_before_an_earlier_one(
    times: list[int], ratios: list[float]
) -> None:
    frame = pl.DataFrame({"t": times})
    result = split_frame(frame, ratios, time="t").frame
    order = {n: i for i, n in enumerate(split_frame(frame, ratios, time="t").report.names)}
    ranked = result.with_columns(pl.col("split").replace_strict(order, return_dtype=pl.Int64).alias("k"))
    bounds = ranked.group_by("k").agg(pl.col("t").min().alias("lo"), pl.col("t").max().alias("hi")).sort("k")
    assert all(a < b for a, b in zip(bounds["hi"][:-1], bounds["lo"][1:], strict=True))
