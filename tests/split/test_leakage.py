"""Leakage across splits: exact content, groups, near-duplicate pairs; gap rows left out."""

import polars as pl

from datawheel.split import check_leakage


def test_exact_content_in_two_splits_is_leakage_but_within_one_split_is_not() -> None:
    frame = pl.DataFrame(
        {
            "text": ["same", "same", "twin", "twin", "alone"],
            "label": [1, 1, 0, 0, 1],
            "split": ["train", "test", "dev", "dev", "test"],
        }
    )
    report = check_leakage(frame)
    (exact,) = report.checks
    assert report.leaked
    assert (exact.kind, exact.keys, exact.rows) == ("exact", 1, 2)
    assert exact.examples[0]["splits"] == ["test", "train"]
    assert exact.examples[0]["value"] == "same"
    assert exact.examples[0]["ids"] == [0, 1]  # row positions when there is no _row_id


def test_content_columns_choose_what_counts_as_the_same() -> None:
    frame = pl.DataFrame({"text": ["a", "a"], "label": [0, 1], "split": ["train", "test"]})
    assert not check_leakage(frame).leaked
    assert check_leakage(frame, content=["text"]).leaked


def test_group_leakage_names_the_shared_groups() -> None:
    frame = pl.DataFrame(
        {
            "user": ["u1", "u1", "u2", "u3"],
            "text": ["a", "b", "c", "d"],
            "split": ["train", "dev", "dev", "dev"],
        }
    )
    exact, group = check_leakage(frame, group="user").checks
    assert exact.keys == 0
    assert (group.keys, group.rows) == (1, 2)
    assert group.examples[0]["value"] == "u1"


def test_near_pairs_across_splits_are_reported_with_their_text() -> None:
    frame = pl.DataFrame(
        {
            "_row_id": ["r1", "r2", "r3", "r4"],
            "text": ["free entry now", "free entry now!", "hello", "hello there"],
            "split": ["train", "test", "dev", "dev"],
        }
    )
    pairs = pl.DataFrame({"a": ["r2", "r4"], "b": ["r1", "r3"], "similarity": [0.9, 0.8]})
    near = check_leakage(frame, near_pairs=pairs).to_dict()["near"]
    assert (near["found"], near["rows"], near["pairs_checked"]) == (1, 2, 2)
    assert near["examples"][0] == {
        "splits": ["test", "train"],
        "ids": ["r2", "r1"],
        "values": ["free entry now!", "free entry now"],
        "similarity": 0.9,
    }


def test_rows_in_a_time_gap_do_not_count() -> None:
    frame = pl.DataFrame({"text": ["x", "x"], "split": ["train", "gap"]})
    assert not check_leakage(frame).leaked
