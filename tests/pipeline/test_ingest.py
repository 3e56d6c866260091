from pathlib import Path

import polars as pl
import pytest

from datawheel.errors import IngestError
from datawheel.pipeline import FILE, file_digest, ingest_file, run_step
from datawheel.store import SOURCE
from datawheel.workspace import Workspace


def test_ingest_records_source_and_provenance(workspace: Workspace, sms_file: Path) -> None:
    report = ingest_file(
        workspace, sms_file, name="sms", format="tsv", has_header=False, columns=["label", "text"]
    )
    assert (report.ref, report.rows, report.format) == ("sms@1", 5574, "tsv")
    assert report.to_dict()["dataset"] == "sms"
    assert report.to_dict()["version"] == 1
    frame = workspace.read("sms@1")
    source = frame[SOURCE].struct.unnest()
    assert source["file"].unique().to_list() == [str(sms_file.resolve())]
    assert source["line"].to_list() == list(range(1, 5575))
    assert source["execution"].unique().to_list() == [report.execution_id]

    graph = workspace.lineage.upstream(workspace.resolve("sms@1").artifact_id)
    (file_node,) = [n for n in graph.nodes if n.kind == FILE]
    assert file_node.name == str(sms_file.resolve())
    assert file_node.uri == sms_file.resolve().as_uri()
    assert file_node.properties["digest"] == file_digest(sms_file)
    assert file_node.properties["size"] == sms_file.stat().st_size
    (step,) = [n for n in graph.nodes if n.kind == "execution"]
    assert (step.name, step.properties["status"]) == ("ingest", "completed")
    assert workspace.lineage.execution(report.execution_id).code_fingerprint


def test_every_row_traces_back_to_its_line(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    lines = ["id,name", "7,Ann", "8,Bo", "9,Cy"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest_file(workspace, path, name="people", key=["id"])
    for row in workspace.read("people").iter_rows(named=True):
        assert lines[row[SOURCE]["line"] - 1] == f"{row['id']},{row['name']}"


def test_reingest_changed_file_diffs_by_key(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,name\n1,Ann\n2,Bo\n", encoding="utf-8")
    ingest_file(workspace, path, name="people", key=["id"])
    path.write_text("id,name\n1,Ann\n2,Bob\n3,Cy\n", encoding="utf-8")
    ingest_file(workspace, path, name="people")
    diff = workspace.diff("people@1", "people@2")
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (1, 0, 1, 1)
    files = workspace.lineage.find_artifacts(FILE, str(path.resolve()))
    assert len(files) == 2  # one artifact per content of the file


def test_failed_ingest_is_recorded_and_commits_nothing(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\n1,2\n3,4,5\n")
    with pytest.raises(IngestError, match=r"bad\.csv"):
        ingest_file(workspace, path, name="bad")
    assert workspace.datasets() == []
    (run,) = workspace.lineage.executions()
    assert run.status == "failed"
    assert "bad.csv" in (run.error or "")


def test_missing_file_records_nothing(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no file"):
        ingest_file(workspace, tmp_path / "nope.csv", name="x")
    assert workspace.lineage.executions() == []


def test_run_step_records_reads_and_writes(workspace: Workspace) -> None:
    workspace.commit("a", pl.DataFrame({"x": [1, 2]}))
    with run_step(workspace, "double", parameters={"factor": 2}, code_fingerprint="abc") as run:
        out = run.commit("b", run.read("a").with_columns(pl.col("x") * 2))
    info = workspace.lineage.execution(run.execution.id)
    assert (info.status, info.parameters, info.code_fingerprint, info.user) == (
        "completed",
        {"factor": 2},
        "abc",
        workspace.user,
    )
    graph = workspace.lineage.upstream(out.artifact_id)
    assert [n.name for n in graph.artifacts()] == ["a@1"]
    assert [n.name for n in workspace.lineage.impact(workspace.resolve("a").artifact_id)] == ["b@1"]
