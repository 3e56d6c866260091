from collections.abc import Mapping, Sequence

import polars as pl
import pytest

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
