from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from datawheel.errors import IngestError
from datawheel.ingest import LINE, Reading, read_excel

PEOPLE = pl.DataFrame({"id": [1, 2, 3], "name": ["Ann", "Bo", "Cy"], "score": [0.5, None, 2.25]})
ORDERS = pl.DataFrame({"order": ["A-1", "A-2"], "qty": [10, 20]})


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    """Sheets: people (at A1), orders (at C4: rows 1-3 blank), blank, and header only."""
    path = tmp_path / "book.xlsx"
    with xlsxwriter.Workbook(path) as book:
        PEOPLE.write_excel(book, worksheet="people")
        ORDERS.write_excel(book, worksheet="orders", position="C4")
        book.add_worksheet("blank")
        pl.DataFrame(schema={"a": pl.Int64, "b": pl.String}).write_excel(book, worksheet="header only")
    return path


def only_frame(reading: Reading) -> pl.DataFrame:
    (batch,) = list(reading.batches)
    assert batch.quarantine.is_empty()
    return batch.frame


def test_first_sheet_with_header(workbook: Path) -> None:
    reading = read_excel(workbook)
    frame = only_frame(reading)
    assert frame.columns == ["id", "name", "score", LINE]
    assert frame.schema == pl.Schema({"id": pl.Int64, "name": pl.String, "score": pl.Float64, LINE: pl.Int64})
    assert frame.rows() == [(1, "Ann", 0.5, 2), (2, "Bo", None, 3), (3, "Cy", 2.25, 4)]
    assert (reading.format, reading.location, reading.encoding) == ("excel", str(workbook), None)
    assert reading.total_bytes == workbook.stat().st_size


def test_without_header(workbook: Path) -> None:
    frame = only_frame(read_excel(workbook, sheet="people", has_header=False))
    assert frame.columns == ["column_0", "column_1", "column_2", LINE]
    assert frame.rows()[:2] == [("id", "name", "score", 1), ("1", "Ann", "0.5", 2)]
    assert frame[LINE].to_list() == [1, 2, 3, 4]


def test_second_sheet_keeps_its_row_numbers(workbook: Path) -> None:
    frame = only_frame(read_excel(workbook, sheet="orders"))
    # the table starts at C4: its header is row 4, its data rows 5 and 6
    assert frame.rows() == [("A-1", 10, 5), ("A-2", 20, 6)]
    headless = only_frame(read_excel(workbook, sheet="orders", has_header=False))
    assert headless[LINE].to_list() == [4, 5, 6]


def test_blank_rows_are_skipped_but_numbers_kept(tmp_path: Path) -> None:
    path = tmp_path / "gaps.xlsx"
    pl.DataFrame({"a": [1, None, 3], "b": ["x", None, "z"]}).write_excel(path)
    frame = only_frame(read_excel(path))
    assert frame.rows() == [(1, "x", 2), (3, "z", 4)]


def test_header_only_sheet_gives_no_rows(workbook: Path) -> None:
    frame = only_frame(read_excel(workbook, sheet="header only"))
    assert frame.columns == ["a", "b", LINE]
    assert frame.height == 0


def test_unknown_sheet_lists_the_sheets(workbook: Path) -> None:
    with pytest.raises(IngestError, match="has no sheet 'nope'") as info:
        read_excel(workbook, sheet="nope")
    assert info.value.hint == "pick one of its sheets: 'people', 'orders', 'blank', 'header only'"


def test_blank_sheet(workbook: Path) -> None:
    with pytest.raises(IngestError, match=r"sheet 'blank' of .*book\.xlsx is blank") as info:
        read_excel(workbook, sheet="blank")
    assert info.value.hint


def test_not_a_workbook(tmp_path: Path) -> None:
    (tmp_path / "fake.xlsx").write_text("id,name\n1,Ann\n")
    with pytest.raises(IngestError, match=r"cannot open .*fake\.xlsx as a spreadsheet") as info:
        read_excel(tmp_path / "fake.xlsx")
    assert info.value.hint
    with pytest.raises(IngestError, match=r"no file .*absent\.xlsx"):
        read_excel(tmp_path / "absent.xlsx")


def test_a_column_named_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "clash.xlsx"
    pl.DataFrame({LINE: [1], "a": ["x"]}).write_excel(path)
    with pytest.raises(IngestError, match=f"has a column {LINE}"):
        read_excel(path)


def test_a_column_of_numbers_with_a_stray_word_keeps_its_type(tmp_path: Path) -> None:
    """As in a CSV file: up to 1% of stray cells go to quarantine with their row numbers."""
    path = tmp_path / "mixed.xlsx"
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet("s")
        sheet.write_row(0, 0, ["id", "amount"])
        for i in range(1, 201):
            sheet.write_row(i, 0, [i, "N/A" if i == 57 else i * 1.5])
    (batch,) = list(read_excel(path).batches)
    assert batch.frame.schema["amount"] == pl.Float64
    assert batch.frame.height == 199
    assert batch.quarantine.select("line", "reason").rows() == [(58, "column 'amount': 'N/A' is not float")]
    assert batch.quarantine["raw"].item() == '{"id":"57","amount":"N/A"}'  # the cells' text


def test_declared_types_and_names_win(tmp_path: Path) -> None:
    path = tmp_path / "codes.xlsx"
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet("s")
        sheet.write_row(0, 0, ["code", "qty"])
        for i, row in enumerate([[1, "3"], [2, "x"], [30, "4"]], start=1):
            sheet.write_row(i, 0, row)
    schema = {"id": pl.String(), "n": pl.Int64()}
    (batch,) = list(read_excel(path, columns=["id", "n"], schema=schema).batches)
    assert batch.frame.select("id", "n", LINE).rows() == [("1", 3, 2), ("30", 4, 4)]
    assert batch.quarantine.select("line", "reason").rows() == [(3, "column 'n': 'x' is not int")]
    with pytest.raises(IngestError, match=r"codes\.xlsx has 2 columns \(code, qty\) but --columns names 1"):
        read_excel(path, columns=["only"])
