import sqlite3
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from datawheel.errors import IngestError
from datawheel.ingest import LINE, Reading, read_sql

ITEMS = [
    (1, "pen", 1.5, "a"),
    (2, "ink", 4.0, None),
    (3, "pad", 2.25, "b"),
    (4, "cap", 0.5, None),
    (5, "nib", 3.0, None),
]
CREATE = "CREATE TABLE items (id INTEGER, name TEXT, price REAL, note TEXT)"
INSERT = "INSERT INTO items VALUES (:id, :name, :price, :note)"


@pytest.fixture
def shop(tmp_path: Path) -> str:
    """A SQLite database file with a table of five items; its URL."""
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute(CREATE)
        db.executemany("INSERT INTO items VALUES (?, ?, ?, ?)", ITEMS)
    db.close()
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def items_url(request: pytest.FixtureRequest) -> str:
    """The same five items in SQLite, or in a PostgreSQL schema of the test's own."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("shop")
        return url
    url = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(CREATE))
        conn.execute(
            sa.text(INSERT), [dict(zip(["id", "name", "price", "note"], r, strict=True)) for r in ITEMS]
        )
    engine.dispose()
    return url


def read_all(reading: Reading) -> pl.DataFrame:
    batches = list(reading.batches)
    assert all(b.quarantine.is_empty() for b in batches)
    return pl.concat([b.frame for b in batches], how="vertical_relaxed")


def test_whole_table(items_url: str) -> None:
    reading = read_sql(items_url, "SELECT * FROM items ORDER BY id")
    frame = read_all(reading)
    assert frame.columns == ["id", "name", "price", "note", LINE]
    assert frame.drop(LINE).rows() == ITEMS
    assert frame[LINE].to_list() == [1, 2, 3, 4, 5]
    assert frame.schema[LINE] == pl.Int64
    assert reading.format == "sql"
    where = sa.make_url(items_url).render_as_string(hide_password=True)
    assert reading.location == f"{where} :: SELECT * FROM items ORDER BY id"


def test_query_with_where(items_url: str) -> None:
    frame = read_all(read_sql(items_url, "SELECT name, price FROM items WHERE price > 2 ORDER BY price"))
    assert frame.rows() == [("pad", 2.25, 1), ("nib", 3.0, 2), ("ink", 4.0, 3)]


@pytest.mark.parametrize(("batch_rows", "heights"), [(2, [2, 2, 1]), (5, [5]), (1, [1] * 5), (100, [5])])
def test_batches(items_url: str, batch_rows: int, heights: list[int]) -> None:
    batches = list(read_sql(items_url, "SELECT * FROM items ORDER BY id", batch_rows=batch_rows).batches)
    assert [b.frame.height for b in batches] == heights
    assert pl.concat([b.frame[LINE] for b in batches]).to_list() == [1, 2, 3, 4, 5]
    # 'note' is null throughout the later batches of two rows: it keeps the type seen first
    assert {b.frame.schema["note"] for b in batches if b.frame["note"].null_count() < b.frame.height} == {
        pl.String
    }
    if batch_rows == 2:
        assert batches[2].frame.schema["note"] == pl.String


def test_empty_result_gives_one_empty_batch(items_url: str) -> None:
    batches = list(read_sql(items_url, "SELECT name, price FROM items WHERE price > 100").batches)
    assert len(batches) == 1
    assert batches[0].frame.columns == ["name", "price", LINE]
    assert batches[0].frame.height == 0


def test_query_text_goes_to_the_database_as_written(items_url: str) -> None:
    frame = read_all(
        read_sql(items_url, "SELECT name || ':x' AS tag, '50%' AS pct FROM items WHERE name = 'pen'")
    )
    assert frame.rows() == [("pen:x", "50%", 1)]


def test_the_query_never_commits(shop: str) -> None:
    frame = read_all(read_sql(shop, "DELETE FROM items WHERE price < 2 RETURNING name"))  # SQLite: no cursor
    assert sorted(frame["name"]) == ["cap", "pen"]
    assert read_all(read_sql(shop, "SELECT count(*) AS n FROM items"))["n"][0] == 5


def test_stopping_early_closes_the_connection(items_url: str) -> None:
    reading = read_sql(items_url, "SELECT * FROM items", batch_rows=2)
    batches = iter(reading.batches)
    assert next(batches).frame.height == 2
    del batches, reading  # no warning about an unclosed connection (warnings are errors here)
    unread = read_sql(items_url, "SELECT * FROM items")
    del unread


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT * FROM nope", "query failed on sqlite:///.*shop.db: no such table: nope"),
        ("SELEKT 1", 'query failed on .*: near "SELEKT": syntax error'),
        ("SELECT 1 AS a, 2 AS a", "has two columns named a"),
        (f"SELECT 1 AS {LINE}", f"has a column {LINE}"),
    ],
)
def test_bad_queries(shop: str, query: str, message: str) -> None:
    with pytest.raises(IngestError, match=message) as info:
        read_sql(shop, query)
    assert info.value.hint


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "'not a url' is not a database URL"),
        ("nodialect://user:s3cret@host/db", r"no driver for nodialect://user:\*\*\*@host/db"),
        (
            "postgresql+psycopg://user:s3cret@127.0.0.1:1/test",
            r"cannot connect to postgresql\+psycopg://user:\*\*\*@127.0.0.1:1/test: .*refused",
        ),
    ],
)
def test_bad_urls_never_show_the_password(url: str, message: str) -> None:
    with pytest.raises(IngestError, match=message) as info:
        read_sql(url, "SELECT 1")
    assert "s3cret" not in str(info.value)
    assert info.value.hint


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"no SQLite database file .*typo\.db") as info:
        read_sql(f"sqlite:///{tmp_path / 'typo.db'}", "SELECT 1")
    assert info.value.hint
    assert not (tmp_path / "typo.db").exists()
    assert read_all(read_sql("sqlite://", "SELECT 1 AS one")).rows() == [(1, 1)]  # in memory


def test_batch_rows_must_be_positive(shop: str) -> None:
    with pytest.raises(IngestError, match="batch_rows must be at least 1"):
        read_sql(shop, "SELECT 1", batch_rows=0)


@pytest.mark.postgres
def test_postgres_streams_a_table(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:  # the table lives in the test's own schema, dropped afterwards
        conn.execute(sa.text("CREATE TABLE readings (id int, value numeric(6, 2), id_text uuid)"))
        conn.execute(
            sa.text(
                "INSERT INTO readings SELECT g, g / 4.0, md5(g::text)::uuid FROM generate_series(1, 10) g"
            )
        )
    engine.dispose()
    reading = read_sql(
        postgres_url, "SELECT id, value, id_text FROM readings WHERE id > 2 ORDER BY id", batch_rows=3
    )
    batches = list(reading.batches)
    assert [b.frame.height for b in batches] == [3, 3, 2]
    frame = pl.concat([b.frame for b in batches])
    assert frame["id"].to_list() == list(range(3, 11))
    assert frame["value"].to_list() == [Decimal(i) / 4 for i in range(3, 11)]
    assert frame.schema["id_text"] == pl.String  # a UUID becomes text
    assert frame["id_text"][0] == "eccbc87e-4b5c-e2fe-2830-8fd9f2a7baf3"  # md5("3")
    assert frame[LINE].to_list() == list(range(1, 9))
    assert "readings" in reading.location
    assert reading.location.startswith("postgresql+psycopg://")


@pytest.mark.postgres
def test_postgres_query_without_tables_and_errors(postgres_url: str) -> None:
    frame = read_all(read_sql(postgres_url, "SELECT g, g::text || '%' AS pct FROM generate_series(1, 4) g"))
    assert frame.rows() == [(i, f"{i}%", i) for i in range(1, 5)]
    with pytest.raises(IngestError, match=r'query failed on postgresql.*: relation "nope" does not exist'):
        read_sql(postgres_url, "SELECT * FROM nope")
    mixed = """SELECT x::jsonb AS j FROM (VALUES ('{"a": 1}'), ('[1, 2]')) v(x)"""  # an object, then a list
    with pytest.raises(
        IngestError, match=r"rows 1 to 2 of the result on .* hold values Polars cannot take"
    ) as info:
        list(read_sql(postgres_url, mixed).batches)
    assert "CAST" in (info.value.hint or "")


@pytest.mark.postgres
def test_postgres_error_while_streaming(postgres_url: str) -> None:
    batches = iter(
        read_sql(postgres_url, "SELECT 6 / (3 - g) AS q FROM generate_series(1, 5) g", batch_rows=1).batches
    )
    assert [next(batches).frame.rows() for _ in range(2)] == [[(3, 1)], [(6, 2)]]
    with pytest.raises(IngestError, match=r"query failed on .* after 2 rows: division by zero"):
        next(batches)
