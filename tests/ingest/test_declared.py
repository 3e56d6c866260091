"""--schema, --null-values and --trim mean the same for every format, not for CSV alone."""

import json
import shutil
import sqlite3
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

import polars as pl
import pytest

from datawheel.errors import IngestError
from datawheel.ingest import LINE, Reading, ReadOptions, open_source, read_jsonl
from datawheel.store import BlobStore

DIGITS = Path(__file__).parents[1] / "data" / "digits_png"


def read_all(reading: Reading) -> tuple[pl.DataFrame, pl.DataFrame]:
    batches = list(reading.batches)
    return pl.concat([b.frame for b in batches]), pl.concat([b.quarantine for b in batches])


def test_json_array_values_are_cast_to_declared_types_and_misfits_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    path.write_text(json.dumps([{"n": 1, "when": "2024-05-01"}, {"n": "two", "when": "soon"}, {"n": 2.5}]))
    options = ReadOptions(schema={"n": pl.Int64(), "when": pl.Date()})
    frame, bad = read_all(open_source(path, options=options))
    assert frame.schema["n"] == pl.Int64
    assert frame.schema["when"] == pl.Date
    assert frame.select("n", "when", LINE).rows() == [(1, date(2024, 5, 1), 1)]
    assert bad["line"].to_list() == [2, 3]
    assert bad["reason"].to_list() == [
        "column 'n': 'two' is not int; column 'when': 'soon' is not date",
        "column 'n': '2.5' is not int",
    ]
    assert json.loads(bad["raw"][1]) == {"n": "2.5", "when": None}
    assert bad["file"].unique().to_list() == [str(path)]


def test_parquet_numbers_are_cast_when_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "scores.parquet"
    pl.DataFrame({"score": [1.0, 2.5, None, 4.0], "flag": [0, 1, 1, 2]}).write_parquet(path)
    options = ReadOptions(schema={"score": pl.Int64(), "flag": pl.Boolean()})
    frame, bad = read_all(open_source(path, options=options))
    assert frame.select("score", "flag", LINE).rows() == [(1, False, 1), (None, True, 3)]
    assert bad.select("line", "reason").rows() == [
        (2, "column 'score': '2.5' is not int"),
        (4, "column 'flag': '2' is not bool"),
    ]


def test_a_query_result_is_typed_as_declared(tmp_path: Path) -> None:
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE sales (id INTEGER, day TEXT)")
        db.executemany("INSERT INTO sales VALUES (?, ?)", [(1, "2024-01-02"), (2, "later"), (3, None)])
    db.close()
    options = ReadOptions(query="SELECT id, day FROM sales ORDER BY id", schema={"day": pl.Date()})
    frame, bad = read_all(open_source(f"sqlite:///{database}", options=options))
    assert frame.select("id", "day").rows() == [(1, date(2024, 1, 2)), (3, None)]
    assert bad.select("line", "reason").rows() == [(2, "column 'day': 'later' is not date")]
    assert bad["file"].item().endswith(":: SELECT id, day FROM sales ORDER BY id")


def test_fields_parsed_from_a_folder_s_paths_take_declared_types(tmp_path: Path) -> None:
    root = tmp_path / "digits"
    for label in ("3", "7"):
        shutil.copytree(DIGITS / label, root / label)
    options = ReadOptions(pattern="{label}/{name}.png", schema={"label": pl.Int64()})
    reading = open_source(root, options=options, put_blob=BlobStore(tmp_path / "blobs").put_file)
    frame, bad = read_all(reading)
    assert frame.schema["label"] == pl.Int64
    assert sorted(frame["label"].unique().to_list()) == [3, 7]
    assert frame.select(pl.col("path").str.head(1).cast(pl.Int64) == pl.col("label")).to_series().all()
    assert frame.height == 10
    assert bad.height == 0


def test_null_values_and_trim_apply_to_json_parquet_and_excel(tmp_path: Path) -> None:
    options = ReadOptions(null_values=("NA", "?"), trim=True, schema={"age": pl.Int64()})
    rows = [{"age": " 39 ", "name": " Ann "}, {"age": "NA", "name": "?"}]
    json_path = tmp_path / "people.json"
    json_path.write_text(json.dumps(rows))
    jsonl_path = tmp_path / "people.jsonl"
    jsonl_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    parquet_path = tmp_path / "people.parquet"
    pl.DataFrame(rows).write_parquet(parquet_path)
    excel_path = tmp_path / "people.xlsx"
    pl.DataFrame(rows).write_excel(excel_path)
    for path in (json_path, jsonl_path, parquet_path, excel_path):
        frame, bad = read_all(open_source(path, options=options))
        assert frame.select("age", "name").rows() == [(39, "Ann"), (None, None)], path.suffix
        assert bad.height == 0, path.suffix


def test_excel_null_values_are_null_before_types_are_inferred(tmp_path: Path) -> None:
    path = tmp_path / "counts.xlsx"
    pl.DataFrame({"count": ["1", "N/A", "3", "N/A"]}).write_excel(path)
    plain, strays = read_all(open_source(path))
    assert plain.schema["count"] == pl.String
    assert strays.height == 0
    frame, bad = read_all(open_source(path, options=ReadOptions(null_values=("N/A",))))
    assert frame["count"].to_list() == [1, None, 3, None]
    assert bad.height == 0


def test_without_null_values_an_empty_json_string_stays_a_string(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text('{"note": ""}\n{"note": null}\n')
    frame, _ = read_all(open_source(path))
    assert frame["note"].to_list() == ["", None]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".json", ".parquet", ".xlsx"])
def test_a_declared_column_the_source_lacks_is_an_error_naming_its_columns(
    tmp_path: Path, suffix: str
) -> None:
    frame = pl.DataFrame({"age": [39, 40], "name": ["Ann", "Bo"]})
    path = tmp_path / f"people{suffix}"
    writers: dict[str, Callable[[Path], object]] = {
        ".csv": frame.write_csv,
        ".tsv": partial(frame.write_csv, separator="\t"),
        ".jsonl": frame.write_ndjson,
        ".json": frame.write_json,
        ".parquet": frame.write_parquet,
        ".xlsx": frame.write_excel,
    }
    writers[suffix](path)
    with pytest.raises(
        IngestError, match=r"--schema declares 'agee', which .*people.* does not have"
    ) as caught:
        read_all(open_source(path, options=ReadOptions(schema={"agee": pl.Int64()})))
    assert caught.value.hint == "its columns are age, name"


def test_declared_names_are_the_names_given_by_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pl.DataFrame({"a": ["1"], "b": ["x"]}).write_parquet(path)
    options = ReadOptions(columns=("n", "label"), schema={"n": pl.Int64()})
    frame, _ = read_all(open_source(path, options=options))
    assert frame.select("n", "label").rows() == [(1, "x")]
    with pytest.raises(IngestError, match="declares 'a'"):
        read_all(open_source(path, options=ReadOptions(columns=("n", "label"), schema={"a": pl.Int64()})))


def test_a_list_column_cannot_be_retyped(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pl.DataFrame({"tags": [["a"], ["b", "c"]]}).write_parquet(path)
    with pytest.raises(IngestError, match="column 'tags' holds List"):
        read_all(open_source(path, options=ReadOptions(schema={"tags": pl.String()})))


def test_a_declared_jsonl_field_may_first_appear_after_the_first_chunk(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [{"id": i} for i in range(5)] + [{"id": 5, "score": "7"}, {"id": 6, "score": "x"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    reading = read_jsonl(path, schema={"score": pl.Int64()}, chunk_lines=2)
    frame, bad = read_all(reading)
    assert frame.schema["score"] == pl.Int64()
    assert frame["score"].to_list() == [None] * 5 + [7]
    assert bad.select("line", "reason").rows() == [(7, "column 'score': 'x' is not int")]
    without = read_all(read_jsonl(path, chunk_lines=2))[1]  # undeclared, the late field is a stray
    assert without["line"].to_list() == [6, 7]


def test_a_declared_field_no_jsonl_line_holds_is_an_error_after_all_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps({"id": i, "name": "n"}) + "\n" for i in range(5)))
    with pytest.raises(
        IngestError, match=r"--schema declares 'scroe', which .*events\.jsonl does not have"
    ) as caught:
        read_all(read_jsonl(path, schema={"scroe": pl.Int64()}, chunk_lines=2))
    assert caught.value.hint == "its columns are id, name"


def test_jsonl_fields_named_by_columns_are_typed_by_their_new_names(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"a": "1", "b": "x"}\n{"a": "2", "b": "y"}\n')
    options = ReadOptions(columns=("n", "label"), schema={"n": pl.Int64()})
    frame, bad = read_all(open_source(path, options=options))
    assert frame.select("n", "label").rows() == [(1, "x"), (2, "y")]
    assert bad.height == 0
