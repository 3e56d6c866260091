"""Ops on categories: a vocabulary of integer indices, and one-hot columns.

Both learn the same ordered list of categories: the column's non-null values seen at least
``min_count`` times, most frequent first, ties broken by value (ascending), cut to
``max_size``. The order depends only on the data, never on how Polars happened to group it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import polars as pl

from datawheel.errors import TransformError
from datawheel.transform._op import Kind, OneColumnOp, Op, is_text

Category = str | int | bool
"""A category value: text (String or Categorical columns), an integer or a boolean."""


def _learn_categories(
    op: Op, frame: pl.DataFrame | pl.LazyFrame, dtype: pl.DataType, *, max_size: int | None, min_count: int
) -> tuple[Category, ...]:
    x = pl.col(op.column).cast(pl.String) if is_text(dtype) else pl.col(op.column)
    counts = (
        frame.lazy()
        .select(x.alias("value"))
        .drop_nulls()
        .group_by("value")
        .len("count")
        .filter(pl.col("count") >= min_count)
        .sort(["count", "value"], descending=[True, False])
    )
    if max_size is not None:
        counts = counts.head(max_size)
    try:
        values: list[Category] = counts.collect()["value"].to_list()
    except pl.exceptions.PolarsError as exc:
        raise TransformError(f"{op.describe()} could not be fitted: {exc}", hint="check the column") from exc
    return tuple(values)


def _check_sizes(op: Op, max_size: int | None, min_count: int) -> None:
    if max_size is not None and max_size < 1:
        raise TransformError(f"{op.describe()}: max_size must be 1 or more, or None; not {max_size}")
    if min_count < 1:
        raise TransformError(f"{op.describe()}: min_count must be 1 or more, not {min_count}")


@dataclass(frozen=True)
class Vocabulary(OneColumnOp):
    """Map each category to its integer index in the learned vocabulary, as Int64.

    The vocabulary is ordered by descending count, then by value; index ``i`` is ``values[i]``.
    A value not in it (unseen at fit, too rare, cut by ``max_size``, or equal to ``oov``) gets
    the out-of-vocabulary index ``len(values)``, whose name is ``oov``. Nulls stay null.

    Example:
        >>> frame = pl.DataFrame({"city": ["Oslo", "Rome", "Oslo", "Bern", "Rome", "Oslo"]})
        >>> op = Vocabulary("city").fit(frame)
        >>> op.values
        ('Oslo', 'Rome', 'Bern')
        >>> op.apply(pl.DataFrame({"city": ["Rome", "Lima", None]}))["city"].to_list()
        [1, 3, None]
    """

    max_size: int | None = field(default=None, kw_only=True)
    min_count: int = field(default=1, kw_only=True)
    oov: str = field(default="<unk>", kw_only=True)
    values: tuple[Category, ...] | None = field(default=None, kw_only=True)

    kind: ClassVar[str] = "vocabulary"
    reads_kind: ClassVar[Kind] = "category"
    state: ClassVar[tuple[str, ...]] = ("values",)

    def __post_init__(self) -> None:
        _check_sizes(self, self.max_size, self.min_count)

    @property
    def oov_index(self) -> int:
        """The index of values outside the vocabulary: its size."""
        return len(self.values or ())

    def _learn(self, frame: pl.DataFrame | pl.LazyFrame, dtype: pl.DataType) -> dict[str, Any]:
        values = _learn_categories(self, frame, dtype, max_size=None, min_count=self.min_count)
        kept = tuple(v for v in values if v != self.oov)
        return {"values": kept[: self.max_size]}

    def _expr(self, x: pl.Expr) -> pl.Expr:
        values = list(self.values or ())
        index = x.replace_strict(values, list(range(len(values))), default=len(values), return_dtype=pl.Int64)
        return pl.when(x.is_null()).then(pl.lit(None, pl.Int64)).otherwise(index)


@dataclass(frozen=True)
class OneHot(Op):
    """One Int8 column per learned category: 1 where the value is that category, else 0.

    The columns are named ``{prefix}_{category}``, where the prefix is ``output`` or, by
    default, ``column``; in place (no ``output``) the column itself is removed. A value outside
    the learned categories, or null, gives 0 in every column.

    Example:
        >>> op = OneHot("color").fit(pl.DataFrame({"color": ["red", "blue", "red"]}))
        >>> op.writes
        ('color_red', 'color_blue')
        >>> op.apply(pl.DataFrame({"color": ["blue", "green"]})).rows()
        [(0, 1), (0, 0)]
    """

    max_size: int | None = field(default=None, kw_only=True)
    min_count: int = field(default=1, kw_only=True)
    values: tuple[Category, ...] | None = field(default=None, kw_only=True)

    kind: ClassVar[str] = "one_hot"
    reads_kind: ClassVar[Kind] = "category"
    state: ClassVar[tuple[str, ...]] = ("values",)

    def __post_init__(self) -> None:
        _check_sizes(self, self.max_size, self.min_count)

    @property
    def writes(self) -> tuple[str, ...]:
        """The columns the op writes: one per learned category (none before fitting)."""
        return tuple(f"{self.target}_{value}" for value in self.values or ())

    @property
    def drops(self) -> tuple[str, ...]:
        """The column read, when the op works in place."""
        return () if self.output else (self.column,)

    def _features(self) -> list[pl.Expr]:
        x = pl.col(self.column)
        return [
            (x == value).fill_null(False).cast(pl.Int8).alias(name)
            for value, name in zip(self.values or (), self.writes, strict=True)
        ]

    def _learn(self, frame: pl.DataFrame | pl.LazyFrame, dtype: pl.DataType) -> dict[str, Any]:
        values = _learn_categories(self, frame, dtype, max_size=self.max_size, min_count=self.min_count)
        fitted = replace(self, values=values)
        taken = set(frame.collect_schema().names()) - {self.column}
        clashes = [name for name in fitted.writes if name in taken]
        if clashes or len(set(fitted.writes)) < len(values):
            raise TransformError(
                f"{self.describe()} would write columns that already exist or repeat: "
                f"{', '.join(clashes) or 'two categories with the same name'}",
                hint="give the op another output= prefix",
            )
        return {"values": values}
