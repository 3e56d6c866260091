"""Counting a CSV file's bytes: its newlines and separators, and whether its quoting is plain.

A file whose quoting is plain can be read by Polars in one pass, its lines counted as rows
and its separators outside quotes counted as fields: no field spans lines, and no quote sits
inside an unquoted field. All is checked with NumPy on the raw bytes, without parsing.
"""

from __future__ import annotations

import numpy as np

_NEWLINE, _RETURN = ord("\n"), ord("\r")
_COUNT_BLOCK = 1 << 18


def count_bytes(data: bytes | bytearray, *values: bytes) -> list[int]:
    r"""How many times each of ``values`` occurs in ``data``.

    Single bytes are counted together, a block at a time, by NumPy: the block stays in the CPU's
    cache while each value is counted in it, which is several times faster than ``bytes.count``
    once per value. A longer value (a separator outside ASCII) is counted by ``bytes.count``.

    Example:
        >>> count_bytes(b"a,b\nc,d\n", b"\n", b",")
        [2, 2]
    """
    array = np.frombuffer(data, dtype=np.uint8)
    counts = [0 if len(value) == 1 else data.count(value) for value in values]
    single = [(i, value[0]) for i, value in enumerate(values) if len(value) == 1]
    same = np.empty(min(_COUNT_BLOCK, len(array)), dtype=bool)
    for start in range(0, len(array), _COUNT_BLOCK):
        block = array[start : start + _COUNT_BLOCK]
        found = same[: len(block)]
        for i, value in single:
            np.equal(block, value, out=found)
            counts[i] += int(np.count_nonzero(found))
    return counts


class PlainQuoting:
    r"""Follows the quotes of a file read piece by piece, as long as its quoting is plain.

    Plain: every line holds an even number of quotes (no field spans lines), and each quote
    opens a field (after a separator, a newline or the start of the file), closes one (before a
    separator, a line's end or the end of the file), or is one of a doubled pair inside a field
    (``""``). Then the quotes pair up in order, each pair enclosing (part of) one field, and a
    separator lies outside every field when an even number of quotes come before it. The
    pieces may be cut anywhere, even inside a field: what one piece leaves open is carried to
    the next. Separator and quote must be one byte each.

    Example:
        >>> quoting = PlainQuoting(b",", b'"')
        >>> quoting.separators(b'1,"a, b"\n2,"say ""h')  # the second line's field goes on
        2
        >>> quoting.separators(b'i"", then go"\n'), quoting.ended()
        (0, True)
        >>> PlainQuoting(b",", b'"').separators(b'1,5" wide\n') is None
        True
    """

    def __init__(self, separator: bytes, quote: bytes) -> None:
        if len(separator) != 1 or len(quote) != 1:
            raise ValueError("separator and quote must be one byte each")
        self.separator, self.quote = separator[0], quote[0]
        self.seen = 0
        """Quotes so far: an odd number means the piece to come starts inside a quoted field."""
        self._before = _NEWLINE  # the byte before the next piece (the start counts as a line's)
        self._closed_at_end = False  # the last piece ended with a closing quote: its next byte is unchecked
        self.last: tuple[np.ndarray, int] | None = None
        """The last piece's quotes (positions) and whether it began inside a field, if it had any."""

    def separators(self, data: bytes | bytearray, *, lines_later: bool = False) -> int | None:
        """The separators in ``data`` (the next piece) outside quoted fields; None once not plain.

        With ``lines_later``, whether a field spans lines is left to the caller, who passes the
        piece and ``last`` to :func:`within_lines` (in another thread, say) before trusting it.
        """
        array = np.frombuffer(data, dtype=np.uint8)
        self.last = None
        if not len(array):
            return 0
        if self._closed_at_end and array[0] not in (self.separator, self.quote, _NEWLINE, _RETURN):
            return None
        inside = self.seen % 2
        if not inside and self.quote not in data:  # the usual piece: nothing quoted, a plain count
            self._before, self._closed_at_end = int(array[-1]), False
            return count_bytes(data, bytes([self.separator]))[0]
        quotes = np.flatnonzero(array == self.quote)
        if not lines_later and not within_lines(data, (quotes, inside)):
            return None
        if len(quotes) and not self._at_edges(array, quotes, inside):
            return None
        # The quoted spans: from each opening quote to its closing one (or the piece's edge).
        bounds = np.concatenate(([0], quotes)) if inside else quotes
        if len(bounds) % 2:
            bounds = np.concatenate((bounds, [len(array)]))
        separators = np.flatnonzero(array == self.separator)
        at = np.searchsorted(separators, bounds)
        self.seen += len(quotes)
        self._before = int(array[-1])
        self.last = quotes, inside
        return len(separators) - int((at[1::2] - at[0::2]).sum())

    def ended(self) -> bool:
        """Whether the file, read to its end, ended outside every quoted field."""
        return self.seen % 2 == 0

    def _at_edges(self, array: np.ndarray, quotes: np.ndarray, inside: int) -> bool:
        """Whether each quote opens a field, closes one or is half of a doubled pair."""
        last = len(array) - 1
        before = array[np.maximum(quotes - 1, 0)]
        if quotes[0] == 0:
            before[0] = self._before
        after = array[np.minimum(quotes + 1, last)]
        opening = (np.arange(len(quotes)) + inside) % 2 == 0
        # Compared one value at a time: far faster than np.isin (which sorts) for so few values.
        starts = (before == self.separator) | (before == self.quote) | (before == _NEWLINE)
        ends = (after == self.separator) | (after == self.quote) | (after == _NEWLINE) | (after == _RETURN)
        ends |= quotes == last
        self._closed_at_end = bool(quotes[-1] == last and not opening[-1])
        return bool(np.where(opening, starts, ends).all())


def plain_quoting(separator: bytes, quote: bytes) -> PlainQuoting | None:
    """A check of plain quoting (see :class:`PlainQuoting`), if separator and quote are one byte each."""
    return PlainQuoting(separator, quote) if len(separator) == len(quote) == 1 else None


def separators_outside_quotes(data: bytes | bytearray, separator: bytes, quote: bytes) -> int | None:
    r"""The separators of ``data`` (whole lines) outside quoted fields, if its quoting is plain; else None.

    Example:
        >>> separators_outside_quotes(b'1,"a, b"\n2,x\n', b",", b'"')
        2
        >>> separators_outside_quotes(b'1,"a\n', b",", b'"') is None
        True
    """
    quoting = plain_quoting(separator, quote)
    outside = quoting.separators(data) if quoting is not None else None
    return outside if quoting is not None and quoting.ended() else None


def within_lines(data: bytes | bytearray, quotes: tuple[np.ndarray, int] | None) -> bool:
    r"""Whether no quoted field of ``data`` spans a newline, given its quotes (see ``PlainQuoting.last``).

    Example:
        >>> import numpy as np
        >>> within_lines(b'"a"\n"b', (np.array([0, 2, 4]), 0)), within_lines(b'a\nb"', (np.array([3]), 1))
        (True, False)
    """
    if quotes is None:
        return True
    positions, inside = quotes
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NEWLINE)
    return not ((np.searchsorted(positions, newlines) + inside) % 2).any()
