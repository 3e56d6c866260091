"""Row identity: ``_row_id`` (stable across versions) and ``_row_hash`` (content).

Both hash a stable encoding of the row (``polars-hash``'s ``hash_rows``, version 1), so they do
not change across processes, machines or library versions:

- ``_row_id`` is an identity that must not collide: 128 bits (two seeded 64-bit xxh3 hashes)
  of the key columns, or of the content, written as 32 hex characters (text in every tool that
  reads an export, never mistaken for a number);
- ``_row_hash`` only tells whether a row's content changed: a 64-bit xxh3, stored as Int64
  (Delta has no unsigned integers), cheap to read and compare.

xxh3 is not a cryptographic hash: it guards against chance collisions, not crafted ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import polars_hash as plh
import pyarrow as pa

from datawheel.errors import StoreError

ROW_ID = "_row_id"
ROW_HASH = "_row_hash"
SOURCE = "_source"


def is_system_column(name: str) -> bool:
    """Whether a column belongs to datawheel (its name starts with ``_``) rather than the data."""
    return name.startswith("_")


def data_columns(columns: Sequence[str]) -> list[str]:
    """The user's columns, in order, leaving out datawheel's own."""
    return [c for c in columns if not is_system_column(c)]


def _encoded(exprs: Sequence[pl.Expr]) -> plh.HExpr:
    return plh.hash_rows(list(exprs), version=1)


def _id128(frame: pl.DataFrame, exprs: Sequence[pl.Expr]) -> pl.Series:
    """128-bit ids as hex: two seeded xxh3 hashes packed into 16 bytes, without a Python loop."""
    encoded = _encoded(exprs)
    halves = frame.select(
        encoded.nchash.xxh3_64(seed=0).alias("a"), encoded.nchash.xxh3_64(seed=1).alias("b")
    )
    packed = np.empty((frame.height, 2), dtype=">u8")
    packed[:, 0] = halves["a"].to_numpy()
    packed[:, 1] = halves["b"].to_numpy()
    raw = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), frame.height, [None, pa.py_buffer(packed.tobytes())]
    )
    series = pl.Series(ROW_ID, raw).cast(pl.Binary).bin.encode("hex")
    assert isinstance(series, pl.Series)
    return series


def row_hash_expr(columns: Sequence[str]) -> pl.Expr:
    """An expression for the 64-bit content hash of each row over ``columns``."""
    if not columns:
        return pl.lit(0, pl.Int64)
    return _encoded([pl.col(c) for c in columns]).nchash.xxh3_64().reinterpret(signed=True)


class RowIdentity:
    """Gives the rows of a table ``_row_id`` and ``_row_hash``, in one frame or batch by batch.

    A row that already has a ``_row_id`` (read from an earlier version) keeps it. A new row's
    id hashes the ``key`` columns when there is a key (a repeated key is an error), else its
    content; the n-th repeat of the same content gets the hash of (content id, n), so equal
    rows stay distinct rows. Across batches it remembers 8 bytes per distinct row to number
    repeats and to check ids are unique, so batches give the ids the whole table would.

    Example:
        >>> ids = RowIdentity()
        >>> a = ids.apply(pl.DataFrame({"text": ["a", "b"]}))
        >>> b = ids.apply(pl.DataFrame({"text": ["a"]}))
        >>> whole = RowIdentity().apply(pl.DataFrame({"text": ["a", "b", "a"]}))
        >>> pl.concat([a, b])["_row_id"].to_list() == whole["_row_id"].to_list()
        True
        >>> whole.columns, whole["_row_hash"].dtype
        (['text', '_row_id', '_row_hash'], Int64)
    """

    def __init__(self, key: Sequence[str] | None = None) -> None:
        self.key = list(key or [])
        self._contents = np.empty(0, dtype=np.uint64)  # sorted fingerprints of every content so far
        self._ids = np.empty(0, dtype=np.uint64)  # sorted fingerprints of every id so far
        self._counts: dict[int, int] = {}  # occurrences so far, for contents seen more than once

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with ``_row_id`` and ``_row_hash`` after its data columns."""
        columns = data_columns(frame.columns)
        if not columns:
            raise StoreError(
                "the table has no data columns",
                hint="commit a table with at least one column whose name does not start with '_'",
            )
        out = frame.with_columns(row_hash_expr(columns).alias(ROW_HASH))
        kept = out[ROW_ID].cast(pl.String) if ROW_ID in out.columns else None
        content = self._content_ids(out, columns)  # also counts repeats, kept rows included
        if kept is not None and kept.null_count() == 0:
            ids = kept
        elif self.key:
            ids = self._key_ids(out) if kept is None else kept.fill_null(self._key_ids(out))
        else:
            ids = content if kept is None else kept.fill_null(content)
        out = out.with_columns(ids.alias(ROW_ID))
        self._check_unique(out)
        others = [c for c in out.columns if is_system_column(c) and c not in (ROW_ID, ROW_HASH)]
        return out.select([*columns, ROW_ID, ROW_HASH, *others])

    def _key_ids(self, frame: pl.DataFrame) -> pl.Series:
        missing = [k for k in self.key if k not in frame.columns]
        if missing:
            raise StoreError(
                f"key column {missing[0]!r} is not in the table "
                f"(columns: {', '.join(data_columns(frame.columns))})",
                hint="name an existing column with --key, or leave it out to use content hashes",
            )
        repeated = frame.group_by(self.key).len().filter(pl.col("len") > 1)
        if repeated.height:
            first = repeated.row(0, named=True)
            shown = ", ".join(f"{k}={first[k]!r}" for k in self.key)
            raise StoreError(
                f"key ({', '.join(self.key)}) is not unique: {shown} occurs {first['len']} times "
                f"({repeated.height} repeated keys in all)",
                hint="remove the repeated rows, or choose a key that is unique",
            )
        return _id128(frame, [pl.col(k) for k in self.key])

    def _content_ids(self, frame: pl.DataFrame, columns: list[str]) -> pl.Series:
        content = _id128(frame, [pl.col(c) for c in columns])
        prints = frame[ROW_HASH].reinterpret(signed=False).to_numpy()
        before = _among(self._contents, prints)
        repeat = frame[ROW_HASH].is_duplicated().to_numpy() | before
        self._contents = np.union1d(self._contents, prints)
        if not repeat.any():
            return content
        numbers = []
        for fingerprint, earlier in zip(prints[repeat].tolist(), before[repeat].tolist(), strict=True):
            seen = self._counts.get(fingerprint, 1 if earlier else 0)
            numbers.append(seen)
            self._counts[fingerprint] = seen + 1
        pairs = pl.DataFrame(
            {"c": content.filter(pl.Series(repeat)), "n": pl.Series(numbers, dtype=pl.Int64)}
        )
        again = pairs.select(
            pl.when(pl.col("n") == 0).then(pl.col("c")).otherwise(_id128(pairs, [pl.col("c"), pl.col("n")]))
        )[:, 0]
        return content.scatter(np.flatnonzero(repeat), again)

    def _check_unique(self, frame: pl.DataFrame) -> None:
        ids = frame[ROW_ID]
        prints = ids.to_frame().select(_encoded([pl.col(ROW_ID)]).nchash.xxh3_64())[:, 0].to_numpy()
        earlier = _among(self._ids, prints)
        if ids.n_unique() != len(ids) or earlier.any():
            repeated = (
                ids.filter(ids.is_duplicated()).first() if not earlier.any() else ids[int(np.argmax(earlier))]
            )
            raise StoreError(
                f"{ROW_ID} {repeated!r} occurs more than once",
                hint=f"a row id names one row: drop the repeated rows or the {ROW_ID} column",
            )
        self._ids = np.union1d(self._ids, prints)


def _among(sorted_prints: np.ndarray, prints: np.ndarray) -> np.ndarray:
    """Which of ``prints`` are in the sorted array ``sorted_prints``."""
    if not len(sorted_prints):
        return np.zeros(len(prints), dtype=bool)
    where = np.minimum(np.searchsorted(sorted_prints, prints), len(sorted_prints) - 1)
    found: np.ndarray = sorted_prints[where] == prints
    return found


def with_row_identity(frame: pl.DataFrame, *, key: Sequence[str] | None = None) -> pl.DataFrame:
    """Add ``_row_id`` and ``_row_hash`` to one whole frame (see :class:`RowIdentity`).

    Example:
        >>> df = with_row_identity(pl.DataFrame({"text": ["a", "b", "a"]}))
        >>> df["_row_id"].n_unique(), df["_row_hash"].n_unique(), df["_row_hash"].dtype
        (3, 2, Int64)
    """
    return RowIdentity(key).apply(frame)
