import random
from collections.abc import Mapping, Sequence

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from datawheel.store import ROW_ID, diff_versions, with_row_identity


def _v(data: Mapping[str, Sequence[object]], key: list[str] | None = None) -> pl.LazyFrame:
    return with_row_identity(pl.DataFrame(data), key=key).lazy()


def test_known_edits_counted() -> None:
    ids = list(range(100))
    before = _v({"id": ids, "text": [f"t{i}" for i in ids]}, ["id"])
    edited = [i for i in ids if i >= 10]  # remove 0..9
    texts = [f"t{i}" if i % 20 else f"T{i}" for i in edited]  # change 20, 40, 60, 80
    after = _v({"id": [*edited, 100, 101, 102], "text": [*texts, "n0", "n1", "n2"]}, ["id"])
    diff = diff_versions(before, after, sample=2)
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (3, 10, 4, 86)
    assert len(diff.sample_added) == 2
    assert len(diff.sample_removed) == 2
    assert {c["columns"]["text"][1] for c in diff.sample_changed} <= {"T20", "T40", "T60", "T80"}
    assert all(set(c["columns"]) == {"text"} for c in diff.sample_changed)


def test_identical_versions() -> None:
    frame = _v({"x": [1, 2, 3]})
    diff = diff_versions(frame, frame)
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (0, 0, 0, 3)
    assert diff.to_dict()["sample"] == {"added": [], "removed": [], "changed": []}


def test_schema_changes_reported() -> None:
    before = _v({"id": [1, 2], "a": [1, 2], "gone": ["x", "y"]}, ["id"])
    after = _v({"id": [1, 2], "a": [1.0, 2.0], "new": [True, False]}, ["id"])
    diff = diff_versions(before, after)
    assert diff.columns.added == ("new",)
    assert diff.columns.removed == ("gone",)
    assert diff.columns.retyped == ("a",)
    assert diff.changed == 2  # the content of every row changed with the columns
    change = diff.sample_changed[0]["columns"]
    assert change["new"][0] is None
    assert change["gone"][1] is None


def test_json_shape_is_stable() -> None:
    shape = diff_versions(_v({"x": [1]}), _v({"x": [2]}), a_name="d@1", b_name="d@2").to_dict()
    assert {"a", "b", "added", "removed", "changed", "unchanged", "columns", "sample"} <= set(shape)
    assert shape["a"] == "d@1"
    assert all(isinstance(shape[k], int) for k in ("added", "removed", "changed"))


@pytest.mark.parametrize("sample", [0, 1, 50])
def test_sample_size(sample: int) -> None:
    diff = diff_versions(_v({"x": [1, 2, 3]}), _v({"x": [4, 5, 6]}), sample=sample)
    assert len(diff.sample_added) == min(sample, 3)
    assert all(ROW_ID in r for r in diff.sample_added)


@given(
    st.lists(st.integers(0, 3), min_size=0, max_size=60),  # per row: 0 keep, 1 change, 2 remove, 3 keep
    st.integers(0, 5),
    st.randoms(use_true_random=False),
)
def test_diff_agrees_with_ground_truth_in_any_row_order(
    fates: list[int], new: int, rng: random.Random
) -> None:
    ids = list(range(len(fates)))
    before = with_row_identity(pl.DataFrame({"id": ids, "x": [f"v{i}" for i in ids]}), key=["id"])
    kept = [(i, f"w{i}" if fate == 1 else f"v{i}") for i, fate in zip(ids, fates, strict=True) if fate != 2]
    kept += [(1000 + j, "new") for j in range(new)]
    after_rows = pl.DataFrame(kept, schema={"id": pl.Int64, "x": pl.String}, orient="row")
    after = with_row_identity(after_rows, key=["id"])
    expected = (new, fates.count(2), fates.count(1), fates.count(0) + fates.count(3))
    in_order = diff_versions(before.lazy(), after.lazy())
    shuffled = diff_versions(
        before.lazy(), after.sample(fraction=1.0, shuffle=True, seed=rng.randint(0, 99)).lazy()
    )
    for d in (in_order, shuffled):
        assert (d.added, d.removed, d.changed, d.unchanged) == expected
    assert in_order.to_dict() == shuffled.to_dict()


def test_appended_rows_are_added_on_the_aligned_path() -> None:
    before = with_row_identity(pl.DataFrame({"t": ["a", "b"]}))
    after = with_row_identity(pl.concat([before, pl.DataFrame({"t": ["c"]})], how="diagonal"))
    d = diff_versions(before.lazy(), after.lazy())
    assert (d.added, d.removed, d.changed, d.unchanged) == (1, 0, 0, 2)
    assert d.sample_added[0]["t"] == "c"
    back = diff_versions(after.lazy(), before.lazy())
    assert (back.added, back.removed) == (0, 1)


def test_fingerprint_collisions_fall_back_to_exact_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    from datawheel.store import _diff

    monkeypatch.setattr(_diff, "_fingerprint", lambda name: pl.lit(0, pl.UInt64).alias(name))  # all collide
    before = with_row_identity(pl.DataFrame({"id": [1, 2, 3, 4], "x": list("abcd")}), key=["id"])
    after = with_row_identity(pl.DataFrame({"id": [5, 3, 2], "x": ["e", "C", "b"]}), key=["id"])
    d = diff_versions(before.lazy(), after.lazy())
    assert (d.added, d.removed, d.changed, d.unchanged) == (1, 2, 1, 1)
