from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datawheel.clean._dedup import DedupResult, choose_bands, exact_duplicates, near_duplicates
from datawheel.errors import CleanError

ROOT = Path(__file__).resolve().parents[2]
SMS = ROOT / "src/datawheel/demo/data/SMSSpamCollection"
KOREAN = ROOT / "tests/data/korean_hate_speech/labeled_train_head300.tsv"


@pytest.fixture(scope="module")
def sms() -> pl.DataFrame:
    return pl.read_csv(SMS, separator="\t", has_header=False, new_columns=["label", "text"], quote_char=None)


@pytest.fixture(scope="module")
def korean() -> pl.DataFrame:
    return pl.read_csv(KOREAN, separator="\t", quote_char=None).select("comments")


def test_sms_exact_duplicates_as_written(sms: pl.DataFrame) -> None:
    result = exact_duplicates(sms, "text", lowercase=False, collapse_whitespace=False, nfkc=False)
    assert (sms.height, result.kept.height, result.removed.height) == (5574, 5171, 403)
    assert result.clusters == 281  # distinct texts that occur more than once
    assert result.kept["text"].n_unique() == result.kept.height
    assert result.removed["reason"].unique().to_list() == ["exact duplicate"]


def test_sms_exact_duplicates_normalised(sms: pl.DataFrame) -> None:
    result = exact_duplicates(sms, "text")
    assert (result.kept.height, result.removed.height) == (5159, 415)
    stats = result.to_dict()
    assert stats["rows_in"] == stats["kept"] + stats["removed"] == 5574


def test_sms_near_duplicates_include_exact(sms: pl.DataFrame) -> None:
    result = near_duplicates(sms, "text", threshold=0.8)
    assert result.params["shingle"] == "word"
    exact = exact_duplicates(sms, "text")
    assert set(exact.removed["text"]) <= set(result.removed["text"])  # exact duplicates are caught too
    assert result.removed.height > exact.removed.height  # and near duplicates beyond them
    near = result.removed.filter(pl.col("reason") == "near duplicate")["similarity"].to_list()
    assert near
    assert max(near) < 1.0


def _edits(korean: pl.DataFrame) -> tuple[pl.DataFrame, list[tuple[int, int]]]:
    texts = korean["comments"].to_list()
    long = [i for i, t in enumerate(texts) if len(t) >= 40][:4]
    edited = [
        texts[long[0]] + "!!",
        texts[long[1]].replace(" ", "  ", 1) + ".",
        texts[long[2]][:-3] + "정말",
        "ㅋㅋ " + texts[long[3]],
    ]
    frame = pl.DataFrame({"comments": [*texts, *edited]})
    return frame, [(long[k], len(texts) + k) for k in range(4)]


def test_korean_near_duplicates_with_character_shingles(korean: pl.DataFrame) -> None:
    frame, pairs = _edits(korean)
    result = near_duplicates(frame, "comments", threshold=0.7)
    assert result.params["shingle"] == "char"
    assert result.params["n"] == 5
    removed = dict(result.removed.select(pl.col("comments"), pl.col("duplicate_of")).iter_rows())
    for original, copy in pairs:
        assert removed[frame["comments"][copy]] == original
    # the distinct comments stay: nothing of the original 300 is removed
    assert result.removed.height == len(pairs)
    assert min(result.removed["similarity"].to_list()) >= 0.7


def test_row_id_names_the_representative() -> None:
    frame = pl.DataFrame({"_row_id": ["r1", "r2", "r3"], "text": ["a b c d", "x y z", "A  b c d"]})
    result = exact_duplicates(frame, "text")
    assert result.removed.select("_row_id", "duplicate_of", "similarity").rows() == [("r3", "r1", 1.0)]


def test_nulls_and_empty_texts() -> None:
    frame = pl.DataFrame({"text": [None, "", None, " ", "hello world"]})
    result = near_duplicates(frame, "text")
    assert result.kept["text"].to_list() == [None, "", None, "hello world"]
    assert result.removed.select("duplicate_of", "reason").rows() == [(1, "exact duplicate")]


def test_empty_frame_gives_empty_result() -> None:
    frame = pl.DataFrame({"text": []}, schema={"text": pl.String})
    for result in (exact_duplicates(frame, "text"), near_duplicates(frame, "text")):
        assert (result.kept.height, result.removed.height, result.clusters) == (0, 0, 0)
        assert {"duplicate_of", "similarity", "reason"} <= set(result.removed.columns)


@pytest.mark.parametrize(
    ("threshold", "permutations", "expected"),
    [(0.8, 128, (16, 8)), (0.5, 128, (26, 3)), (1.0, 128, (1, 128)), (0.9, 64, None)],
)
def test_choose_bands(threshold: float, permutations: int, expected: tuple[int, int] | None) -> None:
    bands, rows = choose_bands(threshold, permutations)
    assert bands * rows <= permutations
    if expected is not None:
        assert (bands, rows) == expected


BAD: list[tuple[dict[str, Any], str]] = [
    ({"column": "nope"}, "no column 'nope'"),
    ({"column": "number"}, "holds Int64, not text"),
    ({"threshold": 0.0}, "outside (0, 1]"),
    ({"threshold": 1.5}, "outside (0, 1]"),
    ({"threshold": -0.2}, "outside (0, 1]"),
    ({"n": 0}, "below 1"),
    ({"permutations": 0}, "below 1"),
    ({"bands": 20, "rows": 8}, "do not fit"),
    ({"bands": 4}, "do not fit"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD)
def test_bad_input(kwargs: dict[str, Any], message: str) -> None:
    frame = pl.DataFrame({"text": ["a", "b"], "number": [1, 2]})
    column = kwargs.pop("column", "text")
    with pytest.raises(
        CleanError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ) as info:
        near_duplicates(frame, column, **kwargs)
    assert info.value.hint


def test_exact_rejects_non_text() -> None:
    with pytest.raises(CleanError, match="not text"):
        exact_duplicates(pl.DataFrame({"x": [1.0]}), "x")


WORDS = st.sampled_from(["spam", "ham", "free", "entry", "win", "call", "now", "prize", "txt", "ok"])
TEXTS = st.lists(st.lists(WORDS, min_size=0, max_size=12).map(" ".join), max_size=40)


@settings(max_examples=40, deadline=None)
@given(TEXTS, st.sampled_from([0.5, 0.8, 1.0]))
def test_invariants_near(texts: list[str], threshold: float) -> None:
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String}).with_row_index("_row_id")
    frame = frame.with_columns(pl.col("_row_id").cast(pl.Int64))
    result = near_duplicates(frame, "text", threshold=threshold, shingle="word", n=2)
    _check_row_id_invariants(frame, result)


@settings(max_examples=40, deadline=None)
@given(TEXTS)
def test_invariants_exact(texts: list[str]) -> None:
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String}).with_row_index("_row_id")
    frame = frame.with_columns(pl.col("_row_id").cast(pl.Int64))
    result = exact_duplicates(frame, "text")
    _check_row_id_invariants(frame, result)
    assert result.kept["text"].n_unique() == result.kept.height


def _check_row_id_invariants(frame: pl.DataFrame, result: DedupResult) -> None:
    assert result.kept.height + result.removed.height == frame.height
    kept = set(result.kept["_row_id"].to_list())
    removed = result.removed["_row_id"].to_list()
    assert kept.isdisjoint(removed)
    assert kept | set(removed) == set(frame["_row_id"].to_list())
    assert result.kept["_row_id"].to_list() == sorted(kept)  # the frame's order is kept
    clusters: dict[int, set[int]] = {}
    for row, rep in result.removed.select("_row_id", "duplicate_of").iter_rows():
        assert rep in kept  # every removed row points at a kept row
        assert rep < row  # the representative is the earliest row of its cluster
        clusters.setdefault(rep, {rep}).add(row)
    seen: set[int] = set()
    for members in clusters.values():
        assert not members & seen  # clusters are disjoint
        seen |= members
    assert result.clusters == len(clusters)
    assert result.removed["similarity"].is_between(0.0, 1.0).all()
