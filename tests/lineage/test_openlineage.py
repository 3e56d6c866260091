import json
from pathlib import Path

import polars as pl
import pytest

from datawheel.pipeline import run_step
from datawheel.workspace import OPENLINEAGE_ENV, Workspace


def _fail_inside_a_step(ws: Workspace) -> None:
    with run_step(ws, "broken") as run:
        run.read("e")
        raise ValueError("boom")


def test_run_events_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events_file = tmp_path / "ol" / "events.jsonl"
    monkeypatch.setenv(OPENLINEAGE_ENV, str(events_file))
    with Workspace.init(tmp_path / "ws") as ws:
        with run_step(ws, "make") as run:
            run.commit("d", pl.DataFrame({"a": [1]}))
        with run_step(ws, "copy") as run:
            run.commit("e", run.read("d@1"))
        with pytest.raises(ValueError, match="boom"):
            _fail_inside_a_step(ws)
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert [(e["eventType"], e["job"]["name"]) for e in events] == [
        ("START", "make"),
        ("COMPLETE", "make"),
        ("START", "copy"),
        ("COMPLETE", "copy"),
        ("START", "broken"),
        ("FAIL", "broken"),
    ]
    copy = events[3]
    assert [i["name"] for i in copy["inputs"]] == ["d@1"]
    assert [o["name"] for o in copy["outputs"]] == ["e@1"]
    assert copy["job"]["namespace"] == "datawheel://ws"
    assert events[2]["run"]["runId"] == copy["run"]["runId"]
    assert events[0]["run"]["runId"] != copy["run"]["runId"]
    assert copy["producer"].startswith("urn:datawheel:")
