"""Reading the result of a SQL query, streamed in batches, with each row's number in the result."""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, CursorResult
from sqlalchemy.pool import NullPool

from datawheel.errors import IngestError
from datawheel.ingest._batch import LINE, Batch, Reading

_PASSWORD = re.compile(r"(?<=://)([^:/@]*):[^@/]*@")
_QUERY_HINT = "check the query; run it in the database's own client to see more"


def read_sql(url: str, query: str, *, batch_rows: int = 50_000) -> Reading:
    """Run ``query`` on the database at ``url`` and stream its rows in batches of ``batch_rows``.

    ``url`` is any URL SQLAlchemy takes (``sqlite:///data.db``,
    ``postgresql+psycopg://user@host/db``…). The query is sent to the database as written (no
    ``:name`` parameters), in a transaction that is never committed, and its result is read
    through a server-side cursor where the driver has one, so a large result never sits in
    memory whole. ``_line`` is each row's 1-based number in the result.

    The query runs when this is called, so a bad URL, an unreachable server or a bad query
    fails here; its rows are fetched as the batches are read (an empty result gives one empty
    batch). Column types come from the values of each batch: a column null throughout one
    batch is of type Null there (``pl.concat(..., how="vertical_relaxed")`` joins them), and
    values Polars has no type for (UUIDs, network addresses) become text.

    Args:
        url: Where the database is. A password in it never appears in a location or an error.
        query: The query whose result to read.
        batch_rows: How many rows each batch holds (the last may hold fewer).

    Raises:
        IngestError: The URL is malformed or names a database SQLAlchemy has no driver for, the
            server cannot be reached, or the database rejects the query.

    Example:
        >>> import sqlite3, tempfile
        >>> path = Path(tempfile.mkdtemp()) / "shop.db"
        >>> with sqlite3.connect(path) as db:
        ...     _ = db.execute("CREATE TABLE items (name TEXT, price REAL)")
        ...     _ = db.executemany("INSERT INTO items VALUES (?, ?)", [("pen", 1.5), ("ink", 4.0)])
        >>> reading = read_sql(f"sqlite:///{path}", "SELECT * FROM items WHERE price > 2")
        >>> [batch.frame.rows() for batch in reading.batches]
        [[('ink', 4.0, 1)]]
    """
    if batch_rows < 1:
        raise IngestError(f"batch_rows must be at least 1, not {batch_rows}", hint="pass a positive number")
    parsed = _parse(url)
    where = parsed.render_as_string(hide_password=True)
    _check_sqlite_file(parsed)
    connection = _connect(parsed, where)
    try:
        result = _execute(connection, query, batch_rows=batch_rows, where=where)
    except BaseException:
        connection.close()
        raise
    batches = _stream(connection, result, batch_rows=batch_rows, where=where)
    weakref.finalize(batches, _close, result, connection)  # when the batches are dropped unread
    return Reading(format="sql", location=f"{where} :: {query.strip()}", batches=batches)


def _parse(url: str) -> URL:
    try:
        return sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        masked = _PASSWORD.sub(r"\1:***@", url)
        raise IngestError(
            f"'{masked}' is not a database URL",
            hint="write it as dialect+driver://user@host:port/database, e.g. sqlite:///data.db",
        ) from exc


def _check_sqlite_file(url: URL) -> None:
    """SQLite would create a missing database file; a typo in the path should not make one."""
    database = url.database or ""
    plain_file = database not in ("", ":memory:") and not database.startswith("file:")  # not a URI
    if url.get_backend_name() == "sqlite" and plain_file and not Path(database).is_file():
        raise IngestError(
            f"no SQLite database file {database}",
            hint="check the path in the URL (sqlite:///path/to/file.db)",
        )


def _connect(url: URL, where: str) -> Connection:
    try:
        engine = sa.create_engine(url, poolclass=NullPool)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise IngestError(
            f"no driver for {where}: {_message(exc)}",
            hint="check the URL's dialect, and install its driver (e.g. pip install 'datawheel[postgres]')",
        ) from exc
    try:
        return engine.connect()
    except sa.exc.DBAPIError as exc:
        raise IngestError(
            f"cannot connect to {where}: {_message(exc)}",
            hint="check the server is running and the host, port, database and credentials are right",
        ) from exc


def _execute(connection: Connection, query: str, *, batch_rows: int, where: str) -> CursorResult[Any]:
    try:
        result = connection.execution_options(
            stream_results=True, max_row_buffer=batch_rows, no_parameters=True
        ).exec_driver_sql(query)
    except sa.exc.DBAPIError as exc:
        raise IngestError(f"query failed on {where}: {_message(exc)}", hint=_QUERY_HINT) from exc
    columns = list(result.keys())
    if twice := sorted({c for c in columns if columns.count(c) > 1}):
        result.close()
        raise IngestError(
            f"the result of the query on {where} has two columns named {', '.join(twice)}",
            hint="give each column its own name with AS",
        )
    if LINE in columns:
        result.close()
        raise IngestError(
            f"the result of the query on {where} has a column {LINE}, the name datawheel gives row numbers",
            hint=f"rename it with AS, e.g. SELECT {LINE} AS line_number",
        )
    return result


def _stream(
    connection: Connection, result: CursorResult[Any], *, batch_rows: int, where: str
) -> Iterator[Batch]:
    columns = list(result.keys())
    known: dict[str, pl.DataType] = {}
    line = 1
    try:
        while True:
            try:
                rows = result.fetchmany(batch_rows)
            except sa.exc.DBAPIError as exc:
                raise IngestError(
                    f"query failed on {where} after {line - 1} rows: {_message(exc)}", hint=_QUERY_HINT
                ) from exc
            if rows or line == 1:
                yield Batch(_frame(rows, columns, known, first_line=line, where=where))
            line += len(rows)
            if len(rows) < batch_rows:
                return
    finally:
        _close(result, connection)


def _close(result: CursorResult[Any], connection: Connection) -> None:
    result.close()  # a server-side cursor first, then the connection (rolling back)
    connection.close()


def _frame(
    rows: Sequence[Sequence[Any]],
    columns: list[str],
    known: dict[str, pl.DataType],
    *,
    first_line: int,
    where: str,
) -> pl.DataFrame:
    try:
        frame = pl.DataFrame([tuple(r) for r in rows], schema=columns, orient="row", infer_schema_length=None)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        raise IngestError(
            f"rows {first_line} to {first_line + len(rows) - 1} of the result on {where} hold values "
            f"Polars cannot take: {_message(exc)}",
            hint="convert the column at fault to text or numbers in the query, e.g. CAST(x AS TEXT)",
        ) from exc
    frame = frame.with_columns(
        *(_as_text(frame[c]) for c in columns if frame[c].dtype == pl.Object),
        *(pl.col(c).cast(known[c]) for c in columns if frame[c].dtype == pl.Null and c in known),
    )
    known.update({c: t for c, t in frame.schema.items() if t != pl.Null and c not in known})
    return frame.with_columns(pl.int_range(first_line, first_line + pl.len(), dtype=pl.Int64).alias(LINE))


def _as_text(column: pl.Series) -> pl.Series:
    return pl.Series(column.name, [None if v is None else str(v) for v in column], dtype=pl.String)


def _message(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip()
    return text.splitlines()[0] if text else type(cause).__name__
