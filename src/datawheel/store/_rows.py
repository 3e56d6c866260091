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

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import polars as pl
import polars_hash as plh
import pyarrow as pa

from datawheel.errors import StoreError

ROW_ID = "_row_id"
ROW_HASH = "_row_hash"
SOURCE = "_source"
_FIRST_HALF = "_id_first_half"
_SECOND_HALF = "_id_second_half"
_ENCODED = "_encoded"
_CONTENT = "_content"


def is_system_column(name: str) -> bool:
    """Whether a column belongs to datawheel (its name starts with ``_``) rather than the data."""
    return name.startswith("_")


def data_columns(columns: Sequence[str]) -> list[str]:
    """The user's columns, in order, leaving out datawheel's own."""
    return [c for c in columns if not is_system_column(c)]


def _encoded(exprs: Sequence[pl.Expr]) -> plh.HExpr:
    return plh.hash_rows(list(exprs), version=1)


def _halves(frame: pl.DataFrame, exprs: Sequence[pl.Expr]) -> pl.DataFrame:
    """Columns ``a`` and ``b``: xxh3 with seeds 0 and 1 of the rows, encoded once for both."""
    encoded = frame.select(_encoded(exprs).alias(_ENCODED))
    column = plh.col(_ENCODED)
    return encoded.select(column.nchash.xxh3_64(seed=0).alias("a"), column.nchash.xxh3_64(seed=1).alias("b"))


def _id128(frame: pl.DataFrame, exprs: Sequence[pl.Expr]) -> pl.Series:
    """128-bit ids as hex: two seeded xxh3 hashes (seeds 0 and 1) of the encoded rows."""
    halves = _halves(frame, exprs)
    return _pack(halves["a"], halves["b"])


_ID_BYTES = pa.binary(16)


def _pack(first: pl.Series, second: pl.Series) -> pl.Series:
    """Two unsigned 64-bit halves as 32 hex characters (big-endian), without a Python loop.

    NumPy lays the halves side by side as 16 bytes a row; Polars writes them as hex.
    """
    count = len(first)
    packed = np.empty((count, 2), dtype=">u8")
    packed[:, 0] = first.to_numpy()
    packed[:, 1] = second.to_numpy()
    raw = pa.FixedSizeBinaryArray.from_buffers(_ID_BYTES, count, [None, pa.py_buffer(packed)])
    series = pl.Series(ROW_ID, raw)
    assert isinstance(series, pl.Series)
    return series.bin.encode("hex")


def key_prints(frame: pl.DataFrame, key: Sequence[str]) -> np.ndarray:
    """Fingerprints of the ids the ``key`` columns give ``frame``'s rows: their first 64 bits.

    The same numbers :func:`id_prints` reads from those ids, without making the ids.

    Example:
        >>> people = pl.DataFrame({"id": [7, 8], "name": ["Ann", "Bo"]})
        >>> ids = with_row_identity(people, key=["id"])["_row_id"]
        >>> (key_prints(people, ["id"]) == id_prints(ids)).tolist()
        [True, True]
    """
    prints: np.ndarray = frame.select(_encoded([pl.col(k) for k in key]).nchash.xxh3_64(seed=0))[
        :, 0
    ].to_numpy()
    return prints


def id_prints(ids: pl.Series) -> np.ndarray:
    """The first 64 bits of row ids (32 hex characters) as unsigned integers: one fingerprint each."""
    prints: np.ndarray = ids.str.slice(0, 16).str.to_integer(base=16, dtype=pl.UInt64).to_numpy()
    return prints


def row_hash_expr(columns: Sequence[str]) -> pl.Expr:
    """An expression for the 64-bit content hash of each row over ``columns``."""
    if not columns:
        return pl.lit(0, pl.Int64)
    return _encoded([pl.col(c) for c in columns]).nchash.xxh3_64().reinterpret(signed=True)


def identify_scan(
    frame: pl.LazyFrame,
    *,
    key: Sequence[str] = (),
    counted: Callable[[int], None] | None = None,
    prints: list[np.ndarray] | None = None,
) -> pl.LazyFrame:
    """``frame`` (new rows, none with an id) with ``_row_id`` and ``_row_hash``, computed as it streams.

    Without a ``key``, every row gets the id :class:`RowIdentity` gives a row whose content is
    seen for the first time; :func:`number_repeats` then gives the later repeats of a content
    their own ids, once the whole table is written. With one, every row gets the id of its key,
    as :class:`RowIdentity` gives it; :func:`check_keys` then tells whether the keys named one
    row each. ``counted`` is called with the number of rows of each piece identified (from
    Polars' threads), for progress. ``prints``, if given, gets each piece's id fingerprints
    (see :func:`id_prints`) as the rows stream, for :func:`check_keys`.
    """
    names = frame.collect_schema().names()
    columns = data_columns(names)
    if not columns:
        raise StoreError(
            "the table has no data columns",
            hint="commit a table with at least one column whose name does not start with '_'",
        )
    _check_key_columns(key, columns)
    working = (ROW_ID, ROW_HASH, _ENCODED, _FIRST_HALF, _SECOND_HALF, _CONTENT)
    others = [c for c in names if is_system_column(c) and c not in working]
    content = _encoded([pl.col(c) for c in columns])
    identified = _encoded([pl.col(k) for k in key]) if key else content
    halves = plh.col(_ENCODED)

    def pack(pairs: pl.Series) -> pl.Series:
        if counted is not None:
            counted(len(pairs))
        first = pairs.struct.field(_FIRST_HALF)
        if prints is not None:
            prints.append(first.to_numpy().copy())
        return _pack(first, pairs.struct.field(_SECOND_HALF))

    # The working columns' names start with "_", as no data column's does.
    return (
        frame.with_columns(
            identified.alias(_ENCODED), *([content.nchash.xxh3_64().alias(_CONTENT)] if key else [])
        )
        .with_columns(
            halves.nchash.xxh3_64(seed=0).alias(_FIRST_HALF),
            halves.nchash.xxh3_64(seed=1).alias(_SECOND_HALF),
        )
        .select(
            *columns,
            pl.struct(_FIRST_HALF, _SECOND_HALF)
            .map_batches(pack, return_dtype=pl.String, is_elementwise=True)
            .alias(ROW_ID),
            pl.col(_CONTENT if key else _FIRST_HALF).reinterpret(signed=True).alias(ROW_HASH),
            *others,
        )
    )


def _check_key_columns(key: Sequence[str], columns: Sequence[str]) -> None:
    """Raise if a ``key`` column is not one of the table's data ``columns``."""
    missing = [k for k in key if k not in columns]
    if missing:
        raise StoreError(
            f"key column {missing[0]!r} is not in the table (columns: {', '.join(columns)})",
            hint="name an existing column with --key, or leave it out to use content hashes",
        )


class KeyConflict(StoreError):
    """Rows identified by key in one pass have an empty key, or two rows one key."""


_KEY_HINT = "fix or drop the rows with an empty or repeated key (`datawheel ingest` quarantines them)"


def check_keys(parts: Sequence[Path], key: Sequence[str], *, prints: Sequence[np.ndarray] = ()) -> None:
    """Raise :class:`KeyConflict` if a row of ``parts`` has an empty key or shares its key.

    ``parts`` are Parquet files of rows :func:`identify_scan` identified by ``key``; ``prints``,
    the fingerprints it gave as they streamed, if it was asked for them (the ids are read
    from the files if they are not one a row). Keys are told apart by the first 64 bits of
    their ids, which are equal only for equal keys but by a chance of about n²/2⁶⁵ in n rows:
    a conflict so found may be a false alarm, never the reverse.
    """
    rows = pl.scan_parquet(list(parts)).select(
        pl.len(), pl.any_horizontal(pl.col(k).is_null() for k in key).sum().alias("empty")
    )
    count, empty = rows.collect().row(0)
    if empty:
        raise KeyConflict("a row has an empty key column", hint=_KEY_HINT)
    if sum(map(len, prints)) != count:  # not streamed, or a piece seen twice
        prints = [id_prints(pl.read_parquet(p, columns=[ROW_ID])[ROW_ID]) for p in parts]
    ordered = np.sort(np.concatenate(prints)) if prints else np.empty(0, dtype=np.uint64)
    if (ordered[1:] == ordered[:-1]).any():
        raise KeyConflict("two rows have one key", hint=_KEY_HINT)


def number_repeats(parts: Sequence[Path], *, write: Callable[[pl.LazyFrame, Path], None]) -> int:
    """Give the repeats of a content in the Parquet files ``parts`` the ids :class:`RowIdentity` gives.

    ``parts`` (in row order) hold rows just identified by :func:`identify_scan` (call this once
    on them): every repeat of a content has its first occurrence's id. The n-th repeat (in row
    order, from 1) gets the id of (content id, n) instead. Only ``_row_hash`` is read to find
    repeats; the files that hold some are rewritten through ``write`` (a lazy frame and the path
    to write it to), streaming, each piece's repeats patched in place; the others are left as
    they are. Returns the number of rows given a new id.
    """
    hashes = [pl.read_parquet(part, columns=[ROW_HASH])[ROW_HASH] for part in parts]
    every = pl.concat(hashes)
    ordered = np.sort(every.to_numpy())  # faster than Series.n_unique, on 10,000,000 rows
    if not (ordered[1:] == ordered[:-1]).any():  # no repeats, the usual case: nothing to number
        return 0
    del ordered
    place = "_place"
    repeats = _repeats(every, place)
    start = 0
    for part, rows in zip(parts, map(len, hashes), strict=True):
        mine = repeats.filter(pl.col(place).is_between(start, start + rows - 1)).with_columns(
            pl.col(place) - start
        )
        if mine.height:
            _renumber(part, mine, place, write)
        start += rows
    return repeats.height


def _repeats(hashes: pl.Series, place: str) -> pl.DataFrame:
    """The rows (``place``) whose hash occurred before, each with its number ``n`` (from 1), in order.

    By a stable sort (in Polars, on every core): equal hashes then lie together in row order,
    and a row's number is its distance from the first of its run. More than twice as fast as
    ``is_first_distinct`` and a window over the hash, on 10,000,000 rows.

    Example:
        >>> _repeats(pl.Series([7, 3, 7, 7, 3]), "at").rows()
        [(2, 1), (3, 2), (4, 1)]
    """
    ordered = hashes.to_frame("h").with_row_index(place).sort("h", maintain_order=True)
    values = ordered["h"].to_numpy()
    first = np.ones(len(values), dtype=bool)
    first[1:] = values[1:] != values[:-1]
    positions = np.arange(len(values))
    number = positions - np.maximum.accumulate(np.where(first, positions, 0))
    later = number > 0
    return pl.DataFrame(
        {place: ordered[place].to_numpy()[later], "n": number[later].astype(np.int64)},
        schema={place: pl.get_index_type(), "n": pl.Int64},
    ).sort(place)


def _renumber(
    part: Path, repeats: pl.DataFrame, place: str, write: Callable[[pl.LazyFrame, Path], None]
) -> None:
    """Rewrite ``part`` with new ids for the rows at ``place`` (their n-th repeat in ``n``)."""
    content = (
        pl.scan_parquet(part)
        .select(ROW_ID)
        .with_row_index(place)
        .filter(pl.col(place).is_in(repeats[place].implode()))
        .collect()
    )
    pairs = repeats.join(content, on=place, how="left", maintain_order="left")
    places = pairs[place].to_numpy()
    fresh = _id128(pairs, [pl.col(ROW_ID), pl.col("n")])

    def patch(rows: pl.Series) -> pl.Series:
        ids, where = rows.struct.field(ROW_ID), rows.struct.field(place).to_numpy()
        at = np.searchsorted(places, where)
        hit = places[np.minimum(at, len(places) - 1)] == where
        return ids.scatter(np.flatnonzero(hit), fresh.gather(at[hit])) if hit.any() else ids

    names = list(pl.read_parquet_schema(part))
    renumbered = (
        pl.scan_parquet(part)
        .with_row_index(place)
        .with_columns(
            pl.struct(place, ROW_ID)
            .map_batches(patch, return_dtype=pl.String, is_elementwise=True)
            .alias(ROW_ID)
        )
        .select(names)
    )
    rewritten = part.with_name(f"{part.stem}-renumbered{part.suffix}")
    try:
        write(renumbered, rewritten)
        rewritten.replace(part)
    finally:
        rewritten.unlink(missing_ok=True)


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
        self._contents = FingerprintSet()  # every content so far
        self._ids = FingerprintSet()  # every id given or kept so far (keys and kept ids only)
        self._counts: dict[int, int] = {}  # occurrences so far, for contents seen more than once

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with ``_row_id`` and ``_row_hash`` after its data columns."""
        columns = data_columns(frame.columns)
        if not columns:
            raise StoreError(
                "the table has no data columns",
                hint="commit a table with at least one column whose name does not start with '_'",
            )
        halves = _halves(frame, [pl.col(c) for c in columns])  # both 64-bit halves, one encoding
        out = frame.with_columns(
            halves["a"].reinterpret(signed=True).alias(ROW_HASH), halves["b"].alias(_SECOND_HALF)
        )
        kept = out[ROW_ID].cast(pl.String) if ROW_ID in out.columns else None
        if self.key:  # content ids are not needed
            if kept is not None and kept.null_count() == 0:
                ids = kept
            else:
                ids = self._key_ids(out) if kept is None else kept.fill_null(self._key_ids(out))
        else:
            content = self._content_ids(out, columns)  # also counts repeats, kept rows included
            ids = content if kept is None else kept.fill_null(content)
        out = out.with_columns(ids.alias(ROW_ID))
        if self.key or kept is not None:  # content ids are unique by construction
            self._check_unique(out)
        others = [c for c in out.columns if is_system_column(c) and c not in (ROW_ID, ROW_HASH, _SECOND_HALF)]
        return out.select([*columns, ROW_ID, ROW_HASH, *others])

    def _key_ids(self, frame: pl.DataFrame) -> pl.Series:
        _check_key_columns(self.key, data_columns(frame.columns))
        halves = _halves(frame, [pl.col(k) for k in self.key])
        ordered = np.sort(halves["a"].to_numpy())
        repeated = (  # keys are compared only when two of their hashes are equal
            frame.group_by(self.key).len().filter(pl.col("len") > 1)
            if (ordered[1:] == ordered[:-1]).any()
            else frame.clear()
        )
        if repeated.height:
            first = repeated.row(0, named=True)
            shown = ", ".join(f"{k}={first[k]!r}" for k in self.key)
            raise StoreError(
                f"key ({', '.join(self.key)}) is not unique: {shown} occurs {first['len']} times "
                f"({repeated.height} repeated keys in all)",
                hint="remove the repeated rows, or choose a key that is unique",
            )
        return _pack(halves["a"], halves["b"])

    def _content_ids(self, frame: pl.DataFrame, columns: list[str]) -> pl.Series:
        content = _pack(frame[ROW_HASH].reinterpret(signed=False), frame[_SECOND_HALF])
        prints = frame[ROW_HASH].reinterpret(signed=False).to_numpy()
        ordered = np.sort(prints)  # sorted, the set is searched in memory order
        earlier = ordered[self._contents.contains(ordered)]  # contents of earlier batches
        again = ordered[1:][ordered[1:] == ordered[:-1]]  # contents repeated within this batch
        self._contents.add(ordered, ordered=ordered)
        if not len(earlier) and not len(again):
            return content
        before = np.isin(prints, earlier)
        repeat = np.isin(prints, again) | before
        numbers = []
        for fingerprint, earlier in zip(prints[repeat].tolist(), before[repeat].tolist(), strict=True):
            seen = self._counts.get(fingerprint, 1 if earlier else 0)
            numbers.append(seen)
            self._counts[fingerprint] = seen + 1
        pairs = pl.DataFrame(
            {"c": content.filter(pl.Series(repeat)), "n": pl.Series(numbers, dtype=pl.Int64)}
        )
        numbered = pairs.select(
            pl.when(pl.col("n") == 0).then(pl.col("c")).otherwise(_id128(pairs, [pl.col("c"), pl.col("n")]))
        )[:, 0]
        return content.scatter(np.flatnonzero(repeat), numbered)

    def _check_unique(self, frame: pl.DataFrame) -> None:
        ids = frame[ROW_ID]
        prints = ids.to_frame().select(_encoded([pl.col(ROW_ID)]).nchash.xxh3_64())[:, 0].to_numpy()
        ordered = np.sort(prints)
        earlier = self._ids.contains(prints)
        # the ids themselves are compared only when two of their hashes are equal
        if ((ordered[1:] == ordered[:-1]).any() and ids.is_duplicated().any()) or earlier.any():
            repeated = (
                ids.filter(ids.is_duplicated()).first() if not earlier.any() else ids[int(np.argmax(earlier))]
            )
            raise StoreError(
                f"{ROW_ID} {repeated!r} occurs more than once",
                hint=f"a row id names one row: drop the repeated rows or the {ROW_ID} column",
            )
        self._ids.add(prints, ordered=ordered)


class FingerprintSet:
    """A set of 64-bit fingerprints, for batches of millions: 8 bytes a member, plus a filter.

    Members are kept as sorted chunks, one per batch added (adding only sorts the batch). A
    Bloom filter of 2 to 8 bytes a member answers "not a member" for all but a few in a
    thousand new fingerprints; only those few are looked up in the chunks. The filter is one
    64-bit word per value of a fingerprint's top bits, with three bits set in it chosen by its
    low bits: one memory access a lookup, in memory order when the fingerprints are sorted.

    Example:
        >>> seen = FingerprintSet()
        >>> seen.add(np.array([5, 9], dtype=np.uint64))
        >>> seen.contains(np.array([9, 4], dtype=np.uint64)).tolist()
        [True, False]
    """

    _MIN_WORDS = 1 << 10
    _BITS_PER_MEMBER = 16  # at least: the filter doubles when the set outgrows it

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._size = 0
        self._words = np.zeros(self._MIN_WORDS, dtype=np.uint64)

    def contains(self, prints: np.ndarray) -> np.ndarray:
        """Which of ``prints`` are members."""
        found = np.zeros(len(prints), dtype=bool)
        if not self._size:
            return found
        word, bits = self._places(prints)
        maybe = np.flatnonzero((self._words[word] & bits) == bits)
        if len(maybe):
            maybe = maybe[np.argsort(prints[maybe], kind="stable")]  # sorted keys search far faster
            candidates = prints[maybe]
            hit = np.zeros(len(maybe), dtype=bool)
            for chunk in self._chunks:
                where = np.minimum(np.searchsorted(chunk, candidates), len(chunk) - 1)
                hit |= chunk[where] == candidates
            found[maybe] = hit
        return found

    def add(self, prints: np.ndarray, *, ordered: np.ndarray | None = None) -> None:
        """Make ``prints`` members (``ordered``: the same, already sorted, if the caller has them)."""
        if not len(prints):
            return
        chunk = np.sort(prints) if ordered is None else ordered
        self._chunks.append(chunk)
        self._size += len(chunk)
        if len(self._chunks) > 256:  # only the filter's few candidates are looked up in the chunks
            self._chunks = [np.sort(np.concatenate(self._chunks), kind="stable")]
        if self._size * self._BITS_PER_MEMBER > 64 * len(self._words):
            words = self._size * self._BITS_PER_MEMBER * 2 // 64
            self._words = np.zeros(1 << words.bit_length(), dtype=np.uint64)
            for earlier in self._chunks:
                self._mark(earlier)
        else:
            self._mark(chunk)

    def _places(self, prints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each fingerprint's word of the filter (its top bits) and the three bits it sets there."""
        word = prints >> np.uint64(65 - len(self._words).bit_length())
        bits = np.zeros(len(prints), dtype=np.uint64)
        for shift in (0, 6, 12):
            bits |= np.left_shift(np.uint64(1), (prints >> np.uint64(shift)) & np.uint64(63))
        return word, bits

    def _mark(self, ordered: np.ndarray) -> None:
        """Set the filter's bits for sorted fingerprints.

        Sorted fingerprints have their words in order, so the bits of each word are OR-ed
        together first (``reduceat`` over each run of one word) and each word is written once,
        several times faster than ``np.bitwise_or.at``, which updates one element at a time.
        """
        word, bits = self._places(ordered)
        starts = np.flatnonzero(np.concatenate(([True], word[1:] != word[:-1])))
        self._words[word[starts]] |= np.bitwise_or.reduceat(bits, starts)


def with_row_identity(frame: pl.DataFrame, *, key: Sequence[str] | None = None) -> pl.DataFrame:
    """Add ``_row_id`` and ``_row_hash`` to one whole frame (see :class:`RowIdentity`).

    Example:
        >>> df = with_row_identity(pl.DataFrame({"text": ["a", "b", "a"]}))
        >>> df["_row_id"].n_unique(), df["_row_hash"].n_unique(), df["_row_hash"].dtype
        (3, 2, Int64)
    """
    return RowIdentity(key).apply(frame)
