"""Built-in steps a pipeline file can name without writing Python.

``filter`` and ``select`` are row-wise: each batch of rows maps to its output on its own, so an
engine may cut a table into batches, run the step's batch function (:data:`ROW_WISE`) on each,
anywhere, and put the results back in order. ``join`` needs whole tables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from datawheel.pipeline._step import Step, step


def filter_batch(batch: pl.DataFrame, *, where: str = "TRUE") -> pl.DataFrame:
    """The rows of one batch for which the SQL condition ``where`` holds (the ``filter`` step's code).

    Example:
        >>> filter_batch(pl.DataFrame({"age": [12, 40]}), where="age >= 18").height
        1
    """
    return batch.filter(pl.sql_expr(where))


def select_batch(batch: pl.DataFrame, *, columns: list[str] | None = None) -> pl.DataFrame:
    """Only ``columns`` of one batch, then datawheel's ``_`` columns (the ``select`` step's code).

    Example:
        >>> select_batch(pl.DataFrame({"a": [1], "_row_id": ["x"]}), columns=["a"]).columns
        ['a', '_row_id']
    """
    keep = list(columns or [c for c in batch.columns if not c.startswith("_")])
    return batch.select([*keep, *[c for c in batch.columns if c.startswith("_") and c not in keep]])


@step(name="filter", outputs="output")
def filter_rows(table: pl.DataFrame, *, where: str = "TRUE") -> pl.DataFrame:
    """Rows for which the SQL condition ``where`` holds, e.g. ``where = "age >= 18"``.

    Example:
        >>> filter_rows(pl.DataFrame({"age": [12, 40]}), where="age >= 18")["age"].to_list()
        [40]
    """
    return filter_batch(table, where=where)


@step(name="select", outputs="output")
def select_columns(table: pl.DataFrame, *, columns: list[str] | None = None) -> pl.DataFrame:
    """Only ``columns``, in that order (datawheel's own ``_`` columns are kept).

    Example:
        >>> select_columns(pl.DataFrame({"a": [1], "b": [2]}), columns=["b"]).columns
        ['b']
    """
    return select_batch(table, columns=columns)


@step(name="join", outputs="output")
def join_tables(
    left: pl.DataFrame, right: pl.DataFrame, *, on: list[str] | None = None, how: str = "inner"
) -> pl.DataFrame:
    """``left`` joined with ``right`` on the ``on`` columns (``how``: inner, left, anti, semi…).

    The right side's datawheel columns (``_row_id``…) are dropped: the rows keep the left's.

    Example:
        >>> users = pl.DataFrame({"id": [1, 2], "name": ["a", "b"]})
        >>> join_tables(users, pl.DataFrame({"id": [2], "score": [9]}), on=["id"]).rows()
        [(2, 'b', 9)]
    """
    right = right.select([c for c in right.columns if not c.startswith("_")])
    return left.join(right, on=on or None, how=how)  # type: ignore[arg-type]


BUILTINS: dict[str, Step] = {s.name: s for s in (filter_rows, select_columns, join_tables)}


def _always(**_: Any) -> bool:
    return True


@dataclass(frozen=True)
class RowWise:
    """How a row-wise built-in runs on batches: its per-batch function, and when that is exact.

    Cutting a table into batches, calling ``batch(part, **params)`` on each and concatenating the
    results in order gives the step's output, whenever ``holds(**params)`` is true.
    """

    batch: Callable[..., pl.DataFrame]
    holds: Callable[..., bool] = _always


def row_wise_condition(*, where: str = "TRUE") -> bool:
    """Whether the SQL condition ``where`` reads each row on its own (so batches may be filtered apart).

    Conditions with aggregates (``AVG(x)``), windows (``OVER``), row numbers or functions not
    known to be row-wise are not: they need the whole table.

    Example:
        >>> row_wise_condition(where="age >= 18 AND name LIKE 'a%'")
        True
        >>> row_wise_condition(where="age > AVG(age)")
        False
    """
    try:
        tree = json.loads(pl.sql_expr(where).meta.serialize(format="json"))
    except Exception:  # a condition polars cannot parse or describe is run on the whole table
        return False
    return _row_wise(tree)


ROW_WISE: dict[str, RowWise] = {
    "filter": RowWise(filter_batch, holds=row_wise_condition),
    "select": RowWise(select_batch),
}
"""The built-ins that run batch by batch, by name; the others (``join``) need whole tables."""


def batch_function(built: Step, params: Mapping[str, Any]) -> Callable[..., pl.DataFrame] | None:
    """The per-batch function of a built-in step, if it is row-wise with these parameters, else None.

    Example:
        >>> batch_function(filter_rows, {"where": "age > 1"}) is filter_batch
        True
        >>> batch_function(join_tables, {}) is None
        True
    """
    form = ROW_WISE.get(built.name)
    if form is None or BUILTINS.get(built.name) is not built:  # a user's step may share a name
        return None
    return form.batch if form.holds(**{**built.defaults, **params}) else None


# What a row-wise condition may contain: expression nodes, and functions that map each value
# (or each row's values) to one value. Anything else sends the filter to the whole table.
_FUNCTIONS = frozenset(
    {
        "Abs",
        "Ceil",
        "Coalesce",
        "FillNull",
        "Floor",
        "Log",
        "MaxHorizontal",
        "MinHorizontal",
        "Round",
        "Sign",
        "Truncate",
        *(f"Boolean.{n}" for n in ("AllHorizontal", "AnyHorizontal", "IsBetween", "IsFinite", "IsIn")),
        *(f"Boolean.{n}" for n in ("IsInfinite", "IsNan", "IsNotNan", "IsNotNull", "IsNull", "Not")),
        *(f"ListExpr.{n}" for n in ("Contains", "Get", "Length")),
        *(f"Pow.{n}" for n in ("Cbrt", "Generic", "Sqrt")),
        *(f"Sql.{n}" for n in ("Binary", "IsIn", "Round", "ToFloat")),
        *(f"StringExpr.{n}" for n in ("ConcatHorizontal", "Contains", "EndsWith", "Find", "Head")),
        *(f"StringExpr.{n}" for n in ("LenBytes", "LenChars", "Lowercase", "Replace", "Reverse", "Slice")),
        *(f"StringExpr.{n}" for n in ("StartsWith", "StripChars", "StripCharsEnd", "StripCharsStart")),
        *(f"StringExpr.{n}" for n in ("Strptime", "Tail", "Titlecase", "ToInteger", "Uppercase")),
    }
)
_FAMILIES = frozenset({"TemporalExpr"})  # dates and times: every function maps one value to one


def _row_wise(node: Any, *, in_list: bool = False) -> bool:
    if not isinstance(node, dict) or len(node) != 1:
        return False
    ((kind, body),) = node.items()
    if kind == "Column":
        return True
    if kind == "Literal":  # a scalar, or the list of values of an IN
        return isinstance(body, dict) and (
            set(body) <= {"Dyn", "Scalar"} or (in_list and set(body) == {"Series"})
        )
    if kind == "BinaryExpr":
        return _row_wise(body["left"]) and _row_wise(body["right"])
    if kind == "Cast":
        return _row_wise(body["expr"])
    if kind == "Ternary":
        return all(_row_wise(body[k]) for k in ("predicate", "truthy", "falsy"))
    if kind == "Function":
        name = _function_name(body["function"])
        inputs = body["input"]
        is_in = name.endswith(".IsIn")
        return _known(name) and all(_row_wise(x, in_list=is_in and i > 0) for i, x in enumerate(inputs))
    return False


def _function_name(function: Any) -> str:
    """A function's id as one name: ``{"Boolean": "Not"}`` as ``Boolean.Not``, ``{"Abs": …}`` as ``Abs``."""
    if isinstance(function, str):
        return function
    if not isinstance(function, dict) or len(function) != 1:
        return ""
    ((family, inner),) = function.items()
    if isinstance(inner, str):
        return f"{family}.{inner}"
    if isinstance(inner, dict) and len(inner) == 1 and family not in _FUNCTIONS:
        return f"{family}.{next(iter(inner))}"
    return str(family)


def _known(name: str) -> bool:
    return name in _FUNCTIONS or name.partition(".")[0] in _FAMILIES
