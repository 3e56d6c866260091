"""Time-based splits: earlier rows train, later rows test, cut by dates or by ratios, with a gap."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from datawheel.errors import SplitError
from datawheel.split._allocate import F64, allocate
from datawheel.split._core import I8

__all__ = ["time_assign"]


def time_assign(
    frame: pl.DataFrame,
    column: str,
    ratios: F64,
    *,
    cutoffs: Sequence[Any] | None,
    gap: str | float | timedelta | None,
) -> tuple[I8, list[str]]:
    """Each row's split by its time (``-1`` for a row in a gap), and the cut-offs used as text.

    With ``cutoffs`` (one fewer than the splits, increasing), split ``k`` holds the rows with
    ``cutoffs[k-1] <= time < cutoffs[k]``. Without, the cut-offs are the times at the
    largest-remainder row counts of ``ratios`` over the rows sorted by time; rows with equal times
    are never cut apart (a tie goes to the later split). A ``gap`` (a duration such as ``"7d"``
    or ``"12h"`` for date and time columns, a number for numeric ones) takes the rows with
    ``cutoff - gap <= time < cutoff`` out of the earlier split into ``gap``.
    """
    series = frame.get_column(column)
    dtype = series.dtype
    if not (dtype.is_temporal() or dtype.is_numeric()):
        raise SplitError(
            f"cannot split by time on {column!r}: it holds {dtype}, not dates, times or numbers",
            hint="parse it to a date or datetime first (or pick the timestamp column)",
        )
    if series.null_count():
        raise SplitError(
            f"column {column!r} has {series.null_count():,} rows without a time",
            hint="fill or filter the rows without a time before a time split",
        )
    physical = series.to_physical().to_numpy().astype(np.float64)
    if cutoffs is None:
        bounds = _ratio_bounds(physical, ratios)
    else:
        bounds = _given_bounds(series, cutoffs, ratios.size)
    split = np.searchsorted(bounds, physical, side="right").astype(np.int8)
    if gap is not None:
        starts = _minus_gap(series, bounds, gap)
        for k in range(bounds.size):
            split[(physical >= starts[k]) & (physical < bounds[k])] = -1
    shown = pl.Series(bounds).cast(pl.Int64).cast(dtype) if dtype.is_temporal() else pl.Series(bounds)
    return split, [str(v) for v in shown.to_list()]


def _ratio_bounds(physical: F64, ratios: F64) -> F64:
    ordered = np.sort(physical)
    ends = np.cumsum(allocate(ordered.size, ratios.tolist()))[:-1]
    return ordered[np.clip(ends, 0, max(ordered.size - 1, 0))] if ordered.size else np.zeros(ends.size)


def _given_bounds(series: pl.Series, cutoffs: Sequence[Any], splits: int) -> F64:
    if len(cutoffs) != splits - 1:
        raise SplitError(
            f"{len(cutoffs)} cut-offs for {splits} splits",
            hint=f"give {splits - 1} cut-offs, one between each pair of splits",
        )
    try:
        values = pl.Series(list(cutoffs))
        if values.dtype == pl.String and series.dtype.is_temporal():
            values = values.str.to_datetime() if series.dtype != pl.Date else values.str.to_date()
        values = values.cast(series.dtype)
    except (pl.exceptions.PolarsError, ValueError, TypeError) as exc:
        raise SplitError(
            f"cannot read cut-offs {list(cutoffs)} as {series.dtype} of column {series.name!r}",
            hint="write dates as 2024-01-31 (or 2024-01-31T12:00:00), numbers as numbers",
        ) from exc
    bounds = values.to_physical().to_numpy().astype(np.float64)
    if np.any(np.diff(bounds) <= 0):
        raise SplitError(f"cut-offs {list(cutoffs)} are not increasing", hint="sort them, earliest first")
    return bounds


def _minus_gap(series: pl.Series, bounds: F64, gap: str | float | timedelta) -> F64:
    if not series.dtype.is_temporal():
        if not isinstance(gap, int | float):
            raise SplitError(
                f"gap {gap!r} is not a number", hint=f"{series.name!r} is numeric: give a number"
            )
        return bounds - float(gap)
    ends = pl.Series(bounds.astype(np.int64)).cast(series.dtype)
    try:
        if isinstance(gap, timedelta):
            starts = ends - gap
        else:
            text = str(gap).strip()
            starts = ends.dt.offset_by(text[1:] if text.startswith("-") else f"-{text}")
    except (pl.exceptions.PolarsError, ValueError, TypeError) as exc:
        raise SplitError(
            f"cannot read gap {gap!r} as a duration", hint="write it like 7d, 12h, 30m or 1mo"
        ) from exc
    out: F64 = starts.to_physical().to_numpy().astype(np.float64)
    return out
