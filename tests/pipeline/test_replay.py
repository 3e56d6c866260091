from pathlib import Path

import polars as pl
import pytest

from datawheel import ReadOptions, Workspace, ingest
from datawheel.errors import PipelineError
from datawheel.pipeline._clean import dedup_dataset, redact_dataset
from datawheel.pipeline._replay import CALL, replay_call, unreplayable


def test_ingest_records_its_call_with_options_and_paths(workspace: Workspace, sms_file: Path) -> None:
    options = ReadOptions(has_header=False, columns=("label", "text"), quote_char=None)
    report = ingest(workspace, sms_file, name="sms", format="tsv", options=options)
    assert report.execution_id is not None
    call = workspace.lineage.execution(report.execution_id).parameters[CALL]
    assert call["function"] == "datawheel.pipeline._ingest:ingest"
    assert call["arguments"]["location"] == {"__path__": str(sms_file.resolve())}
    assert call["arguments"]["options"]["fields"]["columns"] == ["label", "text"]
    assert unreplayable(call) == []


def test_refs_are_recorded_resolved_and_replayed_mapped(workspace: Workspace, tmp_path: Path) -> None:
    workspace.commit("notes", pl.DataFrame({"text": ["a", "a", "b"]}))
    report = dedup_dataset(workspace, "notes", column="text", exact=True)
    assert report.version.execution_id is not None
    call = workspace.lineage.execution(report.version.execution_id).parameters[CALL]
    assert call["arguments"]["ref"] == "notes@1"
    with Workspace.init(tmp_path / "other") as other:
        other.commit("copy", pl.DataFrame({"text": ["x", "x", "x", "y"]}))
        replay_call(other, call, {"notes@1": "copy@1"})
        assert other.read("copy")["text"].to_list() == ["x", "y"]


def test_secrets_are_never_recorded_and_block_a_replay(workspace: Workspace) -> None:
    workspace.commit("people", pl.DataFrame({"text": ["mail me at kim@example.com"]}))
    report = redact_dataset(workspace, "people", column="text", mode="hash", salt="s3cret")
    assert report.version.execution_id is not None
    call = workspace.lineage.execution(report.version.execution_id).parameters[CALL]
    assert "s3cret" not in str(call)
    assert unreplayable(call) == ["salt"]
    with pytest.raises(PipelineError, match="salt was not recorded"):
        replay_call(workspace, call, {})
