"""How a delimited file is written: separator, quoting, header and column names, from a sample."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from datawheel.errors import IngestError
from datawheel.ingest._conform import infer_types

_SEPARATORS = (",", ";", "\t", "|")
_NAME_LIKE = re.compile(r"^[^\W\d][\w .\-]*$")
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_COMMA_DECIMAL = re.compile(r"^\s*[+-]?\d*,\d+\s*$")
_WHOLE = re.compile(r"^\s*[+-]?\d+\s*$")

QuoteChar = str | None | Literal["auto"]


@dataclass
class Dialect:
    """How a delimited file is written: separator, quoting, header, column names."""

    separator: str
    quote: str | None
    header: bool
    columns: list[str]
    decimal_comma: bool = False
    """Floats are written ``1,5`` (given, or guessed for ``;``-separated files from their numbers)."""


def dialect_of(
    text: str,
    *,
    format: str,
    separator: str | None,
    has_header: bool | None,
    columns: Sequence[str] | None,
    quote_char: QuoteChar,
    path: Path,
    decimal_comma: bool | None = None,
) -> Dialect:
    """The dialect of a file from the text of its first lines; what is given is taken as given.

    The separator is sniffed (``,`` ``;`` tab ``|``) unless given; TSV has no quoting, CSV
    quotes with ``"``; the header is guessed (:func:`_looks_like_header`) unless given; column
    names come from ``columns``, the header, or are numbered. Unless ``decimal_comma`` says,
    floats are taken to be written with a decimal comma in a ``;``-separated file whose numbers
    show it (:func:`_commas_are_decimal`).
    """
    # A lone carriage return is text inside a field here, but Python's csv reader would take
    # it for a newline and fail: it is left out of the lines that show the dialect.
    lines = [line.replace("\r", "") for line in text.split("\n")[:200] if line.strip()]
    if not lines:
        raise IngestError(f"{path} has no lines of data", hint="check the file")
    sep = separator or ("\t" if format == "tsv" else _sniff_separator(lines))
    if len(sep) != 1:
        raise IngestError(
            f"separator {sep!r} is not one character", hint="pass --separator with one character"
        )
    quote = (None if format == "tsv" else '"') if quote_char == "auto" else quote_char
    rows = list(
        csv.reader(
            lines,
            delimiter=sep,
            quotechar=quote or '"',
            quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE,
        )
    )
    header = _looks_like_header(rows) if has_header is None else has_header
    if columns is not None:
        names = list(columns)
    elif header:
        names = rows[0]
    else:
        names = [f"column_{i + 1}" for i in range(len(rows[0]))]
    if decimal_comma and sep == ",":
        raise IngestError(
            f"{path}: a decimal comma needs a separator other than ','",
            hint="pass --separator (';' is usual with decimal commas), or leave out --decimal-comma",
        )
    if decimal_comma is None:  # guessed only where ';' separates, as spreadsheets that write 1,5 do
        decimal_comma = sep == ";" and _commas_are_decimal(rows[1:] if header else rows)
    return Dialect(sep, quote, header, _clean_names(names), decimal_comma=decimal_comma)


def _sniff_separator(lines: list[str]) -> str:
    """The candidate that splits the most lines into the same number (more than one) of fields.

    Example:
        >>> _sniff_separator(["a;b;c", "1;2,5;3", "4;5;6"])
        ';'
    """
    best, best_score = ",", (0, 0)
    for sep in _SEPARATORS:
        counts = [line.count(sep) for line in lines[:100]]
        common = max(set(counts), key=counts.count)
        score = (counts.count(common), common) if common else (0, 0)
        if score > best_score:
            best, best_score = sep, score
    return best


def _looks_like_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns rather than holding data.

    No cell may be a number. Then it is a header if some column below holds typed values
    (numbers, booleans, dates) that its first cell is not, or else if its cells are distinct,
    non-empty and none recurs in its column below. A header may leave a cell empty (pandas
    writes its index that way) or repeat a name: :func:`_clean_names` numbers those. A lone
    line is taken for the header of an empty table only if its cells look like distinct names
    (a letter first, then letters, digits, spaces, '.', '-' or '_').

    Example:
        >>> _looks_like_header([["", "a", "b"], ["0", "x", "1.5"]])
        True
        >>> _looks_like_header([["a", "b"], ["c", "d"]])
        True
        >>> _looks_like_header([["a", "a"], ["b", "c"]]), _looks_like_header([["1", "a"], ["2", "b"]])
        (False, False)
    """
    first, rest = rows[0], rows[1:]
    if all(not c.strip() for c in first) or any(_NUMBER.match(c) for c in first):
        return False
    named = all(c.strip() for c in first) and len(set(first)) == len(first)
    if not rest:  # a lone line of names is taken for the header of an empty table
        return named and all(_NAME_LIKE.match(c.strip()) for c in first)
    for i, cell in enumerate(first):
        below = [r[i] for r in rest if len(r) > i and r[i].strip()]
        if cell.strip() and below and _typed(below) and not _typed([cell]):
            return True
    return named and not any(any(len(r) > i and r[i] == cell for r in rest) for i, cell in enumerate(first))


def _commas_are_decimal(rows: list[list[str]]) -> bool:
    """Whether some column holds numbers written with a decimal comma (``1,5``) and no other text.

    Every value of such a column is a whole number or one with a decimal comma, and at least
    one has the comma. Only asked of a file separated by ``;``: with a tab, ``1,2`` may as well
    be a list.

    Example:
        >>> _commas_are_decimal([["Äpfel", "1,50", "3"], ["Birnen", "2", "1"]])
        True
        >>> _commas_are_decimal([["a", "1.5"], ["b", "2,5"]]), _commas_are_decimal([["x,y"]])
        (False, False)
    """
    width = max(map(len, rows), default=0)
    for i in range(width):
        values = [r[i].strip() for r in rows if len(r) > i and r[i].strip()]
        if any(_COMMA_DECIMAL.match(v) for v in values) and all(
            _COMMA_DECIMAL.match(v) or _WHOLE.match(v) for v in values
        ):
            return True
    return False


def _typed(values: list[str]) -> bool:
    column = pl.DataFrame({"v": values})
    return infer_types(column)["v"] != pl.String


def _clean_names(names: Sequence[str]) -> list[str]:
    """Names datawheel can keep: stripped, in NFC, never starting with '_' (reserved), never repeated.

    Example:
        >>> _clean_names([" _id", "name", "name", ""])
        ['id', 'name', 'name_2', 'column_4']
    """
    out: list[str] = []
    for i, raw in enumerate(names):
        name = unicodedata.normalize("NFC", raw.strip()).lstrip("_") or f"column_{i + 1}"
        base, n = name, 2
        while name in out:
            name, n = f"{base}_{n}", n + 1
        out.append(name)
    return out
