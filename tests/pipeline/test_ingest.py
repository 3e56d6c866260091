"""The ingest step end to end: provenance, lineage, quarantine, skip, append, rounds, sources."""

import shutil
import sqlite3
import tempfile
import threading
import wave
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.ipc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from datawheel.errors import IngestError
from datawheel.ingest import ReadOptions
from datawheel.pipeline import QuarantineError, ingest, source_location
from datawheel.store import SOURCE, data_columns
from datawheel.workspace import Workspace

DATA = Path(__file__).parents[1] / "data"
SMS = ReadOptions(has_header=False, columns=("label", "text"))


def test_ingest_records_source_and_provenance(workspace: Workspace, sms_file: Path) -> None:
    report = ingest(workspace, sms_file, name="sms", options=SMS)
    assert (report.ref, report.rows, report.rows_read, report.quarantined, report.format) == (
        "sms@1",
        5574,
        5574,
        0,
        "tsv",
    )
    assert report.to_dict()["encoding"] == "utf-8"
    frame = workspace.read("sms@1")
    source = frame[SOURCE].struct.unnest()
    assert source["file"].unique().to_list() == [str(sms_file.resolve())]
    assert source["line"].to_list() == list(range(1, 5575))
    assert source["execution"].unique().to_list() == [report.execution_id]
    graph = workspace.lineage.upstream(workspace.resolve("sms@1").artifact_id)
    (file_node,) = [n for n in graph.nodes if n.kind == "file"]
    assert (file_node.name, file_node.uri) == (str(sms_file.resolve()), sms_file.resolve().as_uri())
    assert file_node.properties["size"] == sms_file.stat().st_size
    (step,) = [n for n in graph.nodes if n.kind == "execution"]
    assert (step.name, step.properties["status"]) == ("ingest", "completed")


def test_every_row_traces_back_to_its_line(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    lines = ["id,name", "7,Ann", "8,Bo", "oops", "9,Cy"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest(workspace, path, name="people", key=["id"])
    for row in workspace.read("people").iter_rows(named=True):
        assert lines[row[SOURCE]["line"] - 1] == f"{row['id']},{row['name']}"
    assert (report.rows_read, report.rows, report.quarantined) == (4, 3, 1)


def test_quarantine_dataset_and_its_export(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\n1,2\n3,4,5\n6,7\n")
    report = ingest(workspace, path, name="t")
    assert report.quarantine is not None
    assert report.quarantine.ref == "t.quarantine@1"
    out = tmp_path / "q.csv"
    workspace.export("t.quarantine", out, data_only=True)
    exported = pl.read_csv(out)
    assert exported.select("line", "reason").rows() == [(3, "expected 2 fields, found 3")]
    assert exported["raw"][0] == "3,4,5"


def test_declared_types_quarantine_json_misfits_as_they_do_csv_ones(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "ages.json"
    path.write_text('[{"age": 39}, {"age": "unknown"}, {"age": "NA"}]')
    options = ReadOptions(schema={"age": pl.Int64()}, null_values=("NA",))
    report = ingest(workspace, path, name="ages", options=options)
    assert (report.rows_read, report.rows, report.quarantined) == (3, 2, 1)
    assert workspace.read("ages").select("age", pl.col(SOURCE).struct.field("line")).rows() == [
        (39, 1),
        (None, 3),
    ]
    quarantine = workspace.read("ages.quarantine")
    assert quarantine.select("line", "reason").rows() == [(2, "column 'age': 'unknown' is not int")]
    with pytest.raises(QuarantineError, match=r"ages.json, line 2: column 'age': 'unknown' is not int"):
        ingest(workspace, path, name="strict_ages", options=options, strict=True)


def test_strict_commits_nothing(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\n1,2\n3,4,5\n")
    with pytest.raises(
        QuarantineError, match=r"bad.csv, line 3: expected 2 fields, found 3 \(--strict"
    ) as info:
        ingest(workspace, path, name="t", strict=True)
    assert info.value.exit_code == 1
    assert workspace.datasets() == []
    assert not list((workspace.tables.path("t")).glob("*.parquet"))
    (run,) = workspace.lineage.executions()
    assert run.status == "failed"


def test_strict_failure_stops_the_reader_at_once(
    workspace: Workspace, tmp_path: Path, small_chunks: None
) -> None:
    path = tmp_path / "big.csv"
    path.write_text("a,b\n1,2,3\n" + "".join(f"{i},{i}\n" for i in range(100_000)), encoding="utf-8")
    before = set(threading.enumerate())
    with pytest.raises(QuarantineError, match="line 2") as info:
        ingest(workspace, path, name="t", strict=True)
    # while the error (and so the ingest's frames) is still held, the reading thread is gone
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert info.value.exit_code == 1
    assert not list(workspace.tables.path("t").glob("*.parquet"))


def test_same_bytes_again_is_skipped(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,name\n1,Ann\n", encoding="utf-8")
    first = ingest(workspace, path, name="people")
    again = ingest(workspace, path, name="people")
    assert again.skipped
    assert again.ref == first.ref
    assert again.to_dict()["skipped"] is True
    assert len(workspace.versions("people")) == 1
    other = ingest(workspace, path, name="people", options=ReadOptions(has_header=False))
    assert not other.skipped  # other options read the bytes differently
    assert other.ref == "people@2"


def test_changed_file_diffs_exactly(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,name\n1,Ann\n2,Bo\n", encoding="utf-8")
    ingest(workspace, path, name="people", key=["id"])
    path.write_text("id,name\n1,Ann\n2,Bob\n3,Cy\n", encoding="utf-8")
    ingest(workspace, path, name="people")
    diff = workspace.diff("people@1", "people@2")
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (1, 0, 1, 1)
    appended = tmp_path / "log.csv"
    appended.write_text("t\na\nb\n", encoding="utf-8")
    ingest(workspace, appended, name="log")
    appended.write_text("t\na\nb\nc\na\n", encoding="utf-8")
    ingest(workspace, appended, name="log")
    diff = workspace.diff("log@1", "log@2")
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (2, 0, 0, 2)


def test_append_rounds_meta_sources_and_lineage(workspace: Workspace, sms_file: Path, tmp_path: Path) -> None:
    workspace.sources.add(
        "uci", uri="https://example.invalid/uci", cost=0, days=0, expected_rows=5574, quality="high"
    )
    workspace.sources.add(
        "partner", uri="sftp://example.invalid", cost=100, days=7, expected_rows=10, quality="medium"
    )
    workspace.sources.start_round(days=7)
    first = ingest(workspace, sms_file, name="sms", options=SMS, source="uci")
    extra = tmp_path / "round2.tsv"
    extra.write_text("ham\tsee you at 5\nno tab here\nspam\tWIN\n", encoding="utf-8")
    second = ingest(
        workspace, extra, name="sms", options=SMS, append=True, source="partner", meta={"collector": "p1"}
    )
    assert (second.rows, second.quarantined, second.version.rows) == (2, 1, 5576)
    assert (first.round, second.round) == (1, 1)
    merged = workspace.read("sms@2")
    assert merged.filter(pl.col("collector") == "p1")["text"].to_list() == ["see you at 5", "WIN"]
    assert merged["collector"].null_count() == 5574
    old_ids = set(workspace.read("sms@1")["_row_id"])
    assert old_ids <= set(merged["_row_id"])
    diff = workspace.diff("sms@1", "sms@2")
    assert (diff.added, diff.removed) == (2, 0)
    assert diff.changed == 5574  # every old row gained the (null) collector column
    names = {n.name for n in workspace.lineage.upstream(second.version.artifact_id).nodes}
    assert {"sms@1", "partner", "uci", str(extra.resolve()), str(sms_file.resolve())} <= names
    status = workspace.sources.round_status()
    assert status.rows_added == 5576
    assert dict((s, a) for s, _, a in status.by_source()) == {"uci": 5574, "partner": 2}
    rounds = merged[SOURCE].struct.field("round").unique().to_list()
    assert rounds == [1]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "n": st.integers(-(2**40), 2**40) | st.none(),
                "x": st.floats(allow_nan=False, allow_infinity=False, width=32) | st.none(),
                "s": st.text(
                    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                    min_size=1,
                    max_size=8,
                )
                | st.none(),
                "d": st.dates(date(1990, 1, 1), date(2030, 1, 1)) | st.none(),
            }
        ),
        min_size=1,
        max_size=25,
    ),
    fmt=st.sampled_from(["csv", "jsonl", "parquet", "arrow"]),
)
def test_round_trip_any_table(tmp_path: Path, rows: list[dict[str, object]], fmt: str) -> None:
    table = pl.DataFrame(rows, schema={"n": pl.Int64, "x": pl.Float64, "s": pl.String, "d": pl.Date})
    folder = Path(tempfile.mkdtemp(prefix=f"rt-{fmt}-", dir=tmp_path))  # one per example, even a replayed one
    path = folder / f"t.{fmt}"
    if fmt == "csv":
        table.write_csv(path)
    elif fmt == "jsonl":
        table.write_ndjson(path)
    elif fmt == "arrow":
        table.write_ipc(path)
    else:
        table.write_parquet(path)
    schema = {"n": pl.Int64(), "x": pl.Float64(), "s": pl.String(), "d": pl.Date()}
    with Workspace.init(folder / "ws") as ws:
        report = ingest(ws, path, name="t", options=ReadOptions(schema=schema))
        got = ws.read("t").select(data_columns(table.columns))
    assert report.quarantined == 0
    # the same rows, their text in NFC (a compatibility ideograph such as U+F929 is not)
    assert_frame_equal(got, table.with_columns(pl.col("s").str.normalize("NFC")), check_dtypes=False)


def test_sqlite_query(workspace: Workspace, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE items (name TEXT, price REAL)")
        conn.executemany("INSERT INTO items VALUES (?, ?)", [("pen", 1.5), ("ink", 4.0), ("pad", 2.5)])
    url = f"sqlite:///{db}"
    report = ingest(
        workspace, url, name="items", options=ReadOptions(query="SELECT * FROM items WHERE price > 2")
    )
    assert (report.format, report.rows) == ("sql", 2)
    frame = workspace.read("items")
    assert sorted(frame["name"]) == ["ink", "pad"]
    assert frame[SOURCE].struct.field("line").to_list() == [1, 2]
    graph = workspace.lineage.upstream(report.version.artifact_id)
    assert any(n.kind == "query" and "SELECT * FROM items" in n.name for n in graph.nodes)


def test_postgres_query(workspace: Workspace, postgres_url: str) -> None:
    query = "SELECT g AS n, 'row ' || g AS label FROM generate_series(1, 5) AS g"
    report = ingest(workspace, postgres_url, name="pg", options=ReadOptions(query=query))
    assert report.rows == 5
    assert workspace.read("pg").select("n", "label").row(4) == (5, "row 5")


def test_folder_of_images(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "digits"
    shutil.copytree(DATA / "digits_png", folder, ignore=shutil.ignore_patterns("*.txt"))
    (folder / "3" / "broken.png").write_bytes(b"")
    report = ingest(workspace, folder, name="digits", options=ReadOptions(pattern="{label}/{name}.png"))
    pngs = sorted(p for p in folder.rglob("*.png"))
    assert (report.format, report.rows_read, report.quarantined) == ("files", len(pngs), 1)
    frame = workspace.read("digits")
    assert set(frame["label"]) == {str(d) for d in range(10)}
    assert set(frame["width"]) == {8}
    first = frame.row(0, named=True)
    assert workspace.blobs.get(first["blob"]) == (folder / first["path"]).read_bytes()
    assert frame[SOURCE].struct.field("file")[0] == str((folder / first["path"]).resolve())
    (bad,) = workspace.read("digits.quarantine").select("file", "reason").rows()
    assert bad == (str((folder / "3" / "broken.png").resolve()), "empty file (0 bytes)")


def test_folder_of_recordings(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "speech"
    for speaker, seconds in (("ann", 2.0), ("bob", 0.5)):
        (folder / speaker).mkdir(parents=True)
        with wave.open(str(folder / speaker / "yes.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16_000)
            out.writeframes(bytes(2 * round(16_000 * seconds)))
    whole = (folder / "ann" / "yes.wav").read_bytes()
    (folder / "bob" / "cut.wav").write_bytes(whole[: len(whole) // 2])
    options = ReadOptions(pattern="{speaker}/{name}.wav")
    report = ingest(workspace, folder, name="speech", options=options)
    assert (report.rows_read, report.rows, report.quarantined) == (3, 2, 1)
    frame = workspace.read("speech").sort("path")
    assert frame.select("speaker", "duration", "sample_rate", "channels").rows() == [
        ("ann", 2.0, 16_000, 1),
        ("bob", 0.5, 16_000, 1),
    ]
    (bad,) = workspace.read("speech.quarantine").select("file", "reason").rows()
    assert bad[0] == str((folder / "bob" / "cut.wav").resolve())
    assert bad[1].startswith("cut-off audio: the header says")


def test_arrow_stream_as_datasets_saves_it(workspace: Workspace, tmp_path: Path) -> None:
    """An Arrow IPC stream of small record batches, typed columns kept, rows numbered from 1."""
    path = tmp_path / "data-00000-of-00001.arrow"
    table = pl.DataFrame(
        {"text": ["good film", "dull", "fine"], "label": [1, 0, 1], "day": [date(2024, 1, 1)] * 3}
    )
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.to_arrow().schema) as writer:
        for record_batch in table.to_arrow().to_batches(max_chunksize=2):
            writer.write_batch(record_batch)
    report = ingest(workspace, path, name="reviews")
    assert (report.format, report.rows, report.quarantined) == ("arrow", 3, 0)
    frame = workspace.read("reviews")
    assert frame.select("text", "label", "day").rows() == table.rows()
    assert frame.schema["day"] == pl.Date
    assert frame[SOURCE].struct.field("line").to_list() == [1, 2, 3]
    assert ingest(workspace, path, name="reviews").skipped


def test_shards_as_one_dataset_and_a_shard_added_later(workspace: Workspace, tmp_path: Path) -> None:
    """A glob of CSV shards: each row names its shard and line.

    The same shards again are skipped; a shard added makes a version whose diff is its rows.
    """
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "day-1.csv").write_text("id,text\n1,a\n2,b\n", encoding="utf-8")
    (folder / "day-2.csv").write_text("id,text\n3,c\nx,d\n", encoding="utf-8")
    glob = folder / "day-*.csv"
    report = ingest(workspace, glob, name="events")
    assert (report.format, report.files, report.rows_read, report.rows, report.quarantined) == (
        "csv",
        2,
        4,
        3,
        1,
    )
    assert report.location == str(glob.resolve())
    frame = workspace.read("events")
    files = frame[SOURCE].struct.field("file").to_list()
    assert list(zip(files, frame[SOURCE].struct.field("line").to_list(), strict=True)) == [
        (str((folder / "day-1.csv").resolve()), 2),
        (str((folder / "day-1.csv").resolve()), 3),
        (str((folder / "day-2.csv").resolve()), 2),
    ]
    (bad,) = workspace.read("events.quarantine").select("file", "line", "reason").rows()
    assert bad == (str((folder / "day-2.csv").resolve()), 3, "column 'id': 'x' is not int")
    graph = workspace.lineage.upstream(workspace.resolve("events@1").artifact_id)
    (shards,) = [n for n in graph.nodes if n.kind == "files"]
    assert (shards.name, shards.uri) == (str(glob.resolve()), folder.resolve().as_uri())
    assert ingest(workspace, glob, name="events").skipped
    (folder / "day-3.csv").write_text("id,text\n4,e\n", encoding="utf-8")
    assert ingest(workspace, glob, name="events").ref == "events@2"
    diff = workspace.diff("events@1", "events@2")
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (1, 0, 0, 3)
    (folder / "day-3.csv").write_text("id,text\n4,E\n", encoding="utf-8")  # same size, new bytes
    assert ingest(workspace, glob, name="events").ref == "events@3"
    with pytest.raises(QuarantineError, match=r"day-2\.csv, line 3: column 'id': 'x' is not int"):
        ingest(workspace, folder, name="strict", format="csv", strict=True)


def test_excel_sheet(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.xlsx"
    pl.DataFrame({"id": [1, 2], "name": ["Ann", "Bo"]}).write_excel(path, worksheet="people")
    report = ingest(workspace, path, name="people", options=ReadOptions(sheet="people"))
    assert report.format == "excel"
    frame = workspace.read("people")
    assert frame.select("id", "name").rows() == [(1, "Ann"), (2, "Bo")]
    assert frame[SOURCE].struct.field("line").to_list() == [2, 3]


def test_missing_source_records_nothing(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no file"):
        ingest(workspace, tmp_path / "nope.csv", name="x")
    assert workspace.lineage.executions() == []


def test_meta_clash(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(IngestError, match="--meta a names a column the source already has"):
        ingest(workspace, path, name="t", meta={"a": "x"})
    assert workspace.datasets() == []


@pytest.mark.parametrize("name", ["_x", "", " "])
def test_a_meta_name_that_is_empty_or_starts_with_an_underscore_is_refused(
    workspace: Workspace, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(IngestError, match="names starting with '_' are datawheel's own"):
        ingest(workspace, path, name="t", meta={name: "1"})
    assert workspace.datasets() == []


def test_header_only_file_gives_an_empty_version(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("id,name\n", encoding="utf-8")
    report = ingest(workspace, path, name="t")
    assert (report.rows, report.rows_read, report.quarantined) == (0, 0, 0)
    assert data_columns(workspace.read("t").columns) == ["id", "name"]


def test_a_parquet_file_of_no_rows_gives_an_empty_version_with_its_columns(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "empty.parquet"
    pl.DataFrame(schema={"id": pl.Int64, "name": pl.String}).write_parquet(path)
    report = ingest(workspace, path, name="t")
    assert (report.rows, report.rows_read, report.quarantined) == (0, 0, 0)
    frame = workspace.read("t")
    assert frame.height == 0
    assert {c: frame.schema[c] for c in data_columns(frame.columns)} == {"id": pl.Int64, "name": pl.String}


def test_source_location_is_a_sources_file_or_url(workspace: Workspace, tmp_path: Path) -> None:
    drop = tmp_path / "drop.csv"
    drop.write_text("n\n1\n", encoding="utf-8")
    for name, uri in (
        ("local", str(drop)),
        ("web", "https://example.invalid/drop.csv"),
        ("mail", "mailto:a@b"),
    ):
        workspace.sources.add(name, uri=uri, cost=0, days=1, expected_rows=1, quality="low")
    assert source_location(workspace, "local") == drop
    assert source_location(workspace, "web") == "https://example.invalid/drop.csv"
    with pytest.raises(
        IngestError, match="'mailto:a@b', which is neither an http\\(s\\) URL nor a file here"
    ):
        source_location(workspace, "mail")
    report = ingest(workspace, source_location(workspace, "local"), name="n", source="local")
    assert (report.location, report.rows) == (str(drop.resolve()), 1)
    (tmp_path / "drop-2.csv").write_text("n\n2\n", encoding="utf-8")
    workspace.sources.add(
        "drops", uri=str(tmp_path / "drop*.csv"), cost=0, days=1, expected_rows=2, quality="low"
    )
    report = ingest(workspace, source_location(workspace, "drops"), name="drops", source="drops")
    assert (report.files, report.rows) == (2, 2)
