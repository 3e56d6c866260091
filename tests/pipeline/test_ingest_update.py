"""An ingest with ``update``: rows whose key the dataset holds replace those rows, others are added."""

from pathlib import Path

import polars as pl
import pytest

from datawheel.errors import IngestError
from datawheel.pipeline import ingest
from datawheel.store import ROW_ID, SOURCE
from datawheel.workspace import Workspace


def _people(workspace: Workspace, tmp_path: Path) -> dict[int, str]:
    """people@1 (key ``id``): Ann, Bo and Cy; their ids by key."""
    first = tmp_path / "round1.csv"
    first.write_text("id,name,age\n1,Ann,30\n2,Bo,31\n3,Cy,32\n", encoding="utf-8")
    ingest(workspace, first, name="people", key=["id"])
    return dict(workspace.read("people").select("id", ROW_ID).rows())


def test_a_row_with_a_held_key_replaces_it_and_keeps_its_id(workspace: Workspace, tmp_path: Path) -> None:
    ids = _people(workspace, tmp_path)
    fixes = tmp_path / "fixes.csv"
    fixes.write_text("id,name,age\n2,Bob,31\n4,Di,40\n4,Dee,41\n,Nobody,1\n", encoding="utf-8")
    report = ingest(workspace, fixes, name="people", update=True)  # the dataset's own key
    assert (report.rows_read, report.rows, report.quarantined, report.updated) == (4, 2, 2, 1)
    after = workspace.read("people@2").sort("id")
    assert after.select("id", "name", "age").rows() == [
        (1, "Ann", 30),
        (2, "Bob", 31),
        (3, "Cy", 32),
        (4, "Di", 40),
    ]
    assert {i: r for i, r in after.select("id", ROW_ID).rows() if i in ids} == ids  # the same ids
    assert [(Path(s["file"]).name, s["line"]) for s in after[SOURCE]] == [
        ("round1.csv", 2),
        ("fixes.csv", 2),  # the new state's own file and line
        ("round1.csv", 4),
        ("fixes.csv", 3),
    ]
    diff = workspace.diff("people@1", "people@2")
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (1, 0, 1, 2)
    reasons = workspace.read("people.quarantine").sort("line")["reason"].to_list()
    assert reasons == ["key id=4 is already on line 3", "key column id is empty"]
    graph = workspace.lineage.upstream(report.version.artifact_id, depth=1)
    assert [e.role for e in graph.edges if e.source == f"a{workspace.resolve('people@1').artifact_id}"] == [
        "updated"
    ]


def test_an_update_spanning_many_batches_replaces_each_row_once(
    workspace: Workspace, tmp_path: Path, small_chunks: None
) -> None:
    first, second = tmp_path / "all.csv", tmp_path / "fixes.csv"
    first.write_text("id,v\n" + "".join(f"{i},{i}\n" for i in range(6_000)), encoding="utf-8")
    changed = range(0, 6_000, 7)
    second.write_text(
        "id,v\n"
        + "".join(f"{i},{-i}\n" for i in changed)
        + "".join(f"{i},{i}\n" for i in range(6_000, 6_500)),
        encoding="utf-8",
    )
    ingest(workspace, first, name="t", key=["id"])
    report = ingest(workspace, second, name="t", update=True)
    assert (report.rows, report.quarantined, report.updated) == (len(changed) + 500, 0, len(changed))
    after = workspace.read("t")
    assert after.height == 6_500
    assert after["id"].n_unique() == 6_500
    expected = {i: (-i if i < 6_000 and i % 7 == 0 else i) for i in range(6_500)}
    assert dict(after.select("id", "v").rows()) == expected


def test_an_update_matches_keys_across_types_the_append_relaxes(workspace: Workspace, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("code,score\n1,0.5\n2,0.7\n", encoding="utf-8")
    second.write_text("code,score\nA,0.9\n2,0.8\n", encoding="utf-8")  # text codes: the key becomes text
    ingest(workspace, first, name="codes", key=["code"])
    report = ingest(workspace, second, name="codes", update=True)
    assert (report.rows, report.updated) == (2, 1)
    after = workspace.read("codes").sort("code")
    assert after.select("code", "score").rows() == [("1", 0.5), ("2", 0.8), ("A", 0.9)]


def test_an_update_of_a_new_dataset_is_a_first_ingest(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,name\n1,Ann\n", encoding="utf-8")
    report = ingest(workspace, path, name="people", key=["id"], update=True)
    assert (report.version.version, report.rows, report.updated) == (1, 1, 0)


def test_an_update_without_a_key_is_an_error(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,name\n1,Ann\n", encoding="utf-8")
    ingest(workspace, path, name="people")
    with pytest.raises(IngestError, match="--update replaces rows by their key"):
        ingest(workspace, path, name="people", update=True)
    assert workspace.resolve("people").version == 1


@pytest.mark.parametrize("update", [False, True], ids=["append", "update"])
def test_no_new_row_keeps_every_row_and_its_types(workspace: Workspace, tmp_path: Path, update: bool) -> None:
    """Every new row quarantined: the new batch, empty, types no column (an int key stays int)."""
    _people(workspace, tmp_path)
    empty = tmp_path / "none.csv"
    empty.write_text("id,name,age\n,Nobody,1\n", encoding="utf-8")
    report = ingest(workspace, empty, name="people", append=not update, update=update)
    assert (report.rows, report.quarantined, report.updated) == (0, 1, 0)
    assert workspace.read("people@2").schema["id"] == pl.Int64
    assert (
        workspace.read("people@2")
        .drop(pl.selectors.starts_with("_"))
        .equals(workspace.read("people@1").drop(pl.selectors.starts_with("_")))
    )
