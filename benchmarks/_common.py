"""Shared helpers of the benchmark scripts: timing, tables, a scratch PostgreSQL schema."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa

T = TypeVar("T")
DEFAULT_POSTGRES = "postgresql+psycopg://127.0.0.1:5432/test"


def median_ms(fn: Callable[[], object], *, repeat: int) -> float:
    """Median wall time of ``fn`` over ``repeat`` runs, after one warm-up run, in milliseconds."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def seconds(fn: Callable[[], T]) -> tuple[float, T]:
    """Wall time of one call of ``fn`` in seconds, and what it returned."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


@contextmanager
def postgres_schema(url: str) -> Iterator[str | None]:
    """A URL whose search_path is a fresh schema (dropped afterwards); None if no server answers."""
    schema = f"dw_bench_{uuid.uuid4().hex[:10]}"
    try:
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no server: the caller reports the skip
        print(f"(PostgreSQL skipped: {str(exc).splitlines()[0]})")
        yield None
        return
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A plain aligned text table."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
