import json
import subprocess
import sys
from pathlib import Path

import pytest

from datawheel.demo import DEMO_DATA, run_demo
from datawheel.workspace import Workspace


def test_demo_turns_the_wheel(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo")
    assert (result.ingest.ref, result.ingest.rows) == ("sms@1", 5574)
    assert [v.ref for v in result.versions] == ["sms@1", "sms@2"]
    assert result.versions[1].tags == ("demo-clean",)
    raw = DEMO_DATA.read_text(encoding="utf-8")
    with_entities = sum(
        1 for line in raw.splitlines() if any(e in line for e in ("&lt;", "&gt;", "&amp;", "&quot;", "&#39;"))
    )
    assert (result.diff.added, result.diff.removed, result.diff.changed) == (0, 0, with_entities)
    names = [n.name for n in result.lineage.nodes]
    source = str((tmp_path / "demo" / "data" / "SMSSpamCollection").resolve())
    assert names == ["sms@2", "unescape-entities", "sms@1", "ingest", source]  # nearest first
    with Workspace.open(tmp_path / "demo") as ws:
        assert not ws.read("sms@2")["text"].str.contains("&lt;").any()


def test_demo_refuses_a_folder_in_use(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    from datawheel.errors import WorkspaceError

    with pytest.raises(WorkspaceError, match="is not empty"):
        run_demo(tmp_path)
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_demo_command(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "datawheel", "demo", str(tmp_path / "d"), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    shape = json.loads(out.stdout)
    assert shape["ingest"]["rows"] == 5574
    assert [v["version"] for v in shape["versions"]] == [1, 2]
    assert shape["diff"]["changed"] > 0
    text = subprocess.run(
        [sys.executable, "-m", "datawheel", "demo", str(tmp_path / "e")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for expected in (
        "sms@1",
        "sms@2",
        "datawheel diff sms@1 sms@2",
        "unescape-entities",
        "SMSSpamCollection",
    ):
        assert expected in text
