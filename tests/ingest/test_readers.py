from pathlib import Path

import polars as pl
import pytest

from datawheel.errors import IngestError
from datawheel.ingest import LINE, detect_format, read_file


def test_sms_tsv_without_header_or_quoting(sms_file: Path) -> None:
    result = read_file(sms_file, format="tsv", has_header=False, columns=["label", "text"])
    frame = result.frame
    assert frame.height == 5574
    assert frame.columns == ["label", "text", LINE]
    assert frame["label"].value_counts().sort("label").rows() == [("ham", 4827), ("spam", 747)]
    assert frame[LINE].to_list()[:3] == [1, 2, 3]
    assert frame[LINE][-1] == 5574
    raw = sms_file.read_text(encoding="utf-8").splitlines()
    assert raw[99].split("\t", 1)[1] == frame.filter(pl.col(LINE) == 100)["text"][0]


def test_csv_lines_count_the_header(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text('id,name\n1,"Ann, Jr."\n2,Bo\n', encoding="utf-8")
    frame = read_file(path).frame
    assert frame.rows() == [(1, "Ann, Jr.", 2), (2, "Bo", 3)]


def test_jsonl_and_parquet(tmp_path: Path) -> None:
    data = pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    data.write_ndjson(tmp_path / "d.jsonl")
    data.write_parquet(tmp_path / "d.parquet")
    for name in ("d.jsonl", "d.parquet"):
        frame = read_file(tmp_path / name, columns=["A", "B"]).frame
        assert frame.rows() == [(1, "x", 1), (2, "y", 2)]
        assert frame.columns == ["A", "B", LINE]


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "message"),
    [
        ("absent.csv", None, {}, "no file"),
        ("empty.csv", b"", {}, r"is empty \(0 bytes\)"),
        ("data.xyz", b"a\n1\n", {}, "cannot tell the format"),
        ("bad.csv", b"a,b\n1,2\n3,4,5\n", {}, "cannot read .*bad.csv as csv"),
        ("bad.jsonl", b'{"a": 1}\n{"a": \n', {}, "cannot read .*bad.jsonl as jsonl"),
        ("two.jsonl", b'{"a": 1, "b": 2}\n', {"columns": ["x"]}, "has 2 columns .* names 1"),
        ("latin.csv", "a\ncafé\n".encode("latin-1"), {}, "cannot read .*latin.csv"),
    ],
)
def test_bad_files(
    tmp_path: Path, name: str, content: bytes | None, kwargs: dict[str, object], message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as info:
        read_file(path, **kwargs)  # type: ignore[arg-type]
    assert info.value.hint


def test_detect_format() -> None:
    assert detect_format(Path("a.TSV")) == "tsv"
    assert detect_format(Path("a.ndjson")) == "jsonl"
