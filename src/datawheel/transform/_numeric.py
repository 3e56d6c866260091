"""Ops on numbers: scaling (z-score, min-max), clipping to quantiles, quantile buckets.

Fitting reads the column as Float64 and ignores nulls and NaN; applying keeps nulls null. The
learned numbers are held as Python floats, which JSON keeps exactly, so a loaded op computes
bit-identical features.

Scaling multiplies by a reciprocal computed once (``(x - mean) * (1 / std)``) rather than
dividing: Polars divides an array of two or more values by a scalar that way, but a one-value
array exactly, so a division would give a one-row serving batch a last bit different from the
same row in a larger batch. A multiplication gives the same bits for any batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import polars as pl

from datawheel.errors import TransformError
from datawheel.transform._op import Kind, OneColumnOp, check_finite, finite_values, learn


def _check_quantile(name: str, q: float) -> None:
    if not 0.0 <= q <= 1.0:
        raise TransformError(f"{name} must be between 0 and 1, not {q}", hint="give a fraction like 0.01")


@dataclass(frozen=True)
class Standardize(OneColumnOp):
    """Scale to zero mean and unit variance: ``(x - mean) * (1 / std)``, as Float64.

    ``std`` is the population standard deviation (``ddof=0``). When every non-null value is the
    same, ``mean`` is that value and ``std`` is 1, so the feature is 0.

    Example:
        >>> frame = pl.DataFrame({"age": [20, 30, 40]})
        >>> op = Standardize("age").fit(frame)
        >>> (op.mean, round(op.std, 4))
        (30.0, 8.165)
        >>> [round(v, 4) for v in op.apply(frame)["age"]]
        [-1.2247, 0.0, 1.2247]
    """

    mean: float | None = field(default=None, kw_only=True)
    std: float | None = field(default=None, kw_only=True)

    kind: ClassVar[str] = "standardize"
    reads_kind: ClassVar[Kind] = "numeric"
    state: ClassVar[tuple[str, ...]] = ("mean", "std")

    def _learn(self, frame: pl.DataFrame | pl.LazyFrame, dtype: pl.DataType) -> dict[str, Any]:
        x = finite_values(dtype, self.column)
        row = learn(frame, self, mean=x.mean(), std=x.std(ddof=0), min=x.min(), max=x.max())
        check_finite(self, mean=row["mean"], std=row["std"])
        if row["min"] == row["max"]:
            return {"mean": float(row["min"]), "std": 1.0}
        return {"mean": float(row["mean"]), "std": float(row["std"])}

    def _expr(self, x: pl.Expr) -> pl.Expr:
        assert self.std is not None
        return (x.cast(pl.Float64) - pl.lit(self.mean, pl.Float64)) * pl.lit(1.0 / self.std, pl.Float64)


@dataclass(frozen=True)
class MinMax(OneColumnOp):
    """Scale to [0, 1] by the fitted range: ``(x - min) * (1 / (max - min))``, as Float64.

    Values outside the fitted range at serving fall outside [0, 1] (they are not clipped; put a
    :class:`Clip` before it for that). A constant column gives 0.

    Example:
        >>> frame = pl.DataFrame({"hours": [10, 20, 50]})
        >>> op = MinMax("hours", output="hours_01").fit(frame)
        >>> op.apply(pl.DataFrame({"hours": [20, 60]}))["hours_01"].to_list()
        [0.25, 1.25]
    """

    min: float | None = field(default=None, kw_only=True)
    max: float | None = field(default=None, kw_only=True)

    kind: ClassVar[str] = "min_max"
    reads_kind: ClassVar[Kind] = "numeric"
    state: ClassVar[tuple[str, ...]] = ("min", "max")

    def _learn(self, frame: pl.DataFrame | pl.LazyFrame, dtype: pl.DataType) -> dict[str, Any]:
        x = finite_values(dtype, self.column)
        row = learn(frame, self, min=x.min(), max=x.max())
        check_finite(self, min=row["min"], max=row["max"])
        return {"min": float(row["min"]), "max": float(row["max"])}

    def _expr(self, x: pl.Expr) -> pl.Expr:
        assert self.min is not None
        assert self.max is not None
        width = self.max - self.min if self.max > self.min else 1.0
        return (x.cast(pl.Float64) - pl.lit(self.min, pl.Float64)) * pl.lit(1.0 / width, pl.Float64)


@dataclass(frozen=True)
class Clip(OneColumnOp):
    """Clip to bounds learned as quantiles of the column; the column keeps its type.

    The bounds are values seen in the data: ``lower`` is the ``lower_quantile`` rounded down to
    the value below it (Polars' ``"lower"`` interpolation), ``upper`` the ``upper_quantile``
    rounded up (``"higher"``). Integer columns get integer bounds.

    Example:
        >>> frame = pl.DataFrame({"gain": list(range(1, 101))})
        >>> op = Clip("gain", 0.05, 0.95).fit(frame)
        >>> (op.lower, op.upper)
        (5, 96)
        >>> op.apply(pl.DataFrame({"gain": [0, 50, 1000]}))["gain"].to_list()
        [5, 50, 96]
    """

    lower_quantile: float
    upper_quantile: float
    lower: float | None = field(default=None, kw_only=True)
    upper: float | None = field(default=None, kw_only=True)

    kind: ClassVar[str] = "clip"
    reads_kind: ClassVar[Kind] = "numeric"
    state: ClassVar[tuple[str, ...]] = ("lower", "upper")

    def __post_init__(self) -> None:
        _check_quantile("lower_quantile", self.lower_quantile)
        _check_quantile("upper_quantile", self.upper_quantile)
        if self.lower_quantile > self.upper_quantile:
            raise TransformError(
                f"{self.describe()}: lower_quantile {self.lower_quantile} is above "
                f"upper_quantile {self.upper_quantile}",
                hint="swap them",
            )

    def _learn(self, frame: pl.DataFrame | pl.LazyFrame, dtype: pl.DataType) -> dict[str, Any]:
        x = pl.col(self.column).fill_nan(None) if dtype.is_float() else pl.col(self.column)
        row = learn(
            frame,
            self,
            lower=x.quantile(self.lower_quantile, "lower"),
            upper=x.quantile(self.upper_quantile, "higher"),
        )
        check_finite(self, lower=row["lower"], upper=row["upper"])
        number = int if dtype.is_integer() else float
        return {"lower": number(row["lower"]), "upper": number(row["upper"])}

    def _expr(self, x: pl.Expr) -> pl.Expr:
        return x.clip(self.lower, self.upper)


@dataclass(frozen=True)
class Bucketize(OneColumnOp):
    """The index of a value's quantile bucket, as Int64 (0 to ``len(edges)``).

    ``fit`` learns ``buckets - 1`` edges: the quantiles at 1/buckets, 2/buckets… (linear
    interpolation), with repeats removed, so a column with many equal values may get fewer
    buckets. Bucket ``i`` holds ``edges[i-1] <= x < edges[i]``: a value equal to an edge goes to
    the upper bucket; values below the first edge go to bucket 0, values at or above the last to
    the last bucket (NaN too, as Polars sorts NaN above every number).

    Example:
        >>> op = Bucketize("x", buckets=4).fit(pl.DataFrame({"x": [1, 2, 3, 4, 5, 6, 7, 8]}))
        >>> op.edges
        (2.75, 4.5, 6.25)
        >>> op.apply(pl.DataFrame({"x": [-10.0, 2.0, 4.5, 7.0, 99.0, None]}))["x"].to_list()
        [0, 0, 2, 3, 3, None]
    """

    buckets: int = 10
    edges: tuple[float, ...] | None = field(default=None, kw_only=True)

    kind: ClassVar[str] = "bucketize"
    reads_kind: ClassVar[Kind] = "numeric"
    state: ClassVar[tuple[str, ...]] = ("edges",)

    def __post_init__(self) -> None:
        if self.buckets < 1:
            raise TransformError(f"{self.describe()}: buckets must be 1 or more, not {self.buckets}")

    def _learn(self, frame: pl.DataFrame | pl.LazyFrame, dtype: pl.DataType) -> dict[str, Any]:
        x = finite_values(dtype, self.column)
        quantiles = {f"q{i}": x.quantile(i / self.buckets, "linear") for i in range(1, self.buckets)}
        row = learn(frame, self, count=x.count(), **quantiles)
        if row["count"] == 0:
            check_finite(self, edges=None)
        check_finite(self, **row)
        return {"edges": tuple(sorted({float(row[name]) for name in quantiles}))}

    def _expr(self, x: pl.Expr) -> pl.Expr:
        assert self.edges is not None
        if not self.edges:
            index = pl.lit(0, pl.Int64)
        else:
            index = pl.sum_horizontal([x >= pl.lit(edge, pl.Float64) for edge in self.edges]).cast(pl.Int64)
        return pl.when(x.is_null()).then(pl.lit(None, pl.Int64)).otherwise(index)
