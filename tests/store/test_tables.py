import shutil
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
