"""Column types: inferred from a sample or declared, and rows that do not fit them."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from datawheel.errors import IngestError
from datawheel.ingest._batch import FILE, LINE, QUARANTINE_SCHEMA

RAW = "_raw"
"""Optional column of a frame being conformed: the row as it stood in the source."""

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


def infer_types(frame: pl.DataFrame) -> dict[str, pl.DataType]:
    """The narrowest type each text column's values fit: int, float, bool, date, datetime, str.

    Up to 1% of a column's values (none in a sample under 100) may fail to fit: they are taken
    for stray values, which ``conform`` then sends to quarantine, rather than a reason to read
    a numeric column as text. Numbers with a leading zero (``007``, codes and postcodes) stay
    text, so nothing is lost.

    Example:
        >>> df = pl.DataFrame(
        ...     {"a": ["1", "2"], "b": ["1.5", None], "c": ["007", "12"], "d": ["2024-01-31", "2024-02-01"]}
        ... )
        >>> {k: str(v) for k, v in infer_types(df).items()}
        {'a': 'Int64', 'b': 'Float64', 'c': 'String', 'd': 'Date'}
    """
    return {name: _infer(frame[name]) for name in frame.columns if frame[name].dtype == pl.String}


def _infer(values: pl.Series) -> pl.DataType:
    present = values.drop_nulls()
    if present.is_empty():
        return pl.String()
    stripped = present.str.strip_chars()
    if stripped.str.contains(r"^[+-]?0\d").any():
        return pl.String()
    allowed = len(stripped) // 100
    kinds: list[pl.DataType] = [pl.Int64(), pl.Float64(), pl.Boolean()]
    if len(stripped) - int(stripped.str.contains(_DATE_LIKE).sum()) <= allowed:  # dates are slow to try
        kinds += [pl.Date(), pl.Datetime("us")]
    for dtype in kinds:
        try:
            misfits = _convert(stripped, dtype, strict=False).null_count()
        except (pl.exceptions.PolarsError, ValueError):  # a date format that cannot be inferred
            continue
        if misfits <= allowed:
            return dtype
    return pl.String()


def _convert(values: pl.Series, dtype: pl.DataType, *, strict: bool) -> pl.Series:
    if dtype == pl.String:
        return values
    text = values.str.strip_chars()
    if dtype == pl.Boolean:
        return text.str.to_lowercase().replace_strict(_BOOLS, default=None, return_dtype=pl.Boolean)
    if dtype == pl.Date:
        return text.str.to_date(strict=strict)
    if dtype == pl.Datetime:
        return text.str.to_datetime(time_unit="us", strict=strict)
    return text.cast(dtype, strict=strict)


def conform(
    frame: pl.DataFrame, types: Mapping[str, pl.DataType], *, file: str | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cast text columns to ``types``; rows with a value that does not fit go to quarantine.

    Returns the conforming rows (``_raw`` dropped) and the quarantine, whose reason names every
    column at fault with its value and the expected type.

    Example:
        >>> df = pl.DataFrame({"age": ["39", "x"], "_line": [2, 3], "_raw": ["39", "x"]})
        >>> good, bad = conform(df, {"age": pl.Int64()}, file="a.csv")
        >>> good["age"].to_list(), bad.select("line", "reason").row(0)
        ([39], (3, "column 'age': 'x' is not int"))
    """
    casts, faults = [], []
    any_wrong = pl.Series([False] * frame.height, dtype=pl.Boolean)
    for name, dtype in types.items():
        if name not in frame.columns or frame[name].dtype != pl.String or dtype == pl.String:
            continue
        try:
            converted = _convert(frame[name], dtype, strict=False)
        except pl.exceptions.PolarsError:  # a format that varies too much to infer at all
            converted = pl.Series(name, [None] * frame.height, dtype=dtype)
        casts.append(converted.alias(name))
        wrong = frame[name].is_not_null() & converted.is_null()
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
    bad = frame.with_columns(reason.alias("_reason")).filter(any_wrong) if any_wrong.any() else None
    good = frame.filter(~any_wrong).with_columns([c.filter(~any_wrong) for c in casts])
    return good.drop(RAW, strict=False), _as_quarantine(bad, file) if bad is not None else _empty()


def _as_quarantine(bad: pl.DataFrame, file: str | None) -> pl.DataFrame:
    if bad.is_empty():
        return _empty()
    data = [c for c in bad.columns if not c.startswith("_")]
    raw = pl.col(RAW) if RAW in bad.columns else pl.struct(data).struct.json_encode()
    where = pl.col(FILE) if FILE in bad.columns else pl.lit(file, pl.String)
    line = pl.col(LINE).cast(pl.Int64) if LINE in bad.columns else pl.lit(None, pl.Int64)
    return bad.select(
        line.alias("line"), where.alias("file"), raw.alias("raw"), pl.col("_reason").alias("reason")
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)
