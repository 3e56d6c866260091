"""Shards: a folder's files of one format, or the files a glob matches, read as one table."""

import gzip
import json
import unicodedata
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from datawheel.errors import IngestError
from datawheel.ingest import FILE, LINE, Reading, ReadOptions, SourceFormat, detect_format, open_source

KOREAN = Path(__file__).parents[1] / "data" / "korean_hate_speech" / "labeled_train_head300.tsv"


def read_all(reading: Reading) -> tuple[pl.DataFrame, pl.DataFrame]:
    batches = list(reading.batches)
    return pl.concat([b.frame for b in batches]), pl.concat([b.quarantine for b in batches])


def test_a_folder_of_parquet_shards_is_one_table_in_path_order(tmp_path: Path) -> None:
    """Files of other formats, hidden files and Spark's markers are left out; lines restart per shard."""
    shards = [
        pl.DataFrame({"id": [2 * i, 2 * i + 1], "text": [f"t{2 * i}", f"t{2 * i + 1}"]}) for i in range(3)
    ]
    for number, shard in enumerate(shards):
        shard.write_parquet(tmp_path / f"train-{number:05d}-of-00003.parquet")
    (tmp_path / "README.md").write_text("# a dataset\n")
    (tmp_path / "_SUCCESS").write_bytes(b"")
    (tmp_path / ".train-00000-of-00003.parquet.crc").write_bytes(b"\x00")
    reading = open_source(tmp_path, format="parquet")
    assert (reading.format, reading.location, reading.files) == ("parquet", str(tmp_path.resolve()), 3)
    assert reading.total_bytes == sum(p.stat().st_size for p in tmp_path.glob("*.parquet"))
    frame, quarantine = read_all(reading)
    assert_frame_equal(frame.select("id", "text"), pl.concat(shards))
    assert frame[LINE].to_list() == [1, 2] * 3
    assert frame[FILE].to_list() == [
        str((tmp_path / f"train-{n:05d}-of-00003.parquet").resolve()) for n in (0, 0, 1, 1, 2, 2)
    ]
    assert quarantine.is_empty()


def test_a_glob_over_folders_with_fields_from_the_path(tmp_path: Path) -> None:
    """``**`` reaches every folder; compressed shards are read; --pattern's fields become columns."""
    for day, rows in [("2024-05-02", [{"n": 3}]), ("2024-05-01", [{"n": 1}, {"n": 2}])]:
        (tmp_path / day).mkdir()
        text = "".join(json.dumps(row) + "\n" for row in rows)
        (tmp_path / day / "events.jsonl.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "2024-05-01" / "notes.txt").write_text("not a shard\n")
    location = tmp_path / "**" / "*.jsonl.gz"
    assert detect_format(location) == "jsonl"
    reading = open_source(location, options=ReadOptions(pattern="{day}/events.jsonl.gz"))
    frame, _ = read_all(reading)
    assert frame.select("n", "day").rows() == [(1, "2024-05-01"), (2, "2024-05-01"), (3, "2024-05-02")]
    assert frame[LINE].to_list() == [1, 2, 1]
    assert reading.location == str(location.resolve())


def test_later_shards_fit_the_first_shards_types_or_go_to_quarantine(tmp_path: Path) -> None:
    """Columns may come in another order; a value that does not fit names its shard and line.

    A later CSV shard is read as the rest of one file would be: its text must fit the first
    shard's types (``5.0`` is not an int), and the quarantine keeps its line's own text.
    """
    (tmp_path / "a.csv").write_text("id,score\n1,0.5\n2,1.5\n")
    (tmp_path / "b.csv").write_text("score,id\n2.5,3\n3.5,4.5\n4.0,5.0\n6,7\n")
    frame, quarantine = read_all(open_source(tmp_path / "*.csv"))
    assert frame.select("id", "score").rows() == [(1, 0.5), (2, 1.5), (3, 2.5), (7, 6.0)]
    assert frame.schema["id"] == pl.Int64
    b = str((tmp_path / "b.csv").resolve())
    assert quarantine.select("line", "file", "raw", "reason").rows() == [
        (3, b, "3.5,4.5", "column 'id': '4.5' is not int"),
        (4, b, "4.0,5.0", "column 'id': '5.0' is not int"),
    ]


def test_a_shard_with_other_columns_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,text\n1,x\n")
    (tmp_path / "b.csv").write_text("id,body,lang\n2,y,en\n")
    with pytest.raises(IngestError) as caught:
        read_all(open_source(tmp_path, format="csv"))
    assert caught.value.message == (
        f"{(tmp_path / 'b.csv').resolve()} does not have the columns of {(tmp_path / 'a.csv').resolve()}: "
        "it lacks text and has body, lang too"
    )
    assert "--append" in (caught.value.hint or "")


def test_types_come_from_the_first_shard_with_rows(tmp_path: Path) -> None:
    """A header-only first shard does not make every column text; its bad line is kept."""
    (tmp_path / "a.csv").write_text("id,day\n")
    (tmp_path / "b.csv").write_text("id,day\n1,2024-01-02\n2,oops,extra\n")
    (tmp_path / "c.csv").write_text("id,day\n3,2024-01-04\n")
    frame, quarantine = read_all(open_source(tmp_path / "*.csv"))
    assert (frame.schema["id"], frame.schema["day"]) == (pl.Int64(), pl.Date())
    assert frame["id"].to_list() == [1, 3]
    assert quarantine.select("line", "reason").rows() == [(3, "expected 2 fields, found 3")]


def test_shards_without_rows_give_their_columns_and_their_quarantine(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,day\n")
    (tmp_path / "b.csv").write_text("id,day\n1,2,3\n")
    frame, quarantine = read_all(open_source(tmp_path, format="csv"))
    assert (frame.height, [c for c in frame.columns if not c.startswith("_")]) == (0, ["id", "day"])
    assert quarantine.select("line", "file").rows() == [(2, str((tmp_path / "b.csv").resolve()))]


def test_each_shard_has_its_own_encoding_and_all_are_reported(tmp_path: Path) -> None:
    lines = KOREAN.read_text(encoding="utf-8").splitlines(keepends=True)
    text = "".join(line for line in lines if line.encode("cp949", errors="replace").decode("cp949") == line)
    (tmp_path / "part-1.tsv").write_text(text, encoding="utf-8")
    (tmp_path / "part-2.tsv").write_bytes(text.encode("cp949"))
    reading = open_source(tmp_path, format="tsv")
    assert reading.encoding == "utf-8"  # the first shard's, known at once
    frame, quarantine = read_all(reading)
    assert reading.encoding == "utf-8, cp949"
    rows = text.count("\n") - 1  # each shard's, after its header
    assert rows > 250
    assert (quarantine.height, frame.height) == (0, 2 * rows)
    assert_frame_equal(frame.drop(FILE).head(rows), frame.drop(FILE).tail(rows))


@pytest.mark.parametrize(
    ("names", "location", "format", "message"),
    [
        (
            ["a.csv", "b.parquet"],
            "*",
            None,
            "the files matching {root}/* are of several formats: csv, parquet",
        ),
        (["a.csv", "b"], "*", None, "{root}/b matches {root}/* but its name does not say its format"),
        (["a.csv"], "*.tsv", None, "no file matches {root}/*.tsv"),
        (
            ["a.csv"],
            "",
            "parquet",
            "{root} holds no parquet files (by their names; names starting with '.' are skipped)",
        ),
    ],
)
def test_what_cannot_be_shards_is_an_error_that_says_why(
    tmp_path: Path, names: list[str], location: str, format: SourceFormat | None, message: str
) -> None:
    for name in names:
        (tmp_path / name).write_text("x\n1\n")
    with pytest.raises(IngestError) as caught:
        open_source(tmp_path / location if location else tmp_path, format=format)
    assert caught.value.message == message.format(root=tmp_path.resolve())


def test_fields_from_paths_are_text_in_nfc_as_a_folders_are(tmp_path: Path) -> None:
    """A folder name written decomposed (as macOS writes it) gives the composed field."""
    decomposed = unicodedata.normalize("NFD", "café")
    (tmp_path / decomposed).mkdir()
    (tmp_path / decomposed / "a.csv").write_text("x\n1\n")
    frame, _ = read_all(open_source(tmp_path, format="csv", options=ReadOptions(pattern="{place}/a.csv")))
    assert frame["place"].to_list() == [unicodedata.normalize("NFC", "café")]
    assert frame[FILE].to_list() == [str((tmp_path / decomposed / "a.csv").resolve())]


def test_a_shard_off_the_pattern_or_a_field_named_as_a_column_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "a.csv").write_text("split,x\ntrain,1\n")
    (tmp_path / "b.csv").write_text("split,x\ntest,2\n")
    with pytest.raises(IngestError, match=r"b\.csv does not match --pattern \{split\}/\{name\}\.csv"):
        open_source(tmp_path, format="csv", options=ReadOptions(pattern="{split}/{name}.csv"))
    (tmp_path / "b.csv").unlink()
    reading = open_source(tmp_path, format="csv", options=ReadOptions(pattern="{split}/{name}.csv"))
    with pytest.raises(IngestError, match="names a field 'split', a column the files already have"):
        read_all(reading)


def test_a_folder_without_a_format_is_still_a_folder_of_files(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    assert detect_format(tmp_path) == "files"
