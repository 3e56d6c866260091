"""Reading one sheet of a spreadsheet (.xlsx, .xlsm, .xls, .ods), with each row's row number."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import fastexcel
import polars as pl

from datawheel.errors import IngestError
from datawheel.ingest._batch import LINE, Batch, Reading, renamed
from datawheel.ingest._conform import check_declared, cleaned, conform, infer_types

_UNNAMED = re.compile(r"__UNNAMED__\d+")
_PROBE_ROWS = 256


def read_excel(
    path: Path,
    *,
    sheet: str | None = None,
    has_header: bool = True,
    columns: Sequence[str] | None = None,
    schema: Mapping[str, pl.DataType] | None = None,
    null_values: Collection[str] = (),
    trim: bool = False,
) -> Reading:
    """Read one sheet of a spreadsheet; ``_line`` is each row's row number in the sheet.

    The sheet is read with calamine (through ``fastexcel``), in one batch. The table starts at
    the sheet's first row that is not blank: its header, when ``has_header``. Blank rows are not
    rows of the table and are left out, so row numbers may skip; header cells left blank over a
    blank column are dropped. Column types are inferred from the cells; a column of mixed cells
    (numbers or dates with a stray word) is typed as a CSV column is, the strays (up to 1%)
    going to quarantine with their row numbers.

    Args:
        path: The workbook.
        sheet: The sheet's name; the first sheet if not given.
        has_header: Whether the table's first row names its columns (else ``column_0``, …).
        columns: Names for the columns, in order (``--columns``).
        schema: Declared column types (``--schema``), which win over the inferred ones; a cell
            that does not fit goes to quarantine, as in a CSV file.
        null_values: Cells read as null (``--null-values``), before the types are inferred.
        trim: Strip spaces around cells' text (``--trim``), before the types are inferred.

    Raises:
        IngestError: The file cannot be opened as a spreadsheet, ``sheet`` is not one of its
            sheets, or the sheet is blank.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "people.xlsx"
        >>> _ = pl.DataFrame({"id": [1, 2], "name": ["Ann", "Bo"]}).write_excel(path, worksheet="people")
        >>> reading = read_excel(path, sheet="people")
        >>> reading.format, next(iter(reading.batches)).frame.rows()
        ('excel', [(1, 'Ann', 2), (2, 'Bo', 3)])
    """
    reader = _open(path)
    name = _sheet_name(reader, sheet, path)
    first = _first_filled_row(reader, name, path)
    frame = _read_sheet(path, name, first=first, has_header=has_header)
    if columns:
        frame = renamed(frame, columns, str(path))
    check_declared(schema or {}, frame.columns, str(path))
    frame = cleaned(frame, null_values=null_values, trim=trim)
    # Typed as a CSV file's columns are, a stray word in a column of numbers set aside.
    types = {**infer_types(frame.drop(LINE)), **(schema or {})}
    frame, strays = conform(frame, types, file=str(path))
    size = path.stat().st_size
    return Reading(
        format="excel",
        location=str(path),
        batches=[Batch(frame, strays, bytes_read=size)],
        total_bytes=size,
    )


def _open(path: Path) -> fastexcel.ExcelReader:
    if not path.is_file():
        raise IngestError(f"no file {path}", hint="check the path; datawheel ingest reads one file")
    try:
        return fastexcel.read_excel(path)
    except fastexcel.FastExcelError as exc:
        raise IngestError(
            f"cannot open {path} as a spreadsheet: {_first_line(exc)}",
            hint="check the file is an .xlsx, .xlsm, .xls or .ods workbook, or give another --format",
        ) from exc


def _sheet_name(reader: fastexcel.ExcelReader, sheet: str | None, path: Path) -> str:
    names = reader.sheet_names
    if sheet is None and names:
        return names[0]
    if sheet not in names:
        listed = ", ".join(f"'{n}'" for n in names) or "none"
        raise IngestError(f"{path} has no sheet '{sheet}'", hint=f"pick one of its sheets: {listed}")
    return sheet


def _first_filled_row(reader: fastexcel.ExcelReader, name: str, path: Path) -> int:
    """The 0-based index in the sheet of its first row with a cell that is not blank."""
    rows = _PROBE_ROWS
    while True:
        try:
            sample = reader.load_sheet(name, header_row=None, skip_rows=0, n_rows=rows, dtypes="string")
            probe = sample.to_polars()
        except fastexcel.FastExcelError as exc:
            raise IngestError(
                f"cannot read sheet '{name}' of {path}: {_first_line(exc)}", hint="open the file and check it"
            ) from exc
        filled = probe.select(pl.any_horizontal(pl.all().is_not_null())).to_series().arg_true()
        if filled.len():
            return int(filled[0])
        if probe.height < rows:
            raise IngestError(
                f"sheet '{name}' of {path} is blank", hint="pick another sheet with --sheet, or fill this one"
            )
        rows *= 16


def _read_sheet(path: Path, name: str, *, first: int, has_header: bool) -> pl.DataFrame:
    try:
        frame = pl.read_excel(
            path,
            sheet_name=name,
            engine="calamine",
            # Every cell as text: calamine's own typing turns a stray word in a column of
            # numbers into null, silently; the text is typed below as a CSV file's is.
            read_options={"header_row": first, "dtypes": "string"}
            if has_header
            else {"skip_rows": first, "dtypes": "string"},
            has_header=has_header,
            drop_empty_rows=False,
            drop_empty_cols=False,
            raise_if_empty=False,
        )
    except (fastexcel.FastExcelError, pl.exceptions.PolarsError) as exc:
        raise IngestError(
            f"cannot read sheet '{name}' of {path}: {_first_line(exc)}", hint="open the file and check it"
        ) from exc
    if LINE in frame.columns:
        raise IngestError(
            f"sheet '{name}' of {path} has a column {LINE}, the name datawheel gives row numbers",
            hint="rename that column in the sheet",
        )
    blank = [c for c in frame.columns if _UNNAMED.fullmatch(c) and frame[c].null_count() == frame.height]
    # the first data row is the row after the header (1-based: first + 2) or the first row itself
    number = pl.int_range(pl.len(), dtype=pl.Int64) + (first + (2 if has_header else 1))
    return (
        frame.drop(blank)
        .with_columns(number.alias(LINE))
        .filter(~pl.all_horizontal(pl.exclude(LINE).is_null()))
    )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
