"""A keyed ingest: rows whose key is empty or already taken go to the quarantine, naming where."""

from pathlib import Path

import pytest

from datawheel.errors import IngestError
from datawheel.pipeline import QuarantineError, ingest
from datawheel.store import SOURCE
from datawheel.workspace import Workspace


def _quarantine(workspace: Workspace, name: str) -> list[tuple[int, str, str]]:
    rows = workspace.read(f"{name}.quarantine").sort("execution", "line")
    return [(r["line"], Path(r["file"]).name, r["reason"]) for r in rows.iter_rows(named=True)]


def _id_of(workspace: Workspace, name: str, key: int) -> str:
    """The start of the id (12 characters, as the reasons give it) of the row with ``id`` ``key``."""
    found: str = workspace.read(name).filter(id=key)["_row_id"][0]
    return found[:12]


def test_repeated_and_empty_keys_are_quarantined(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,name\n7,Ann\n8,Bo\n7,Cy\n,Di\n8,Ed\n9,Fay\n", encoding="utf-8")
    report = ingest(workspace, path, name="people", key=["id"])
    assert (report.rows_read, report.rows, report.quarantined) == (6, 3, 3)
    kept = workspace.read("people").sort("id")
    assert kept.select("id", "name").rows() == [(7, "Ann"), (8, "Bo"), (9, "Fay")]  # the first keeps its key
    assert [r["line"] for r in kept[SOURCE]] == [2, 3, 7]
    assert _quarantine(workspace, "people") == [
        (4, "people.csv", "key id=7 is already on line 2"),
        (5, "people.csv", "key column id is empty"),
        (6, "people.csv", "key id=8 is already on line 3"),
    ]
    raw = workspace.read("people.quarantine").sort("line")["raw"].to_list()
    assert raw[0] == '{"id":7,"name":"Cy"}'


def test_a_key_of_many_columns_names_its_empty_part(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text("site,day,n\nA,1,5\nA,2,6\nB,,7\nA,1,8\n", encoding="utf-8")
    report = ingest(workspace, path, name="visits", key=["site", "day"])
    assert (report.rows, report.quarantined) == (2, 2)
    assert _quarantine(workspace, "visits") == [
        (4, "visits.csv", "key column day is empty"),
        (5, "visits.csv", "key site='A', day=1 is already on line 2"),
    ]


def test_a_key_taken_in_an_earlier_batch(workspace: Workspace, tmp_path: Path, small_chunks: None) -> None:
    path = tmp_path / "big.csv"
    path.write_text("id,v\n" + "".join(f"{i},{i}\n" for i in range(20_000)) + "5,-1\n", encoding="utf-8")
    report = ingest(workspace, path, name="big", key=["id"])
    assert (report.rows_read, report.rows, report.quarantined) == (20_001, 20_000, 1)
    assert workspace.read("big").filter(id=5)["v"].to_list() == [5]
    held = _id_of(workspace, "big", 5)  # the reason names the row that holds the key, to be found
    assert _quarantine(workspace, "big") == [
        (20_002, "big.csv", f"key id=5 is already on an earlier row (row {held})")
    ]
    assert workspace.find_rows("big", held)["_source"].struct.field("line").to_list() == [7]


def test_appending_a_key_the_dataset_holds(workspace: Workspace, tmp_path: Path) -> None:
    first, second = tmp_path / "round1.csv", tmp_path / "round2.csv"
    first.write_text("id,name\n1,Ann\n2,Bo\n", encoding="utf-8")
    second.write_text("id,name\n3,Cy\n2,Bob\n", encoding="utf-8")
    ingest(workspace, first, name="people", key=["id"])
    before = dict(workspace.read("people").select("id", "_row_id").rows())
    report = ingest(workspace, second, name="people", append=True)  # the dataset's own key
    assert (report.rows_read, report.rows, report.quarantined) == (2, 1, 1)
    after = workspace.read("people@2").sort("id")
    assert after.select("id", "name").rows() == [(1, "Ann"), (2, "Bo"), (3, "Cy")]
    assert {i: r for i, r in after.select("id", "_row_id").rows() if i in before} == before
    held = before[2][:12]
    assert _quarantine(workspace, "people") == [
        (3, "round2.csv", f"key id=2 is already in people@1 (row {held})")
    ]
    again = ingest(workspace, second, name="people")  # a new version replaces the rows: no clash
    assert (again.rows, again.quarantined) == (2, 0)


def test_strict_fails_on_a_repeated_key(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,age\nAnn,30\nBo,31\nAnn,32\n", encoding="utf-8")
    with pytest.raises(QuarantineError, match=r"people\.csv, line 4: key name='Ann' is already on line 2"):
        ingest(workspace, path, name="people", key=["name"], strict=True)
    assert not any(d.name == "people" for d in workspace.datasets())


def test_a_key_column_the_source_lacks(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,name\n1,Ann\n", encoding="utf-8")
    with pytest.raises(
        IngestError, match=r"people\.csv: key column 'ident' is not one of its columns \(id, name\)"
    ):
        ingest(workspace, path, name="people", key=["ident"])


def test_shards_name_the_file_of_the_first_row(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "a.csv").write_text("id,v\n1,x\n2,y\n1,z\n", encoding="utf-8")
    (folder / "b.csv").write_text("id,v\n2,w\n3,u\n", encoding="utf-8")
    report = ingest(workspace, f"{folder}/*.csv", name="s", key=["id"])
    assert (report.rows_read, report.rows, report.quarantined) == (5, 3, 2)
    assert _quarantine(workspace, "s") == [
        (2, "b.csv", f"key id=2 is already on an earlier row (row {_id_of(workspace, 's', 2)})"),
        (4, "a.csv", f"key id=1 is already on line 2 of {folder.resolve() / 'a.csv'}"),
    ]
