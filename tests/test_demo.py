import json
import subprocess
import sys
from pathlib import Path

import pytest

from datawheel.demo import DEMO_DATA, run_demo
from datawheel.errors import WorkspaceError
from datawheel.workspace import Workspace


def test_demo_turns_the_wheel(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo")
    assert [s.name for s in result.sources] == ["uci-sms", "partner-feed"]  # ranked by value
    assert (result.first.ref, result.first.rows, result.first.quarantined) == ("sms@1", 5574, 0)
    assert (result.second.ref, result.second.rows_read, result.second.rows, result.second.quarantined) == (
        "sms@2",
        5,
        4,
        1,
    )
    (bad,) = result.quarantine
    assert (bad["line"], bad["reason"]) == (4, "expected 2 fields, found 1")
    assert result.round.rows_added == 5578
    assert [v.ref for v in result.versions] == ["sms@1", "sms@2", "sms@3"]
    assert result.versions[2].tags == ("demo-clean",)
    raw = DEMO_DATA.read_text(encoding="utf-8")
    entities = ("&lt;", "&gt;", "&amp;", "&quot;", "&#39;")
    with_entities = sum(1 for line in raw.splitlines() if any(e in line for e in entities))
    assert (result.diff.added, result.diff.removed, result.diff.changed) == (0, 0, with_entities)
    names = [n.name for n in result.lineage.nodes]
    assert names[:3] == ["sms@3", "unescape-entities", "sms@2"]
    data = tmp_path / "demo" / "data"
    assert {str((data / "SMSSpamCollection").resolve()), str((data / "partner_round.tsv").resolve())} <= set(
        names
    )
    with Workspace.open(tmp_path / "demo") as ws:
        assert not ws.read("sms@3")["text"].str.contains("&lt;").any()


def test_demo_refuses_a_folder_in_use(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
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
    assert [i["rows"] for i in shape["ingests"]] == [5574, 4]
    assert shape["quarantine"][0]["line"] == 4
    assert [v["version"] for v in shape["versions"]] == [1, 2, 3]
    assert shape["diff"]["changed"] > 0
    text = subprocess.run(
        [sys.executable, "-m", "datawheel", "demo", str(tmp_path / "e")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for expected in (
        "rows read 5 = committed 4 + quarantined 1",
        "quarantined line 4",
        "datawheel diff sms@2 sms@3",
        "unescape-entities",
        "partner_round.tsv",
        "SMSSpamCollection",
    ):
        assert expected in text
