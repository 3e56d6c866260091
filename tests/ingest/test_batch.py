"""Reading ahead: batches made in a background thread, in order, errors and early stops included."""

import threading
from collections.abc import Iterator

import pytest

from datawheel.errors import IngestError
from datawheel.ingest._batch import read_ahead


def test_items_come_in_order_and_all_of_them() -> None:
    assert list(read_ahead(iter(range(1000)), depth=3)) == list(range(1000))
    assert list(read_ahead([])) == []


def test_nothing_is_read_before_the_first_item_is_asked_for() -> None:
    made: list[int] = []

    def items() -> Iterator[int]:
        for i in range(3):
            made.append(i)
            yield i

    ahead = read_ahead(items())
    assert made == []
    assert next(ahead) == 0
    assert list(ahead) == [1, 2]


def test_an_error_in_the_thread_reaches_the_caller_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise IngestError("bad bytes near byte 9", hint="pass the right --encoding")

    got: list[int] = []
    with pytest.raises(IngestError, match="bad bytes near byte 9"):
        got.extend(read_ahead(items()))
    assert got == [1, 2]


def test_stopping_early_stops_the_thread_and_closes_the_source() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    before = set(threading.enumerate())
    ahead = read_ahead(endless(), depth=2)
    assert [next(ahead) for _ in range(5)] == [0, 1, 2, 3, 4]
    (worker,) = set(threading.enumerate()) - before
    ahead.close()
    assert closed.is_set()
    assert not worker.is_alive()
