"""Column types: inferred from a sample or declared, and rows that do not fit them."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TypeVar

import polars as pl

from datawheel.errors import IngestError
from datawheel.ingest._batch import FILE, LINE, QUARANTINE_SCHEMA

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

RAW = "_raw"
"""Optional column of a frame being conformed: the row as it stood in the source."""
REASON = "_reason"
"""Column of rows bound for the quarantine: why each cannot be taken."""

TYPE_NAMES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
}
_NAMES = {str(v): k for k, v in TYPE_NAMES.items()}
_BOOLS = {"true": True, "false": False}
_DATE_LIKE = r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"


def parse_schema(text: str) -> dict[str, pl.DataType]:
    """Declared column types from ``col:type,col:type`` (types: str int float bool date datetime).

    Example:
        >>> parse_schema("age:int, name:str")
        {'age': Int64, 'name': String}
    """
    out: dict[str, pl.DataType] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, kind = part.rpartition(":")
        if not sep or not name or kind.strip() not in TYPE_NAMES:
            raise IngestError(
                f"'{part}' is not a column type",
                hint=f"write COLUMN:TYPE with TYPE one of {', '.join(TYPE_NAMES)}, e.g. --schema age:int",
            )
        out[name.strip()] = TYPE_NAMES[kind.strip()]
    return out


def check_declared(schema: Mapping[str, pl.DataType], columns: Sequence[str], location: str) -> None:
    """An error if ``--schema`` declares a column the source does not have (a typo, say).

    Example:
        >>> try:
        ...     check_declared({"agee": pl.Int64()}, ["age", "name"], "people.csv")
        ... except IngestError as exc:
        ...     print(exc.message, "|", exc.hint)
        --schema declares 'agee', which people.csv does not have | its columns are age, name
    """
    data = [c for c in columns if not c.startswith("_")]
    unknown = [c for c in schema if c not in data]
    if unknown:
        raise IngestError(
            f"--schema declares {', '.join(map(repr, unknown))}, which {location} does not have",
            hint=f"its columns are {', '.join(data) or 'none'}",
        )


def cleaned(frame: FrameT, *, null_values: Collection[str], trim: bool, keep: Collection[str] = ()) -> FrameT:
    """``frame`` with its text stripped of spaces around it (``trim``) and ``null_values`` as null.

    Only data columns of text are touched, and not those in ``keep``; a lazy frame stays lazy.

    Example:
        >>> cleaned(pl.DataFrame({"a": [" x ", "?"], "_line": [1, 2]}), null_values=["?"], trim=True).rows()
        [('x', 1), (None, 2)]
    """
    schema = frame.collect_schema()
    text = [c for c, t in schema.items() if t == pl.String and not c.startswith("_") and c not in keep]
    if not text or not (null_values or trim):
        return frame
    nulls, exprs = list(null_values), []
    for name in text:
        value = pl.col(name).str.strip_chars() if trim else pl.col(name)
        exprs.append(
            (pl.when(value.is_in(nulls)).then(None).otherwise(value) if nulls else value).alias(name)
        )
    return frame.with_columns(exprs)


def infer_types(
    frame: pl.DataFrame, *, decimal_comma: bool = False, only_times: bool = False
) -> dict[str, pl.DataType]:
    """The narrowest type each text column's values fit: int, float, bool, date, datetime, str.

    With ``decimal_comma``, a float may be written ``1,5`` (as spreadsheets in much of Europe
    write it) as well as ``1.5``. With ``only_times``, text is typed only when it holds dates or
    times, for JSON: its numbers and booleans are typed already, so text that looks like one
    was meant as text, but it has no type for a point in time.

    Up to 1% of a column's values (none in a sample under 100) may fail to fit: they are taken
    for stray values, which ``conform`` then sends to quarantine, rather than a reason to read
    a numeric column as text. Numbers with a leading zero (``007``, codes and postcodes) stay
    text, so nothing is lost. A time with an offset (``…T10:00:00+02:00``) is read in UTC.

    Example:
        >>> df = pl.DataFrame(
        ...     {"a": ["1", "2"], "b": ["1.5", None], "c": ["007", "12"], "d": ["2024-01-31", "2024-02-01"]}
        ... )
        >>> {k: str(v) for k, v in infer_types(df).items()}
        {'a': 'Int64', 'b': 'Float64', 'c': 'String', 'd': 'Date'}
        >>> {k: str(v) for k, v in infer_types(df, only_times=True).items()}
        {'a': 'String', 'b': 'String', 'c': 'String', 'd': 'Date'}
    """
    return {
        name: _infer(frame[name], decimal_comma, only_times)
        for name in frame.columns
        if frame[name].dtype == pl.String
    }


def time_types(frame: pl.DataFrame, declared: Collection[str]) -> dict[str, pl.DataType]:
    """The data columns ``declared`` leaves out whose text holds dates or times, with that type.

    For JSON, which has types of its own but none for a point in time (see :func:`infer_types`).

    Example:
        >>> df = pl.DataFrame({"on": ["2024-03-01"], "at": ["2024-03-01T10:00"], "n": ["12"], "_line": [1]})
        >>> {k: str(v) for k, v in time_types(df, declared=["at"]).items()}
        {'on': 'Date'}
    """
    undeclared = frame.select(c for c in frame.columns if not c.startswith("_") and c not in declared)
    return {c: t for c, t in infer_types(undeclared, only_times=True).items() if t != pl.String}


def _infer(values: pl.Series, decimal_comma: bool, only_times: bool = False) -> pl.DataType:
    stripped = values.drop_nulls().str.strip_chars()
    stripped = stripped.filter(stripped != "")  # spaces alone are no value (see _retyped)
    if stripped.is_empty():
        return pl.String()
    if stripped.str.contains(r"^[+-]?0\d").any():
        return pl.String()
    allowed = len(stripped) // 100
    kinds: list[pl.DataType] = [] if only_times else [pl.Int64(), pl.Float64(), pl.Boolean()]
    if len(stripped) - int(stripped.str.contains(_DATE_LIKE).sum()) <= allowed:  # dates are slow to try
        kinds += [pl.Date(), pl.Datetime("us")]
    for dtype in kinds:
        try:
            misfits = _convert(stripped, dtype, strict=False, decimal_comma=decimal_comma).null_count()
        except (pl.exceptions.PolarsError, ValueError):  # a date format that cannot be inferred
            continue
        if misfits <= allowed:
            return dtype
    return pl.String()


def _convert(
    values: pl.Series, dtype: pl.DataType, *, strict: bool, decimal_comma: bool = False
) -> pl.Series:
    if dtype == pl.String:
        return values
    text = values.str.strip_chars()
    if decimal_comma and dtype.is_float():
        text = text.str.replace(",", ".", literal=True)
    if dtype == pl.Boolean:
        return text.str.to_lowercase().replace_strict(_BOOLS, default=None, return_dtype=pl.Boolean)
    if dtype == pl.Date:
        return text.str.to_date(strict=strict)
    if dtype == pl.Datetime:
        times = text.str.to_datetime(time_unit="us", strict=strict)
        zoned = isinstance(times.dtype, pl.Datetime) and times.dtype.time_zone is not None
        return times.dt.replace_time_zone(None) if zoned else times  # written with offsets: in UTC
    return text.cast(dtype, strict=strict)


def conform(
    frame: pl.DataFrame, types: Mapping[str, pl.DataType], *, file: str | None, decimal_comma: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cast columns to ``types``; rows with a value that does not fit go to quarantine.

    Text is parsed as a CSV field is. A column already typed (from JSON, Parquet, a database) is
    cast when nothing is lost (``2.0`` to int, ``1`` to bool, a date to a datetime) and else
    read as its text (a number declared a date); a value that does not survive the cast whole
    (``2.5`` as int) is a misfit. With ``decimal_comma``, a float in text may be written ``1,5``.
    Returns the conforming rows (``_raw`` dropped) and the quarantine, whose reason names every
    column at fault with its value and the expected type.

    Example:
        >>> df = pl.DataFrame({"age": ["39", "x"], "_line": [2, 3], "_raw": ["39", "x"]})
        >>> good, bad = conform(df, {"age": pl.Int64()}, file="a.csv")
        >>> good["age"].to_list(), bad.select("line", "reason").row(0)
        ([39], (3, "column 'age': 'x' is not int"))
        >>> good, bad = conform(pl.DataFrame({"n": [2.0, 2.5]}), {"n": pl.Int64()}, file="a.parquet")
        >>> good["n"].to_list(), bad["reason"].to_list()
        ([2], ["column 'n': '2.5' is not int"])
    """
    casts, faults = [], []
    any_wrong = pl.Series([False] * frame.height, dtype=pl.Boolean)
    for name, dtype in types.items():
        if name not in frame.columns or frame[name].dtype == dtype:
            continue
        converted, wrong = _retyped(frame[name], dtype, file, decimal_comma)
        casts.append(converted.alias(name))
        any_wrong = any_wrong | wrong
        label = _NAMES.get(str(dtype), str(dtype))
        faults.append(
            pl.when(wrong).then(
                pl.format("column '{}': '{}' is not {}", pl.lit(name), pl.col(name), pl.lit(label))
            )
        )
    if not casts:
        return frame.drop(RAW, strict=False), _empty()
    reason = pl.concat_str(faults, separator="; ", ignore_nulls=True)
    bad = frame.with_columns(reason.alias(REASON)).filter(any_wrong) if any_wrong.any() else None
    good = frame.filter(~any_wrong).with_columns([c.filter(~any_wrong) for c in casts])
    return good.drop(RAW, strict=False), as_quarantine(bad, file) if bad is not None else _empty()


def _retyped(
    values: pl.Series, dtype: pl.DataType, file: str | None, decimal_comma: bool = False
) -> tuple[pl.Series, pl.Series]:
    """``values`` as ``dtype``, and where a value did not fit (not null before, lost or null after)."""
    if values.dtype.is_nested():
        raise IngestError(
            f"{file}: column '{values.name}' holds {values.dtype}, which --schema cannot retype",
            hint="leave it out of --schema",
        )
    if values.dtype == pl.String or dtype == pl.String:
        text = values if values.dtype == pl.String else values.cast(pl.String)
        try:
            converted = _convert(text, dtype, strict=False, decimal_comma=decimal_comma)
        except pl.exceptions.PolarsError:  # a format that varies too much to infer at all
            converted = pl.Series(values.name, [None] * len(values), dtype=dtype)
        blank = text.str.strip_chars() == ""  # spaces alone are no value: null, as Polars reads them
        return converted, (values.is_not_null() & converted.is_null() & ~blank).fill_null(False)
    kinds = {_kind(values.dtype), _kind(dtype)}
    if len(kinds) > 1 or None in kinds:  # a number declared a date, a date declared a number: read as text
        return _retyped(values.cast(pl.String), dtype, file)
    converted = values.cast(dtype, strict=False)
    kept = converted.cast(values.dtype, strict=False) == values
    return converted, values.is_not_null() & ~kept.fill_null(False)


def _kind(dtype: pl.DataType) -> str | None:
    """Types cast into one another directly: numbers (and booleans), or points in time."""
    if dtype.is_numeric() or dtype == pl.Boolean:
        return "number"
    return "time" if dtype in (pl.Date, pl.Datetime) else None


def as_quarantine(bad: pl.DataFrame, file: str | None) -> pl.DataFrame:
    """Rows of a batch, each with its :data:`REASON`, as quarantine rows (:data:`QUARANTINE_SCHEMA`).

    A row's raw text is its ``_raw`` column if the batch has one, else its values as JSON; its
    file is its ``_file`` if it has one, else ``file``.

    Example:
        >>> bad = pl.DataFrame({"k": [1], "_line": [3], "_reason": ["key k=1 is already on line 2"]})
        >>> as_quarantine(bad, "a.csv").row(0)
        (3, 'a.csv', '{"k":1}', 'key k=1 is already on line 2')
    """
    if bad.is_empty():
        return _empty()
    data = [c for c in bad.columns if not c.startswith("_")]
    raw = pl.col(RAW) if RAW in bad.columns else pl.struct(data).struct.json_encode()
    where = pl.col(FILE) if FILE in bad.columns else pl.lit(file, pl.String)
    line = pl.col(LINE).cast(pl.Int64) if LINE in bad.columns else pl.lit(None, pl.Int64)
    return bad.select(
        line.alias("line"), where.alias("file"), raw.alias("raw"), pl.col(REASON).alias("reason")
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)
