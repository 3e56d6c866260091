"""A keyed ingest: a row whose key cannot name it goes to the quarantine, not the whole ingest."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from datawheel.errors import IngestError
from datawheel.ingest import FILE, LINE, REASON, as_quarantine, quarantine_frame
from datawheel.store import FingerprintSet, data_columns, id_prints, key_prints


class KeyCheck:
    """Splits off the rows of a keyed ingest whose key cannot name them, batch by batch.

    A key names one row. A row with an empty (null) key column names nothing; a row whose key
    an earlier row took would make two rows one: a row earlier in the batch (the reason names
    its line), in an earlier batch, or, when appending, in the version appended to (see
    :meth:`remember`). Such rows go to the quarantine with that reason, so that the others
    commit (``--strict`` fails on the first instead). The first row with a key keeps it; when
    it is not in the batch, the reason gives the start of its id (the id a key gives), which
    ``datawheel show NAME --row ID`` finds, with its file and line.

    Earlier batches' keys are remembered as the first 64 bits of their ids, 8 bytes a row (see
    :class:`FingerprintSet`): two different keys pass for one only by a chance of about
    n²/2⁶⁵ in n rows (3 in a million for ten million rows). Within a batch the key values
    themselves are compared.

    Example:
        >>> check = KeyCheck(["id"], "people.csv")
        >>> rows = pl.DataFrame({"id": [7, 8, 7, None], "_line": [2, 3, 4, 5]})
        >>> kept, bad = check.split(rows)
        >>> kept["id"].to_list(), bad.select("line", "reason").rows()
        ([7, 8], [(4, 'key id=7 is already on line 2'), (5, 'key column id is empty')])
        >>> check.split(pl.DataFrame({"id": [8], "_line": [6]}))[1]["reason"].to_list()
        ['key id=8 is already on an earlier row (row 9ea66b64e356)']
    """

    def __init__(self, key: Sequence[str], where: str) -> None:
        self.key = list(key)
        self.where = where
        self._seen = FingerprintSet()  # keys taken by this ingest's rows
        self._held = FingerprintSet()  # keys taken by the rows of the version appended to
        self._held_by = ""

    def remember(self, ids: Iterable[pl.Series], ref: str) -> None:
        """Hold the keys of ``ref``'s rows (``ids``: their ``_row_id``, in batches) from new rows."""
        for batch in ids:
            self._held.add(id_prints(batch))
        self._held_by = ref

    def split(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The rows whose key names them, and the others as quarantine rows with the reason."""
        missing = [k for k in self.key if k not in frame.columns]
        if missing:
            raise IngestError(
                f"{self.where}: key column {missing[0]!r} is not one of its columns "
                f"({', '.join(data_columns(frame.columns))})",
                hint="name one of its columns with --key, or leave --key out to identify rows by content",
            )
        if frame.is_empty():
            return frame, quarantine_frame()
        prints = key_prints(frame, self.key)
        ordered = np.sort(prints)
        flags = pl.DataFrame(
            {
                "_empty": self._empty(frame),
                "_repeat": self._repeated(frame, ordered),
                "_held": self._held.contains(prints),
                "_seen": self._seen.contains(prints),
            }
        )
        bad = flags.select(pl.any_horizontal(pl.all()))[:, 0].to_numpy()
        if not bad.any():
            self._seen.add(prints, ordered=ordered)
            return frame, quarantine_frame()
        self._seen.add(prints[~bad])
        first = _first_place(frame, self.key).alias("_first")  # over the whole batch, before the filter
        marked = pl.concat([frame.with_columns(first), flags], how="horizontal")  # no data column starts "_"
        shown = _shown(frame, self.key)
        reason = (  # in this order: a row may be bad for more than one
            pl.when("_empty")
            .then(pl.format("key column {} is empty", _first_empty(self.key)))
            .when("_held")
            .then(pl.format("key {} is already in {} (row {})", shown, pl.lit(self._held_by), "_held_id"))
            .when("_seen")
            .then(pl.format("key {} is already on an earlier row (row {})", shown, "_held_id"))
            .otherwise(pl.format("key {} is already on {}", shown, pl.col("_first")))
        )
        held = pl.Series("_held_id", [f"{p >> 16:012x}" for p in prints[bad].tolist()], pl.String)
        rows = marked.filter(pl.Series(bad)).with_columns(held).with_columns(reason.alias(REASON))
        return frame.filter(pl.Series(~bad)), as_quarantine(rows, self.where)

    def _empty(self, frame: pl.DataFrame) -> np.ndarray:
        """Which rows have a null key column."""
        if not any(frame[k].null_count() for k in self.key):
            return np.zeros(frame.height, dtype=bool)
        empty: np.ndarray = frame.select(pl.any_horizontal(pl.col(k).is_null() for k in self.key))[
            :, 0
        ].to_numpy()
        return empty

    def _repeated(self, frame: pl.DataFrame, ordered: np.ndarray) -> np.ndarray:
        """Which rows have the key of a row before them in ``frame`` (``ordered``: its sorted key prints).

        Keys whose prints all differ differ, the usual case, told by the sorted prints alone;
        else the keys themselves are compared.
        """
        if not (ordered[1:] == ordered[:-1]).any():
            return np.zeros(frame.height, dtype=bool)
        repeat: np.ndarray = frame.select(~pl.struct(self.key).is_first_distinct())[:, 0].to_numpy()
        return repeat


def _first_empty(key: list[str]) -> pl.Expr:
    """The name of the first key column that is null in a row."""
    return pl.coalesce(pl.when(pl.col(k).is_null()).then(pl.lit(k)) for k in key)


def _shown(frame: pl.DataFrame, key: list[str]) -> pl.Expr:
    """A row's key as ``id=7`` (``name='Ann'`` for text; parts joined by ``, ``)."""
    parts = []
    for k in key:
        quote = "'" if frame.schema[k] == pl.String else ""
        parts.append(pl.concat_str(pl.lit(f"{k}={quote}"), pl.col(k).cast(pl.String), pl.lit(quote)))
    return pl.concat_str(parts, separator=", ")


def _first_place(frame: pl.DataFrame, key: list[str]) -> pl.Expr:
    """Where the first row in the batch with a row's key is: its line (and file, for shards)."""
    if LINE not in frame.columns:
        return pl.lit("an earlier row")
    line = pl.format("line {}", pl.col(LINE).first().over(key))
    if FILE not in frame.columns:
        return line
    return pl.format("{} of {}", line, pl.col(FILE).first().over(key))
