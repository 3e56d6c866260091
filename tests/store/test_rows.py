import itertools
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from datawheel.errors import StoreError
from datawheel.store import (
    ROW_HASH,
    ROW_ID,
    KeyConflict,
    RowIdentity,
    check_keys,
    id_prints,
    identify_scan,
    with_row_identity,
)
from datawheel.store._rows import FingerprintSet


def test_content_ids_are_stable_and_distinct_for_repeats() -> None:
    frame = pl.DataFrame({"label": ["ham", "spam", "ham"], "text": ["hi", "WIN", "hi"]})
    first = with_row_identity(frame)
    again = with_row_identity(frame)
    assert first[ROW_ID].to_list() == again[ROW_ID].to_list()
    assert first[ROW_ID].n_unique() == 3
    assert first[ROW_HASH][0] == first[ROW_HASH][2]
    assert first[ROW_HASH].dtype == pl.Int64
    assert first.columns == ["label", "text", ROW_ID, ROW_HASH]


def test_ids_are_the_same_as_ever() -> None:
    """The ids of known rows, so that a change to how ids are made cannot pass unseen."""
    content = with_row_identity(pl.DataFrame({"text": ["a", "b", "a"], "n": [1, None, 1]}))
    assert content[ROW_ID].to_list() == [
        "320d93275682129b69da10fe3fe1c016",
        "984f2ebde4c3a7e498ae16c0aafcd51c",
        "2ba354e5006aea62428991643d39a412",
    ]
    assert content[ROW_HASH].to_list() == [3606700673758007963, -7471701863662639132, 3606700673758007963]
    keyed = with_row_identity(pl.DataFrame({"id": [7], "x": ["\u00e9"]}), key=["id"])
    assert keyed[ROW_ID].to_list() == ["2333fc66e3f5c42e34651a15afaa93b1"]


def test_ids_do_not_depend_on_other_rows() -> None:
    small = with_row_identity(pl.DataFrame({"text": ["a", "b"]}))
    large = with_row_identity(pl.DataFrame({"text": ["z", "b", "a", "y"]}))
    assert set(small[ROW_ID]) <= set(large[ROW_ID])


def test_key_ids_survive_content_changes() -> None:
    before = with_row_identity(pl.DataFrame({"id": [1, 2], "x": ["a", "b"]}), key=["id"])
    after = with_row_identity(pl.DataFrame({"id": [2, 1], "x": ["B", "a"]}), key=["id"])
    assert dict(zip(before["id"], before[ROW_ID], strict=True)) == dict(
        zip(after["id"], after[ROW_ID], strict=True)
    )
    assert before[ROW_HASH][1] != after[ROW_HASH][0]


def test_kept_ids_and_new_rows() -> None:
    v1 = with_row_identity(pl.DataFrame({"text": ["a", "b"]}))
    edited = pl.concat(
        [v1.with_columns(pl.col("text").str.to_uppercase()), pl.DataFrame({"text": ["c"]})], how="diagonal"
    )
    v2 = with_row_identity(edited)
    assert v2[ROW_ID][:2].to_list() == v1[ROW_ID].to_list()
    assert v2[ROW_ID][2] is not None
    assert v2[ROW_HASH][0] != v1[ROW_HASH][0]


@pytest.mark.parametrize(
    ("frame", "key", "message"),
    [
        (
            pl.DataFrame({"id": [1, 1], "x": ["a", "b"]}),
            ["id"],
            r"key \(id\) is not unique: id=1 occurs 2 times",
        ),
        (pl.DataFrame({"id": [1]}), ["nope"], "key column 'nope' is not in the table"),
        (pl.DataFrame({"_only": [1]}), None, "no data columns"),
        (pl.DataFrame({"x": [1, 2], ROW_ID: ["same", "same"]}), None, "occurs more than once"),
    ],
)
def test_identity_errors(frame: pl.DataFrame, key: list[str] | None, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        with_row_identity(frame, key=key)


@given(st.lists(st.tuples(st.text(max_size=5), st.integers(-3, 3) | st.none()), max_size=30))
def test_ids_unique_for_any_rows(rows: list[tuple[str, int | None]]) -> None:
    frame = pl.DataFrame(rows, schema={"s": pl.String, "n": pl.Int64}, orient="row")
    out = with_row_identity(frame)
    assert out[ROW_ID].n_unique() == len(rows)
    assert out[ROW_ID].null_count() == 0


@given(
    st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=40),
    st.lists(st.integers(0, 40), max_size=4),
)
def test_batches_give_the_ids_of_the_whole(values: list[str], cuts: list[int]) -> None:
    frame = pl.DataFrame({"t": values}, schema={"t": pl.String})
    whole = with_row_identity(frame)
    ids = RowIdentity()
    edges = sorted({0, len(values), *(min(c, len(values)) for c in cuts)})
    parts = [ids.apply(frame.slice(a, b - a)) for a, b in itertools.pairwise(edges)]
    joined = pl.concat(parts) if parts else whole
    assert joined[ROW_ID].to_list() == whole[ROW_ID].to_list()
    assert whole[ROW_ID].n_unique() == len(values)


def test_key_repeated_across_batches() -> None:
    ids = RowIdentity(["id"])
    ids.apply(pl.DataFrame({"id": [1, 2]}))
    with pytest.raises(StoreError, match="occurs more than once"):
        ids.apply(pl.DataFrame({"id": [3, 1]}))


def test_appended_repeat_of_a_kept_row_gets_the_next_number() -> None:
    old = with_row_identity(pl.DataFrame({"t": ["a", "a", "b"]}))
    ids = RowIdentity()
    ids.apply(old)  # the earlier version, ids kept
    new = ids.apply(pl.DataFrame({"t": ["a", "c"]}))
    whole = with_row_identity(pl.DataFrame({"t": ["a", "a", "b", "a", "c"]}))
    assert new[ROW_ID].to_list() == whole[ROW_ID].to_list()[3:]


@given(st.lists(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 50), max_size=300), max_size=30))
def test_fingerprint_set_agrees_with_a_set(batches: list[list[int]]) -> None:
    fingerprints, plain = FingerprintSet(), set()
    for batch in batches:
        prints = np.array(batch, dtype=np.uint64)
        assert fingerprints.contains(prints).tolist() == [p in plain for p in batch]
        fingerprints.add(prints)
        plain.update(batch)
    probe = np.array([*sorted(plain)[:50], 7, 2**63], dtype=np.uint64)
    assert fingerprints.contains(probe).tolist() == [int(p) in plain for p in probe]


def test_fingerprint_set_of_many_agrees_with_numpy() -> None:
    rng = np.random.default_rng(7)
    batches = [rng.integers(0, 2**64, 40_000, dtype=np.uint64, endpoint=False) for _ in range(8)]
    batches[6][:500] = batches[3][:500]  # seen before, in an earlier batch
    fingerprints, seen = FingerprintSet(), np.array([], dtype=np.uint64)
    for batch in batches:
        assert np.array_equal(fingerprints.contains(batch), np.isin(batch, seen))
        fingerprints.add(batch)
        seen = np.concatenate([seen, batch])
    assert fingerprints.contains(batches[6][:500]).all()


def test_check_keys_reads_the_ids_unless_streamed_one_a_row(tmp_path: Path) -> None:
    frame = pl.DataFrame({"k": [1, 2, 3], "v": ["a", "b", "c"]})
    part = tmp_path / "part.parquet"
    streamed: list[np.ndarray] = []
    identify_scan(frame.lazy(), key=["k"], prints=streamed).sink_parquet(part)
    assert_frame_equal(pl.read_parquet(part), RowIdentity(["k"]).apply(frame))
    assert sorted(np.concatenate(streamed).tolist()) == sorted(
        id_prints(pl.read_parquet(part)[ROW_ID]).tolist()
    )
    check_keys([part], ["k"], prints=streamed)
    check_keys([part], ["k"])  # read from the file
    check_keys([part], ["k"], prints=streamed * 2)  # a piece seen twice: read from the file, no false alarm
    repeated = tmp_path / "repeated.parquet"
    identify_scan(pl.concat([frame, frame.head(1)]).lazy(), key=["k"]).sink_parquet(repeated)
    with pytest.raises(KeyConflict, match="two rows have one key"):
        check_keys([part, repeated], ["k"])
