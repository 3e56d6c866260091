"""From columns to codes: strata (joint, with float columns binned) and multi-label indicator matrices."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from datawheel.errors import SplitError
from datawheel.split._allocate import I64

__all__ = ["check_columns", "label_matrix", "strata_codes"]

NULL_LABEL = "null"


def check_columns(frame: pl.DataFrame, columns: Sequence[str], option: str) -> None:
    """Raise a :class:`SplitError` naming the first of ``columns`` the frame lacks."""
    for column in columns:
        if column not in frame.columns:
            shown = ", ".join(c for c in frame.columns if not c.startswith("_")) or "none"
            raise SplitError(
                f"no column {column!r} to use for {option} (columns: {shown})",
                hint="check the column name; `datawheel show REF` lists a version's columns",
            )


def strata_codes(
    frame: pl.DataFrame, columns: Sequence[str], *, bins: int, labelled: bool = True
) -> tuple[I64, list[str]]:
    """Each row's joint stratum as a code in ``0..S-1``, and each stratum's label.

    Float columns are cut into ``bins`` quantile bins (labelled by their interval); every other
    column is a category (cast an integer measurement to Float to bin it). A null is a class of
    its own, labelled ``null``. Joint labels join the columns' labels with ``|``.

    Example:
        >>> codes, labels = strata_codes(pl.DataFrame({"y": ["b", "a", "b", None]}), ["y"], bins=5)
        >>> codes.tolist(), labels
        ([2, 1, 2, 0], ['null', 'a', 'b'])
    """
    check_columns(frame, columns, "--stratify")
    if not columns:
        return np.zeros(frame.height, dtype=np.int64), ["all"]
    keys = pl.DataFrame([_key(frame, c, bins).alias(c) for c in columns])
    codes: I64 | None = None
    for column in columns:
        rank = _column_codes(keys.get_column(column))
        codes = rank if codes is None else _dense(codes * (int(rank.max()) + 1) + rank)
    assert codes is not None
    if not labelled:
        return codes, []
    first = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(codes.size - 1, -1, -1, dtype=np.int64)
    shown = keys[first].select(pl.col(c).cast(pl.String).fill_null(NULL_LABEL) for c in columns)
    labels = ["|".join(row) for row in shown.iter_rows()]
    return codes, labels


def _column_codes(series: pl.Series) -> I64:
    """Dense codes of a column's values in sorted order, null first (0) when there are nulls."""
    if series.dtype == pl.Boolean:
        series = series.cast(pl.Int8)
    dtype = series.dtype
    if dtype.is_integer() and series.len() > 0:
        low, high = series.min(), series.max()
        if low is not None and high is not None and int(high) - int(low) < 1 << 24:  # type: ignore[arg-type]
            values = series.fill_null(int(low) - 1).to_numpy().astype(np.int64) - (int(low) - 1)  # type: ignore[arg-type]
            present = np.bincount(values, minlength=int(high) - int(low) + 2) > 0  # type: ignore[arg-type]
            lookup = np.cumsum(present) - 1
            out: I64 = lookup[values].astype(np.int64)
            return out
    if dtype in (pl.String, pl.Categorical, pl.Enum):
        physical = series.cast(pl.String).cast(pl.Categorical).to_physical().cast(pl.Int64)
        phys = physical.fill_null(-1).to_numpy().astype(np.int64) + 1
        seen = np.flatnonzero(np.bincount(phys) > 0)
        order_of = np.full(int(phys.max()) + 1, -1, dtype=np.int64)
        order_of[seen] = np.arange(seen.size)
        compact = order_of[phys]
        # sort the few distinct values by text, null first
        first = np.full(seen.size, -1, dtype=np.int64)
        first[compact[::-1]] = np.arange(compact.size - 1, -1, -1, dtype=np.int64)
        texts = series.gather(first).to_list()
        rank = sorted(range(seen.size), key=lambda i: (texts[i] is not None, str(texts[i])))
        remap = np.empty(seen.size, dtype=np.int64)
        remap[np.array(rank, dtype=np.int64)] = np.arange(seen.size)
        out = remap[compact]
        return out
    return _dense(series.rank("dense").fill_null(0).to_numpy().astype(np.int64))


def _key(frame: pl.DataFrame, column: str, bins: int) -> pl.Series:
    series = frame.get_column(column)
    dtype = series.dtype
    if dtype.is_float():
        return _binned(series, bins)
    if dtype.is_nested():
        raise SplitError(
            f"cannot stratify on {column!r}: it holds {dtype} values",
            hint="stratify on a column of single values, or use --multilabel for a list of labels",
        )
    return series


def _binned(series: pl.Series, bins: int) -> pl.Series:
    """Quantile bins ``[lo, hi)`` of a float column (equal breakpoints merged; null and NaN stay null)."""
    values = series.to_numpy().astype(np.float64)
    finite = values[np.isfinite(values)]
    inner = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    breaks = np.unique(np.quantile(finite, inner)) if finite.size else np.zeros(0)
    edges = [-np.inf, *breaks.tolist(), np.inf]
    names = [f"[{lo:.6g}, {hi:.6g})" for lo, hi in itertools.pairwise(edges)]
    index = np.searchsorted(breaks, values, side="right")
    out = pl.Series(series.name, index).replace_strict(list(range(len(names))), names, return_dtype=pl.String)
    return out.set(pl.Series(~np.isfinite(values)), None)


def _dense(codes: I64) -> I64:
    out: I64 = (pl.Series(codes).rank("dense").to_numpy().astype(np.int64)) - 1
    return out


def label_matrix(frame: pl.DataFrame, columns: Sequence[str]) -> tuple[npt.NDArray[np.bool_], list[str]]:
    """A rows x labels indicator matrix from label columns, and the labels' names.

    A Boolean column, or a numeric one holding only 0 and 1, is one label (its name) that a row
    has when true. A list column gives a label per distinct element, ``COLUMN=ELEMENT``; any other
    column a label per distinct value, ``COLUMN=VALUE``. Nulls are no label.

    Example:
        >>> frame = pl.DataFrame({"bias": ["none", "gender", "none"], "hate": [True, False, False]})
        >>> matrix, names = label_matrix(frame, ["bias", "hate"])
        >>> names, matrix.astype(int).tolist()
        (['bias=gender', 'bias=none', 'hate'], [[0, 1, 1], [1, 0, 0], [0, 1, 0]])
    """
    check_columns(frame, columns, "--multilabel")
    parts: list[pl.Expr] = []
    names: list[str] = []
    for column in columns:
        series = frame.get_column(column)
        dtype = series.dtype
        if dtype == pl.Boolean or (dtype.is_numeric() and set(series.drop_nulls().unique()) <= {0, 1}):
            parts.append(pl.col(column).cast(pl.Boolean).fill_null(False))
            names.append(column)
        elif isinstance(dtype, pl.List):
            for value in series.explode().drop_nulls().unique().sort().to_list():
                parts.append(pl.col(column).list.contains(value).fill_null(False))
                names.append(f"{column}={value}")
        else:
            for value in series.drop_nulls().unique().sort().to_list():
                parts.append((pl.col(column) == value).fill_null(False))
                names.append(f"{column}={value}")
    if not parts:
        return np.zeros((frame.height, 0), dtype=bool), []
    matrix = frame.select(e.alias(str(i)) for i, e in enumerate(parts)).to_numpy().astype(bool)
    return matrix, names
