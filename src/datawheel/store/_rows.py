"""Row identity: ``_row_id`` (stable across versions) and ``_row_hash`` (content).

Both hash a stable encoding of the row (``polars-hash``'s ``hash_rows``, version 1), so they do
not change across processes, machines or library versions:

- ``_row_id`` is an identity that must never collide: the first 128 bits of a BLAKE3 digest,
  as 32 hex characters;
- ``_row_hash`` only tells whether a row's content changed: a 64-bit xxh3, stored as Int64
  (Delta has no unsigned integers). It is ten times cheaper to compute, read and compare.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import polars_hash as plh

from datawheel.errors import StoreError

ROW_ID = "_row_id"
ROW_HASH = "_row_hash"
SOURCE = "_source"
_HEX_DIGITS = 32


def is_system_column(name: str) -> bool:
    """Whether a column belongs to datawheel (its name starts with ``_``) rather than the data."""
    return name.startswith("_")


def data_columns(columns: Sequence[str]) -> list[str]:
    """The user's columns, in order, leaving out datawheel's own."""
    return [c for c in columns if not is_system_column(c)]


def _digest(exprs: Sequence[pl.Expr]) -> pl.Expr:
    return plh.hash_rows(list(exprs), version=1).chash.blake3().str.slice(0, _HEX_DIGITS)


def row_hash_expr(columns: Sequence[str]) -> pl.Expr:
    """An expression for the 64-bit content hash of each row over ``columns``."""
    if not columns:
        return pl.lit(0, pl.Int64)
    encoded = plh.hash_rows([pl.col(c) for c in columns], version=1)
    return encoded.nchash.xxh3_64().reinterpret(signed=True)


def with_row_identity(frame: pl.DataFrame, *, key: Sequence[str] | None = None) -> pl.DataFrame:
    """Add ``_row_hash``, and ``_row_id`` where a row has none, after the data columns.

    A row that already has a ``_row_id`` (read from an earlier version) keeps it. A new row's
    ``_row_id`` is the hash of the ``key`` columns when a key is given (a repeated key is an
    error), else the content hash; the n-th repeat of the same content gets its own id (the
    hash of the content hash and n), so two equal rows stay two rows.

    Example:
        >>> df = with_row_identity(pl.DataFrame({"text": ["a", "b", "a"]}))
        >>> df.columns
        ['text', '_row_id', '_row_hash']
        >>> df["_row_id"].n_unique(), df["_row_hash"].n_unique(), df["_row_hash"].dtype
        (3, 2, Int64)
    """
    columns = data_columns(frame.columns)
    if not columns:
        raise StoreError(
            "the table has no data columns",
            hint="commit a table with at least one column whose name does not start with '_'",
        )
    out = frame.with_columns(row_hash_expr(columns).alias(ROW_HASH))
    kept = pl.col(ROW_ID).cast(pl.String) if ROW_ID in frame.columns else pl.lit(None, pl.String)
    if ROW_ID in frame.columns and frame[ROW_ID].null_count() == 0:
        fresh = pl.lit(None, pl.String)  # every row keeps its id: nothing to hash
    elif key:
        fresh = _key_id(out, key)
    else:
        content = _digest([pl.col(c) for c in columns])
        occurrence = pl.int_range(pl.len()).over(content)
        fresh = pl.when(occurrence == 0).then(content).otherwise(_digest([content, occurrence]))
    out = out.with_columns(pl.coalesce(kept, fresh).alias(ROW_ID))
    _check_unique_ids(out)
    return out.select([*columns, ROW_ID, ROW_HASH, *_other_system(out.columns)])


def _other_system(columns: Sequence[str]) -> list[str]:
    return [c for c in columns if is_system_column(c) and c not in (ROW_ID, ROW_HASH)]


def _key_id(frame: pl.DataFrame, key: Sequence[str]) -> pl.Expr:
    missing = [k for k in key if k not in frame.columns]
    if missing:
        raise StoreError(
            f"key column {missing[0]!r} is not in the table (columns: {', '.join(frame.columns)})",
            hint="name an existing column with --key, or leave it out to use content hashes",
        )
    repeated = frame.group_by(key).len().filter(pl.col("len") > 1)
    if repeated.height:
        first = repeated.row(0, named=True)
        shown = ", ".join(f"{k}={first[k]!r}" for k in key)
        raise StoreError(
            f"key ({', '.join(key)}) is not unique: {shown} occurs {first['len']} times "
            f"({repeated.height} repeated keys in all)",
            hint="remove the repeated rows, or choose a key that is unique",
        )
    return _digest([pl.col(k) for k in key])


def _check_unique_ids(frame: pl.DataFrame) -> None:
    ids = frame[ROW_ID]
    if ids.n_unique() != frame.height:
        repeated = ids.filter(ids.is_duplicated()).first()
        raise StoreError(
            f"{ROW_ID} {repeated!r} occurs more than once",
            hint=f"a row id names one row: drop the repeated rows or the {ROW_ID} column",
        )
