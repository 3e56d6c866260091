import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from datawheel.errors import StoreError
from datawheel.store import TableStore


def test_versions_and_schema_change(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    first = pl.DataFrame({"a": [1, 2]})
    second = pl.DataFrame({"a": ["x"], "b": [1.5]})
    assert store.write("d", first) == 0
    assert store.write("d", second) == 1
    assert_frame_equal(store.read("d", 0), first)
    assert_frame_equal(store.read("d", 1), second)
    assert store.read("d", 1, columns=["b"]).columns == ["b"]


def test_missing_table(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="the table of dataset 'd' is missing") as info:
        TableStore(tmp_path).read("d", 0)
    assert "restore" in str(info.value)


def test_corrupt_table(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("d", pl.DataFrame({"a": [1, 2]}))
    for part in store.path("d").glob("*.parquet"):
        part.write_bytes(b"not parquet at all")
    with pytest.raises(StoreError, match="corrupt"):
        store.read("d", 0)


def test_lost_data_files(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("d", pl.DataFrame({"a": [1, 2]}))
    for part in store.path("d").glob("*.parquet"):
        part.unlink()
    with pytest.raises(StoreError, match=r"corrupt|unreadable"):
        store.read("d", 0)


def test_broken_log(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("d", pl.DataFrame({"a": [1]}))
    shutil.rmtree(store.path("d") / "_delta_log")
    (store.path("d") / "_delta_log").mkdir()
    with pytest.raises(StoreError, match=r"missing|unreadable"):
        store.read("d", 0)


def test_row_order_kept_for_many_chunks(tmp_path: Path) -> None:
    parts = [pl.DataFrame({"i": range(k * 50_000, (k + 1) * 50_000)}) for k in range(6)]
    frame = pl.concat(parts, rechunk=False)
    assert frame.n_chunks() > 1
    store = TableStore(tmp_path)
    store.write("d", frame)
    assert store.read("d", 0)["i"].to_list() == list(range(300_000))


def test_batches_are_written_in_order_while_the_next_is_made(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("d", (pl.DataFrame({"i": range(k * 1000, (k + 1) * 1000)}) for k in range(20)))
    assert store.read("d", 0)["i"].to_list() == list(range(20_000))
    assert len(list(store.path("d").glob("*.parquet"))) == 20


def test_a_stream_that_fails_midway_leaves_no_files_and_the_last_version(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("d", pl.DataFrame({"i": [1, 2]}))
    before = set(store.path("d").glob("*.parquet"))

    def batches() -> Iterator[pl.DataFrame]:
        for k in range(5):
            yield pl.DataFrame({"i": range(k * 1000, (k + 1) * 1000)})
        raise ValueError("the source broke")

    with pytest.raises(ValueError, match="the source broke"):
        store.write("d", batches())
    assert set(store.path("d").glob("*.parquet")) == before
    assert store.read("d", 0)["i"].to_list() == [1, 2]


def test_a_batch_that_does_not_fit_the_first_fails_cleanly(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    frames = [pl.DataFrame({"i": [1]}), pl.DataFrame({"i": [2]}), pl.DataFrame({"i": ["x"]})]
    with pytest.raises(StoreError, match="does not fit the first batch's types"):
        store.write("d", iter(frames))
    assert not list(store.path("d").glob("*.parquet"))


def test_types_delta_lacks_are_stored_as_types_it_has(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "u8": pl.Series([1, 2], dtype=pl.UInt8),
            "u32": pl.Series([1, 4_000_000_000], dtype=pl.UInt32),
            "u64": pl.Series([1, 2], dtype=pl.UInt64),
            "cat": pl.Series(["a", "b"], dtype=pl.Categorical),
            "enum": pl.Series(["x", "y"], dtype=pl.Enum(["x", "y"])),
            "nothing": pl.Series([None, None], dtype=pl.Null),
            "nested": [{"n": 1}, {"n": 2}],
        }
    ).with_columns(pl.col("nested").cast(pl.Struct({"n": pl.UInt16})))
    store = TableStore(tmp_path)
    store.write("d", frame)
    back = store.read("d", 0)
    expected: dict[str, pl.DataType] = {
        "u8": pl.Int16(),
        "u32": pl.Int64(),
        "u64": pl.Int64(),
        "cat": pl.String(),
        "enum": pl.String(),
        "nothing": pl.String(),
        "nested": pl.Struct({"n": pl.Int32()}),
    }
    assert dict(back.schema) == expected
    assert back["u32"].to_list() == [1, 4_000_000_000]
    assert back["enum"].to_list() == ["x", "y"]


def test_uint64_past_int64_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot store columns big"):
        TableStore(tmp_path).write("d", pl.DataFrame({"big": pl.Series([2**63], dtype=pl.UInt64)}))
