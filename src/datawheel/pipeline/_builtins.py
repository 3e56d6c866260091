"""Built-in steps a pipeline file can name without writing Python."""

from __future__ import annotations

import polars as pl

from datawheel.pipeline._step import Step, step


@step(name="filter", outputs="output")
def filter_rows(table: pl.DataFrame, *, where: str = "TRUE") -> pl.DataFrame:
    """Rows for which the SQL condition ``where`` holds, e.g. ``where = "age >= 18"``.

    Example:
        >>> filter_rows(pl.DataFrame({"age": [12, 40]}), where="age >= 18")["age"].to_list()
        [40]
    """
    return table.filter(pl.sql_expr(where))


@step(name="select", outputs="output")
def select_columns(table: pl.DataFrame, *, columns: list[str] | None = None) -> pl.DataFrame:
    """Only ``columns``, in that order (datawheel's own ``_`` columns are kept).

    Example:
        >>> select_columns(pl.DataFrame({"a": [1], "b": [2]}), columns=["b"]).columns
        ['b']
    """
    keep = list(columns or [c for c in table.columns if not c.startswith("_")])
    return table.select([*keep, *[c for c in table.columns if c.startswith("_") and c not in keep]])


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
