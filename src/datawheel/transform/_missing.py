"""Filling nulls with a value learned from the data (mean, median, most frequent) or given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import polars as pl

from datawheel.errors import TransformError
from datawheel.transform._op import (
    Kind,
    OneColumnOp,
    Scalar,
    check_finite,
    finite_values,
    is_numeric,
    is_text,
    learn,
)

FillStrategy = Literal["mean", "median", "mode", "constant"]


@dataclass(frozen=True)
class FillNull(OneColumnOp):
    """Replace nulls with the column's mean, median or most frequent value, or a given value.

    ``strategy`` defaults to ``"constant"`` when ``value`` is given, else ``"mean"``. Mean and
    median read numbers, ignore NaN, and give a Float64 column; ``mode`` (the most frequent
    non-null value, the smallest of equally frequent ones) and ``constant`` keep the column's
    type where the value fits it (Polars' rules: an integer column filled with 0.5 becomes
    Float64). NaN is not null and is left as it is.

    Example:
        >>> frame = pl.DataFrame({"age": [20, None, 40], "city": ["Oslo", None, "Oslo"]})
        >>> FillNull("age", "median").fit(frame).apply(frame)["age"].to_list()
        [20.0, 30.0, 40.0]
        >>> FillNull("city", value="unknown").fit(frame).apply(frame)["city"].to_list()
        ['Oslo', 'unknown', 'Oslo']
    """

    strategy: FillStrategy | None = None
    value: Scalar | None = field(default=None, kw_only=True)
    fill: Scalar | None = field(default=None, kw_only=True)

    kind: ClassVar[str] = "fill_null"
    reads_kind: ClassVar[Kind] = "fillable"
    state: ClassVar[tuple[str, ...]] = ("fill",)

    def __post_init__(self) -> None:
        if self.strategy is None:
            object.__setattr__(self, "strategy", "mean" if self.value is None else "constant")
        if self.strategy not in ("mean", "median", "mode", "constant"):
            raise TransformError(
                f"{self.describe()}: unknown strategy {self.strategy!r}",
                hint="use 'mean', 'median', 'mode', or value=… for a constant",
            )
        if (self.strategy == "constant") != (self.value is not None):
            raise TransformError(
                f"{self.describe()}: a value goes with the 'constant' strategy, and only with it",
                hint="give value=… alone, or a strategy without a value",
            )

    def _learn(self, frame: pl.DataFrame | pl.LazyFrame, dtype: pl.DataType) -> dict[str, Any]:
        if self.strategy == "constant":
            self._check_value(dtype)
            return {"fill": self.value}
        if self.strategy == "mode":
            return {"fill": self._mode(frame, dtype)}
        if not is_numeric(dtype):
            raise TransformError(
                f"{self.describe()}: the {self.strategy} of column '{self.column}' ({dtype}) is not defined",
                hint="use strategy='mode' or value=… for a non-numeric column",
            )
        x = finite_values(dtype, self.column)
        row = learn(frame, self, fill=x.mean() if self.strategy == "mean" else x.median())
        check_finite(self, fill=row["fill"])
        return {"fill": float(row["fill"])}

    def _check_value(self, dtype: pl.DataType) -> None:
        value = self.value
        fits = (
            isinstance(value, str)
            if is_text(dtype)
            else isinstance(value, bool)
            if isinstance(dtype, pl.Boolean)
            else isinstance(value, int | float) and not isinstance(value, bool)
        )
        if not fits:
            raise TransformError(
                f"{self.describe()}: value {value!r} does not fit column '{self.column}' ({dtype})",
                hint="give a value of the column's type",
            )

    def _mode(self, frame: pl.DataFrame | pl.LazyFrame, dtype: pl.DataType) -> Scalar:
        x = pl.col(self.column).cast(pl.String) if is_text(dtype) else pl.col(self.column)
        counts = frame.lazy().select(x.alias("value")).drop_nulls().group_by("value").len("count")
        top = counts.sort(["count", "value"], descending=[True, False]).head(1).collect()
        if top.height == 0:
            check_finite(self, mode=None)
        mode: Scalar = top["value"].item()
        return mode

    def _expr(self, x: pl.Expr) -> pl.Expr:
        if self.strategy in ("mean", "median"):
            return x.cast(pl.Float64).fill_null(pl.lit(self.fill, pl.Float64))
        return x.fill_null(self.fill)
