"""JSON Lines, JSON arrays and Parquet files: rows with their line, misfits quarantined, clear errors."""

import json
from pathlib import Path

import polars as pl
import pytest

from datawheel.errors import IngestError
from datawheel.ingest import LINE, ReadOptions, open_source
from datawheel.ingest._columnar import read_parquet
from datawheel.ingest._json import read_json, read_jsonl


def _read(reading_batches: object) -> tuple[pl.DataFrame, pl.DataFrame]:
    batches = list(reading_batches)  # type: ignore[call-overload]
    return pl.concat([b.frame for b in batches]), pl.concat([b.quarantine for b in batches])


def test_jsonl_sets_aside_each_bad_line_with_its_number_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    lines = [
        '{"id": 1, "n": 2}',
        "",
        '{"id": 2, "n": ',
        "[1, 2]",
        '{"id": 3, "n": 4, "extra": true}',
        '{"id": 4, "n": "four"}',
        '{"id": 5, "_n": 6}',
        '{"n": 7, "_n": 8}',
    ]
    path.write_text("\n".join(lines) + "\n")
    frame, bad = _read(read_jsonl(path, chunk_lines=4).batches)  # the first chunk types the columns
    assert frame.select("id", "n", LINE).rows() == [(1, 2, 1), (5, 6, 7)]
    reasons = dict(zip(bad["line"].to_list(), bad["reason"].to_list(), strict=True))
    assert sorted(reasons) == [3, 4, 5, 6, 8]
    assert reasons[3].startswith("not valid JSON")
    assert reasons[4] == "not a JSON object but a list"
    assert reasons[5] == "field(s) not in the columns read from the first lines: extra"
    assert "four" in reasons[6]
    assert reasons[8].startswith("fields '_n' and 'n' clash")
    assert bad.filter(pl.col("line") == 4)["raw"].item() == "[1, 2]"


def test_jsonl_columns_come_from_the_first_object_even_after_bad_chunks(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text("[1]\n\n" + "".join(json.dumps({"a": i, "b": "x"}) + "\n" for i in range(5)))
    frame, bad = _read(read_jsonl(path, chunk_lines=2).batches)
    assert frame["a"].to_list() == list(range(5))
    assert frame[LINE].to_list() == [3, 4, 5, 6, 7]
    assert bad["line"].to_list() == [1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\n  \n\n", "holds no JSON object with a field"),
        (
            "[1]\n{bad\n",
            r"no JSON object that could be read: 2 lines could not \(the first, line 1: not a JSON",
        ),
    ],
)
def test_jsonl_with_no_object_is_an_error_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(text)
    with pytest.raises(IngestError, match=message) as error:
        list(read_jsonl(path).batches)
    assert str(path) in str(error.value)


def test_jsonl_declared_types_win(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"code": 1}\n{"code": 2}\n')
    frame, _ = _read(read_jsonl(path, schema={"code": pl.String()}).batches)
    assert frame["code"].to_list() == ["1", "2"]


def _events(count: int) -> list[dict[str, object]]:
    """Objects whose text holds dates, times with and without an offset, and digits."""
    return [
        {
            "day": f"2024-03-{i % 28 + 1:02d}",
            "at": f"2024-03-01T10:{i % 60:02d}:00+02:00",
            "seen": f"2024-03-01 08:{i % 60:02d}:30",
            "code": f"{i + 10}",
        }
        for i in range(count)
    ]


def test_jsonl_text_holding_dates_and_times_is_typed_as_csv_text_is(tmp_path: Path) -> None:
    events = _events(300)
    events[250]["day"] = "soon"  # one stray value in 300: quarantined, not a reason to keep text
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    frame, bad = _read(read_jsonl(path, chunk_lines=100).batches)
    types = {c: frame.schema[c] for c in ("day", "at", "seen", "code")}
    assert types == {"day": pl.Date, "at": pl.Datetime("us"), "seen": pl.Datetime("us"), "code": pl.String}
    assert frame.height == 299
    assert bad.select("line", "reason").rows() == [(251, "column 'day': 'soon' is not date")]
    first = frame.row(0, named=True)
    assert (str(first["day"]), str(first["at"]), str(first["seen"])) == (
        "2024-03-01",
        "2024-03-01 08:00:00",  # an offset is read in UTC, as a CSV file's is
        "2024-03-01 08:00:30",
    )
    declared, _ = _read(read_jsonl(path, schema={"day": pl.String()}).batches)
    assert declared.schema["day"] == pl.String
    assert declared.height == 300


def test_jsonl_columns_named_by_the_user_are_typed_once_named(tmp_path: Path) -> None:
    events = [{**e, "day": f"2024-3-{i + 1}"} for i, e in enumerate(_events(3))]  # dates, unpadded
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    options = ReadOptions(columns=("on", "at", "seen", "code"), schema={"on": pl.String()})
    frame, _ = _read(open_source(path, options=options).batches)
    assert frame["on"].to_list() == ["2024-3-1", "2024-3-2", "2024-3-3"]  # declared text: as written
    assert frame.schema["on"] == pl.String
    assert frame.schema["at"] == pl.Datetime("us")
    assert str(frame["at"][0]) == "2024-03-01 08:00:00"


def test_json_array_text_holding_dates_and_times_is_typed(tmp_path: Path) -> None:
    events = _events(3)
    events[1]["day"] = "none"  # a null value (--null-values) is null before the column is typed
    path = tmp_path / "t.json"
    path.write_text(json.dumps(events))
    reading = open_source(path, options=ReadOptions(null_values=("none",)))
    frame, bad = _read(reading.batches)
    assert frame["day"].null_count() == 1
    types = {c: frame.schema[c] for c in ("day", "at", "code")}
    assert types == {"day": pl.Date, "at": pl.Datetime("us"), "code": pl.String}
    assert str(frame["at"][0]) == "2024-03-01 08:00:00"
    assert bad.is_empty()
    as_text = open_source(path, options=ReadOptions(schema={"at": pl.String()}))
    assert _read(as_text.batches)[0]["at"][0] == "2024-03-01T10:00:00+02:00"


def test_json_array_and_an_object_holding_one(tmp_path: Path) -> None:
    rows = [{"a": 1, "b": "x"}, {"a": 2, "b": None}]
    for name, value in (("array.json", rows), ("wrapped.json", {"meta": {"n": 2}, "data": rows})):
        path = tmp_path / name
        path.write_text(json.dumps(value))
        frame, _ = _read(read_json(path).batches)
        assert frame.rows() == [(1, "x", 1), (2, None, 2)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "holds no JSON object with a field"),
        ("[{}, {}]", "holds no JSON object with a field"),
        ("[1, 2]", "does not hold a list of objects"),
        ('[{"a": 1},\n {"a": }]', "is not valid JSON: Expecting value at line 2, column 8"),
    ],
)
def test_json_that_gives_no_table_is_an_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(text)
    with pytest.raises(IngestError, match=message):
        read_json(path)


def test_parquet_rows_are_numbered_across_batches_and_underscores_dropped(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pl.DataFrame({"_id": range(5), "v": list("abcde")}).write_parquet(path)
    frame, bad = _read(read_parquet(path, batch_rows=2).batches)
    assert frame.columns == ["id", "v", LINE]
    assert frame[LINE].to_list() == [1, 2, 3, 4, 5]
    assert bad.height == 0


def test_a_file_that_is_not_parquet_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(IngestError, match="is not a readable Parquet file"):
        read_parquet(path)


def test_parquet_columns_that_clash_once_read_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pl.DataFrame({"_id": [1], "id": [2]}).write_parquet(path)
    with pytest.raises(IngestError, match=r"t\.parquet: columns '_id' and 'id' clash"):
        read_parquet(path)
