"""What every op of a transform is: a frozen dataclass that learns state once and writes features.

An op reads one column. ``fit`` learns its state from a frame (one pass, Polars expressions) and
returns a copy of the op holding that state; ``exprs`` gives the Polars expressions that compute
its features from that state alone, so a fitted op gives the same features on any batch, in any
process. An op's output replaces its column, unless ``output`` names a new column.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import KW_ONLY, dataclass, fields, replace
from typing import Any, ClassVar, Literal, Self, TypeVar

import polars as pl

from datawheel.errors import TransformError

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

Scalar = str | int | float | bool
"""A value an op may hold as state, written to JSON as it is."""

Kind = Literal["numeric", "text", "category", "fillable"]
"""Which column types an op accepts: numbers; text; categories (text, integers, booleans); any
of these (``fillable``)."""

_KIND_TEXT: dict[Kind, str] = {
    "numeric": "an integer or float column",
    "text": "a String, Categorical or Enum column",
    "category": "a String, Categorical, Enum, integer or Boolean column",
    "fillable": "a numeric, String, Categorical, Enum or Boolean column",
}

OPS: dict[str, type[Op]] = {}
"""Every op class, by the name it has in a saved transform."""


def is_text(dtype: pl.DataType) -> bool:
    """Whether a column of this type holds text (String, Categorical or Enum)."""
    return isinstance(dtype, pl.String | pl.Categorical | pl.Enum)


def is_numeric(dtype: pl.DataType) -> bool:
    """Whether a column of this type holds integers or floats."""
    return dtype.is_integer() or dtype.is_float()


def accepts(kind: Kind, dtype: pl.DataType) -> bool:
    """Whether an op accepting ``kind`` can read a column of type ``dtype``."""
    if kind == "numeric":
        return is_numeric(dtype)
    if kind == "text":
        return is_text(dtype)
    if kind == "category":
        return is_text(dtype) or dtype.is_integer() or isinstance(dtype, pl.Boolean)
    return is_numeric(dtype) or is_text(dtype) or isinstance(dtype, pl.Boolean)


def learn(frame: pl.DataFrame | pl.LazyFrame, op: Op, **exprs: pl.Expr) -> dict[str, Any]:
    """One pass over ``frame``: the named aggregates, as Python values."""
    try:
        return frame.lazy().select(**exprs).collect().row(0, named=True)
    except pl.exceptions.PolarsError as exc:
        raise TransformError(f"{op.describe()} could not be fitted: {exc}", hint="check the column") from exc


def finite_values(dtype: pl.DataType, column: str) -> pl.Expr:
    """The column's values as Float64, with NaN read as null (fitting ignores NaN)."""
    expr = pl.col(column).cast(pl.Float64)
    return expr.fill_nan(None) if dtype.is_float() else expr


def check_finite(op: Op, **values: float | None) -> None:
    """An error if a learned number is missing (no values) or infinite."""
    for name, value in values.items():
        if value is None:
            raise TransformError(
                f"{op.describe()} found no values to learn from in column '{op.column}'",
                hint="fit it on data where the column has non-null values",
            )
        if not math.isfinite(value):
            raise TransformError(
                f"{op.describe()} learned a {name} of {value} from column '{op.column}', "
                "which holds infinite values",
                hint="drop or clip the infinite values before fitting",
            )


@dataclass(frozen=True)
class Op(ABC):
    """A step of a transform: reads ``column``, learns its state in ``fit``, writes features.

    Args:
        column: The column the op reads.
        output: The column it writes; by default ``column`` itself (the op works in place).
    """

    column: str
    _: KW_ONLY
    output: str | None = None

    kind: ClassVar[str]
    """The op's name in a saved transform (``standardize``, ``vocabulary``…)."""
    reads_kind: ClassVar[Kind]
    state: ClassVar[tuple[str, ...]] = ()
    """The fields ``fit`` learns; the op is fitted when none of them is None."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            OPS[cls.kind] = cls

    @property
    def fitted(self) -> bool:
        """Whether the op holds its learned state (stateless ops always do)."""
        return all(getattr(self, name) is not None for name in self.state)

    @property
    def target(self) -> str:
        """The column the op writes: ``output``, else ``column``."""
        return self.output or self.column

    @property
    def writes(self) -> tuple[str, ...]:
        """The columns the op writes."""
        return (self.target,)

    @property
    def drops(self) -> tuple[str, ...]:
        """The columns the op removes (only one-hot encoding in place removes its column)."""
        return ()

    def describe(self) -> str:
        """A short name for messages, like ``Standardize('age')``."""
        return f"{type(self).__name__}({self.column!r})"

    def fit(self, frame: pl.DataFrame | pl.LazyFrame) -> Self:
        """This op with its state learned from ``frame`` (one pass over the data)."""
        schema = frame.collect_schema()
        if self.column not in schema:
            raise TransformError(
                f"{self.describe()} reads column '{self.column}', which the frame lacks "
                f"(it has {', '.join(schema.names()) or 'no columns'})",
                hint="fit on a frame with that column, or fix the op's column name",
            )
        dtype = schema[self.column]
        if not accepts(self.reads_kind, dtype):
            raise TransformError(
                f"{self.describe()} needs {_KIND_TEXT[self.reads_kind]}; column '{self.column}' is {dtype}",
                hint=f"cast it first, e.g. pl.col({self.column!r}).cast(...)",
            )
        return replace(self, **self._learn(frame, dtype))

    def exprs(self) -> list[pl.Expr]:
        """The Polars expressions that compute this op's features, one per written column."""
        if not self.fitted:
            raise TransformError(f"{self.describe()} is not fitted", hint="call fit(frame) first")
        return self._features()

    def apply(self, frame: FrameT) -> FrameT:
        """``frame`` with this op's features written (eager or lazy, as given)."""
        out = frame.with_columns(self.exprs())
        return out.drop(self.drops) if self.drops else out

    def to_dict(self) -> dict[str, Any]:
        """The op as plain JSON values: ``{"op": kind, field: value…}``, state included."""
        data: dict[str, Any] = {"op": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            data[f.name] = list(value) if isinstance(value, tuple) else value
        return data

    @abstractmethod
    def _learn(self, frame: pl.DataFrame | pl.LazyFrame, dtype: pl.DataType) -> dict[str, Any]:
        """The state learned from ``frame``, by field name."""

    @abstractmethod
    def _features(self) -> list[pl.Expr]:
        """The expressions of :meth:`exprs`, once the op is known to be fitted."""


class OneColumnOp(Op):
    """An op that writes one column (``target``), computed from the column it reads."""

    def _features(self) -> list[pl.Expr]:
        return [self._expr(pl.col(self.column)).alias(self.target)]

    @abstractmethod
    def _expr(self, x: pl.Expr) -> pl.Expr:
        """The feature computed from the column ``x`` with the learned state."""


def op_from_dict(data: dict[str, Any]) -> Op:
    """An op from its ``to_dict`` form.

    Example:
        >>> from datawheel.transform import Standardize
        >>> op_from_dict({"op": "standardize", "column": "age", "output": None, "mean": 40.0, "std": 2.0})
        Standardize(column='age', output=None, mean=40.0, std=2.0)
    """
    name = data.get("op")
    cls = OPS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise TransformError(f"unknown op {name!r}", hint=f"known ops are {', '.join(sorted(OPS))}")
    args: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "op"}
    try:
        return cls(**args)
    except TypeError as exc:
        raise TransformError(f"op {name!r} is malformed: {exc}", hint="fit and save it again") from exc
