"""CSV and TSV reading on real files and on hand-made bad ones."""

import codecs
import importlib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datawheel.errors import IngestError
from datawheel.ingest import LINE, read_delimited

DATA = Path(__file__).parents[1] / "data"


def read_all(path: Path, **kwargs: object) -> tuple[pl.DataFrame, pl.DataFrame, str | None]:
    reading = read_delimited(path, **kwargs)  # type: ignore[arg-type]
    batches = list(reading.batches)
    frame = pl.concat([b.frame for b in batches], how="vertical_relaxed")
    return frame, pl.concat([b.quarantine for b in batches]), reading.encoding


def test_sms_tsv_without_header_or_quoting(sms_file: Path) -> None:
    frame, bad, encoding = read_all(sms_file, format="tsv", columns=["label", "text"])
    assert (frame.height, bad.height, encoding) == (5574, 0, "utf-8")
    assert frame["label"].value_counts().sort("label").rows() == [("ham", 4827), ("spam", 747)]
    assert frame[LINE].to_list() == list(range(1, 5575))
    raw = sms_file.read_text(encoding="utf-8").splitlines()
    assert raw[99].split("\t", 1)[1] == frame.filter(pl.col(LINE) == 100)["text"][0]
    assert frame["text"].str.contains('"').any()  # quotes are text in TSV


def test_adult_csv_without_header_with_question_marks() -> None:
    path = DATA / "adult" / "adult_head1000.data"
    frame, bad, _ = read_all(path, trim=True, null_values=["?"])
    assert (frame.height, bad.height) == (1000, 0)
    assert frame.columns[:3] == ["column_1", "column_2", "column_3"]
    assert frame.schema["column_1"] == pl.Int64
    assert frame.row(0)[:2] == (39, "State-gov")
    lines_with_missing = sum("?" in line for line in path.read_text().splitlines())
    assert frame.filter(pl.any_horizontal(pl.exclude(LINE).is_null())).height == lines_with_missing


def test_korean_tsv_with_header() -> None:
    frame, bad, encoding = read_all(DATA / "korean_hate_speech" / "labeled_train_head300.tsv", format="tsv")
    assert (frame.height, bad.height, encoding) == (300, 0, "utf-8")
    assert frame.columns == ["comments", "contain_gender_bias", "bias", "hate", LINE]
    assert frame.schema["contain_gender_bias"] == pl.Boolean
    assert frame[LINE][0] == 2
    assert set(frame["hate"]) <= {"hate", "offensive", "none"}


@pytest.mark.parametrize(
    ("content", "kwargs", "rows", "quarantined"),
    [
        # wrong column count on line 3 (too many) and line 5 (too few)
        (
            b"a,b\n1,2\n3,4,5\n6,7\n8\n",
            {},
            [(1, 2, 2), (6, 7, 4)],
            [(3, "expected 2 fields, found 3"), (5, "expected 2 fields, found 1")],
        ),
        # a header and nothing else
        (b"a,b\n", {"has_header": True}, [], []),
        # blank lines are skipped, line numbers keep counting
        (b"a,b\n1,2\n\n3,4\n", {}, [(1, 2, 2), (3, 4, 4)], []),
        # quoted fields with separators and newlines inside
        (
            b'a,b\n1,"x, y"\n2,"multi\nline"\n3,"z"\n',
            {},
            [(1, "x, y", 2), (2, "multi\nline", 3), (3, "z", 5)],
            [],
        ),
        # a declared type that a value does not fit
        (
            b"id,n\n1,5\n2,five\n",
            {"schema": {"n": pl.Int64()}},
            [(1, 5, 2)],
            [(3, "column 'n': 'five' is not int")],
        ),
    ],
)
def test_bad_and_odd_files(
    tmp_path: Path,
    content: bytes,
    kwargs: dict[str, object],
    rows: list[tuple[object, ...]],
    quarantined: list[tuple[int, str]],
) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    frame, bad, _ = read_all(path, **kwargs)
    assert frame.rows() == rows
    assert bad.select("line", "reason").rows() == quarantined
    assert bad["file"].to_list() == [str(path)] * len(quarantined)


def test_invalid_utf8_bytes_are_quarantined_by_line(tmp_path: Path) -> None:
    path = tmp_path / "bytes.csv"
    path.write_bytes(b"name,city\nAnn,caf\xc3\xa9\nBo,b\xffd\nCy,Z\xc3\xbcrich\n")
    frame, bad, encoding = read_all(path)
    assert encoding == "utf-8"
    assert frame.select("name", "city").rows() == [("Ann", "café"), ("Cy", "Zürich")]
    assert bad.row(0) == (
        3,
        str(path),
        "Bo,b\\xffd",
        "bytes that do not decode in the file's encoding, at character 5",
    )


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [
        ("cp949", b"", "cp949"),
        ("utf-16", b"", "utf-16"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("latin-1", b"", None),
    ],
)
def test_encodings_detected(tmp_path: Path, encoding: str, prefix: bytes, expected: str | None) -> None:
    text = (
        "이름,도시\n김민수,서울\n박지은,부산\n"
        if encoding != "latin-1"
        else "nom,ville\nRenée,Besançon\nAndré,Orléans\n"
    )
    path = tmp_path / "t.csv"
    path.write_bytes(prefix + text.encode(encoding))
    frame, bad, found = read_all(path)
    if expected is not None:
        assert found == expected
    assert bad.height == 0
    assert frame.drop(LINE).rows() == [tuple(line.split(",")) for line in text.splitlines()[1:]]


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("latin-1", "name,city\nJosé,São Paulo\nFrançois,Besançon\nJürgen,München\n"),
        ("latin-1", "a,b\n1,café\n2,naïve\n"),
        ("cp1252", "año,señor\n1,niño\n2,España\n"),
        ("cp1251", "город,страна\nМосква,Россия\nКиев,Украина\n"),  # noqa: RUF001
        ("shift_jis", "名前,都市\n田中,東京\n鈴木,大阪\n"),
        ("gb18030", "名字,城市\n张伟,北京\n王芳,上海\n"),
        ("cp949", "이름,나이\n김,3\n"),
    ],
)
def test_a_short_legacy_file_reads_as_written(tmp_path: Path, encoding: str, text: str) -> None:
    """A few lines read plausibly in many single-byte encodings: the common one is taken.

    charset-normalizer alone read the first as the DOS page CP775 ("S├Żo Paulo").
    """
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode(encoding))
    frame, bad, found = read_all(path)
    assert bad.height == 0
    assert found is not None
    assert text.encode(encoding).decode(found) == text
    rows = frame.drop(LINE).cast(pl.String).rows()
    assert rows == [tuple(line.split(",")) for line in text.splitlines()[1:]]


def test_explicit_encoding_and_unknown_one(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("a,b\nx,\uac00\n".encode("cp949"))
    frame, _, found = read_all(path, encoding="EUC-KR")
    assert (found, frame["b"][0]) == ("euc_kr", "\uac00")
    with pytest.raises(IngestError, match="unknown text encoding 'klingon'"):
        read_delimited(path, encoding="klingon")


def test_text_is_normalised_to_nfc(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("word\ncafe\u0301\n", encoding="utf-8")  # e + combining acute
    frame, _, _ = read_all(path, has_header=True)
    assert frame["word"][0] == "caf\u00e9"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", r"is empty \(0 bytes\)"),
        ("blank.csv", b"\n\n", "has no lines of data"),
        ("absent.csv", None, "no file"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as info:
        read_delimited(path)
    assert info.value.hint


def test_reserved_and_repeated_header_names(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("_id,name,name\n1,a,b\n", encoding="utf-8")
    frame, _, _ = read_all(path, has_header=True)
    assert frame.columns == ["id", "name", "name_2", LINE]


@pytest.mark.parametrize(
    ("content", "columns", "types"),
    [
        # pandas' to_csv writes its index under an empty name
        (",a,b\n0,x,1.5\n1,y,2.5\n", ["column_1", "a", "b"], [pl.Int64, pl.String, pl.Float64]),
        ("a,b,a\n1,2,3\n", ["a", "b", "a_2"], [pl.Int64] * 3),
        ("id,,when\n1,x,2024-01-02\n", ["id", "column_2", "when"], [pl.Int64, pl.String, pl.Date]),
    ],
)
def test_header_with_empty_or_repeated_names_is_found(
    tmp_path: Path, content: str, columns: list[str], types: list[pl.DataType]
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content, encoding="utf-8")
    frame, bad, _ = read_all(path)
    assert frame.columns == [*columns, LINE]
    assert [frame.schema[c] for c in columns] == types
    assert (frame.height, bad.height, frame[LINE][0]) == (content.count("\n") - 1, 0, 2)


@pytest.mark.parametrize(
    "content",
    [
        "a,,b\nc,d,e\n",  # text below, and the first line has a hole: data, not names
        "x,x\ny,z\n",  # text below, a repeated cell: data
        ",\n1,2\n",  # nothing named
    ],
)
def test_first_line_with_holes_or_repeats_over_text_is_data(tmp_path: Path, content: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content, encoding="utf-8")
    frame, _, _ = read_all(path)
    assert frame[LINE][0] == 1
    assert frame.height == content.count("\n")


@pytest.mark.parametrize(
    ("content", "options", "price"),
    [
        # a spreadsheet's ';' file: the numbers show the decimal comma
        ("name;price\nÄpfel;1,50\nBirnen;2\n", {}, [1.5, 2.0]),
        # a tab file may hold lists: only when told
        ("name\tprice\nÄpfel\t1,50\nBirnen\t2\n", {}, ["1,50", "2"]),
        ("name\tprice\nÄpfel\t1,50\nBirnen\t2\n", {"decimal_comma": True}, [1.5, 2.0]),
        # dots and commas mixed: neither is sure, the text is kept
        ("name;price\nÄpfel;1.5\nBirnen;2,5\n", {}, ["1.5", "2,5"]),
        ("name;price\nÄpfel;1,50\nBirnen;2\n", {"decimal_comma": False}, ["1,50", "2"]),
    ],
)
def test_decimal_comma(tmp_path: Path, content: str, options: dict[str, bool], price: list[object]) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content, encoding="utf-8")
    frame, bad, _ = read_all(path, **options)
    assert (frame["price"].to_list(), bad.height) == (price, 0)


def test_decimal_comma_misfits_go_to_quarantine_on_the_exact_path(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a;b\n1,5;x\n2,5;y;z\n1,2,3;w\n-0,25;v\n", encoding="utf-8")
    frame, bad, _ = read_all(path, decimal_comma=True, schema={"a": pl.Float64()})
    assert frame.select("a", LINE).rows() == [(1.5, 2), (-0.25, 5)]
    assert bad.select("line", "reason").rows() == [
        (3, "expected 2 fields, found 3"),
        (4, "column 'a': '1,2,3' is not float"),
    ]


def test_decimal_comma_with_comma_separator_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(IngestError, match="a decimal comma needs a separator other than ','") as info:
        read_delimited(path, decimal_comma=True)
    assert info.value.hint
    assert "--separator" in info.value.hint


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.integers(-999, 999), st.text('abc ,"\n\u00e9', max_size=6)), min_size=1, max_size=40
    ),
    chunk=st.integers(16, 200),
)
def test_any_chunk_size_gives_the_same_rows(tmp_path: Path, rows: list[tuple[int, str]], chunk: int) -> None:
    frame = pl.DataFrame(rows, schema={"n": pl.Int64, "s": pl.String}, orient="row")
    path = tmp_path / "t.csv"
    frame.write_csv(path)
    whole, bad_whole, _ = read_all(path, schema={"n": pl.Int64(), "s": pl.String()})
    pieces, bad_pieces, _ = read_all(path, schema={"n": pl.Int64(), "s": pl.String()}, chunk_bytes=chunk)
    assert bad_whole.height == bad_pieces.height == 0
    assert pieces.equals(whole)
    expected = frame.with_columns(pl.when(pl.col("s") == "").then(None).otherwise(pl.col("s")).alias("s"))
    assert whole.drop(LINE).equals(expected)


def test_fast_and_exact_paths_agree(tmp_path: Path) -> None:
    clean = tmp_path / "clean.csv"
    clean.write_text(
        "id,x,when\n" + "".join(f"{i},{i * 0.5},2024-01-{i % 28 + 1:02d}\n" for i in range(500)),
        encoding="utf-8",
    )
    fast, _, _ = read_all(clean)
    exact, _, _ = read_all(clean, trim=True)  # trimming takes the exact path
    assert fast.equals(exact)
    assert fast.schema["when"] == pl.Date


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_blank_lines_and_crlf_on_the_fast_path(tmp_path: Path, ending: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(ending.join(["a,b", "1,x", "", "2,y", "3,z"]).encode() + ending.encode())
    frame, bad, _ = read_all(path)
    assert frame.rows() == [(1, "x", 2), (2, "y", 4), (3, "z", 5)]
    assert bad.height == 0
    single = tmp_path / "one.csv"
    single.write_bytes(ending.join(["a", "1", "", "2"]).encode() + ending.encode())
    frame, _, _ = read_all(single)
    assert frame.rows() == [(1, 2), (2, 4)]


def test_bad_rows_in_later_chunks_keep_their_line_numbers(tmp_path: Path) -> None:
    lines = ["id,name", *(f"{i},n{i}" for i in range(2, 60_002))]  # line n holds id n
    lines[20_000] = "20001,n20001,extra"  # too many fields
    lines[40_000] = "40001"  # too few
    lines[50_000] = "x,n50001"  # not an int
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    reading = read_delimited(path, chunk_bytes=256 << 10)  # many chunks, each of several blocks
    batches = list(reading.batches)
    assert len(batches) > 2
    frame = pl.concat([b.frame for b in batches])
    bad = pl.concat([b.quarantine for b in batches])
    assert bad.select("line", "reason").rows() == [
        (20_001, "expected 2 fields, found 3"),
        (40_001, "expected 2 fields, found 1"),
        (50_001, "column 'id': 'x' is not int"),
    ]
    assert frame["id"].to_list() == frame[LINE].to_list()
    assert frame.height == len(lines) - 1 - 3


def test_non_nfc_chunk_among_plain_ones_is_normalised(tmp_path: Path) -> None:
    plain = [f"{i},word" for i in range(2, 20_002)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(["id,word", *plain, "20002,cafe\u0301", "20003,ok"]) + "\n", encoding="utf-8")
    frame, bad, _ = read_all(path, chunk_bytes=64 << 10)
    assert bad.height == 0
    assert frame.filter(pl.col("id") == 20_002)["word"].to_list() == ["caf\u00e9"]
    assert frame["id"].to_list() == frame[LINE].to_list()


def test_separator_outside_ascii(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a\u00a6b\n1\u00a6x\n2\u00a6y\u00a6z\n3\u00a6\u00e9\n", encoding="utf-8")
    frame, bad, _ = read_all(path, separator="\u00a6")
    assert frame.rows() == [(1, "x", 2), (3, "\u00e9", 4)]
    assert bad.select("line", "reason").rows() == [(3, "expected 2 fields, found 3")]


def test_a_lone_carriage_return_is_text_not_a_newline(tmp_path: Path) -> None:
    path = tmp_path / "cr.csv"
    path.write_bytes(b"a,b\n1,2\r3,4\n5,6\n")
    batches = list(read_delimited(path).batches)
    assert batches[0].frame.select("a", "b").rows() == [(5, 6)]
    assert batches[0].quarantine.select("line", "reason").rows() == [(2, "expected 2 fields, found 3")]


def test_quoted_fields_are_read_in_one_pass_with_their_values(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        'id,text,score\n1,"hello, world",0.5\n2,"say ""hi""",1.5\n3,plain,2\n4,"",3\n', encoding="utf-8"
    )
    opener = read_delimited(path)
    (batch,) = list(opener.batches)
    assert batch.frame.rows() == [
        (1, "hello, world", 0.5, 2),
        (2, 'say "hi"', 1.5, 3),
        (3, "plain", 2.0, 4),
        (4, None, 3.0, 5),
    ]
    assert batch.quarantine.height == 0


_FIELD = st.one_of(
    st.text("a7 \u00e9", max_size=4),  # plain
    st.text('a7 ,"\u00e9', max_size=4).map(lambda s: '"' + s.replace('"', '""') + '"'),  # quoted
    st.sampled_from(['a"b', '5"', '"x"y', '"a\nb"', '"""', "", " "]),  # odd quoting, a record over lines
)
_MESSY = st.lists(
    st.one_of(
        st.tuples(_FIELD, _FIELD).map(",".join),
        st.tuples(_FIELD, _FIELD).map(",".join),
        st.lists(_FIELD, min_size=1, max_size=3).map(",".join),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_MESSY)
def test_fast_path_on_quoted_text_agrees_with_the_exact_path(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "messy.csv"
    path.write_text("n,s\n" + "\n".join(lines) + "\n", encoding="utf-8")
    fast, fast_bad, _ = read_all(path, chunk_bytes=64)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importlib.import_module("datawheel.ingest._text"), "_read_fast", lambda *_: None)
        exact, exact_bad, _ = read_all(path, chunk_bytes=64)
    assert fast.equals(exact)
    assert fast_bad.equals(exact_bad)


def test_a_quote_inside_a_field_is_read_or_quarantined_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "inch.csv"
    path.write_text('size,note\n5"b,c",\n1,ok\n2,"fine"\n', encoding="utf-8")
    frame, bad, _ = read_all(path)
    assert frame.select("size", "note").rows() == [(1, "ok"), (2, "fine")]
    assert bad.select("line", "reason").rows() == [(2, "expected 2 fields, found 3")]


def test_spaces_alone_in_a_typed_column_are_null_on_either_path(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("n,s\n1,x\n  ,y\n3,z\n", encoding="utf-8")
    fast, fast_bad, _ = read_all(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importlib.import_module("datawheel.ingest._text"), "_read_fast", lambda *_: None)
        exact, exact_bad, _ = read_all(path)
    assert fast.select("n", "s").rows() == [(1, "x"), (None, "y"), (3, "z")]
    assert fast.equals(exact)
    assert fast_bad.height == exact_bad.height == 0
