"""Every reader gives text in Unicode NFC.

Text decomposed elsewhere (macOS file names, NFD exports, the escapes of JSON) must compare
equal to the same text typed on another machine.
"""

import json
import sqlite3
import unicodedata
from pathlib import Path

import polars as pl
import pytest

from datawheel.errors import IngestError
from datawheel.ingest import ReadOptions, open_source
from datawheel.ingest._batch import in_nfc

WORD = "한국 café"
DECOMPOSED = unicodedata.normalize("NFD", WORD)
COLUMN = unicodedata.normalize("NFD", "é")


def _rows(location: str | Path, options: ReadOptions | None = None) -> pl.DataFrame:
    reading = open_source(location, options=options, put_blob=lambda path: "0" * 64)
    return pl.concat([batch.frame for batch in reading.batches])


@pytest.mark.parametrize("kind", ["csv", "jsonl", "json", "parquet", "xlsx", "sql"])
def test_text_and_names_of_every_format_are_nfc(tmp_path: Path, kind: str) -> None:
    assert DECOMPOSED != WORD
    table = pl.DataFrame({COLUMN: [DECOMPOSED, "plain"], "n": [1, 2]})
    path = tmp_path / f"t.{kind}"
    options = None
    if kind == "csv":
        table.write_csv(path)
    elif kind == "jsonl":  # escaped as \uXXXX by json.dumps: the escapes decode to NFD text
        path.write_text("".join(json.dumps(row) + "\n" for row in table.to_dicts()))
        assert "\\u0301" in path.read_text()
    elif kind == "json":
        path.write_text(json.dumps(table.to_dicts()))
    elif kind == "parquet":
        table.write_parquet(path)
    elif kind == "xlsx":
        table.write_excel(path)
    else:
        path = tmp_path / "t.db"
        with sqlite3.connect(path) as db:
            db.execute(f'CREATE TABLE t ("{COLUMN}" TEXT, n INTEGER)')
            db.executemany("INSERT INTO t VALUES (?, ?)", table.rows())
        options = ReadOptions(query="SELECT * FROM t")
    frame = _rows(f"sqlite:///{path}" if kind == "sql" else path, options)
    assert "é" in frame.columns
    assert COLUMN not in frame.columns
    assert frame["é"].to_list() == [WORD, "plain"]


def test_text_inside_lists_and_structs_is_nfc(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"tags": [DECOMPOSED, None], "who": {"name": DECOMPOSED, "age": 3}}) + "\n")
    row = _rows(path).row(0, named=True)
    assert row["tags"] == [WORD, None]
    assert row["who"] == {"name": WORD, "age": 3}


def test_a_folder_keeps_its_paths_but_its_labels_are_nfc(tmp_path: Path) -> None:
    folder = tmp_path / "images" / DECOMPOSED
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("x")
    frame = _rows(tmp_path / "images", ReadOptions(pattern="{label}/{name}.txt"))
    assert frame["label"].to_list() == [WORD]
    assert frame["path"].to_list() == [f"{DECOMPOSED}/a.txt"]  # as the file system spells it
    assert (tmp_path / "images" / frame["path"][0]).is_file()
    assert frame["_file"].to_list() == [str(tmp_path / "images" / DECOMPOSED / "a.txt")]


def test_nulls_ascii_and_struct_nulls_are_left_as_they_are() -> None:
    frame = pl.DataFrame(
        {"s": ["a", None, "b"], "x": [{"t": DECOMPOSED}, None, {"t": None}]},
        schema={"s": pl.String, "x": pl.Struct({"t": pl.String})},
    )
    out = in_nfc(frame)
    assert out["s"].to_list() == ["a", None, "b"]
    assert out["x"].to_list() == [{"t": WORD}, None, {"t": None}]
    plain = pl.DataFrame({"s": ["a", None]})
    assert in_nfc(plain).equals(plain)


def test_two_names_that_are_one_in_nfc_are_an_error() -> None:
    with pytest.raises(IngestError, match="the same name once in Unicode NFC"):
        in_nfc(pl.DataFrame({"é": [1], COLUMN: [2]}))
