import json
import subprocess
import sys
from pathlib import Path

import pytest

from datawheel.demo import ANNOTATORS, DEMO_DATA, DemoResult, Stage, run_demo
from datawheel.errors import WorkspaceError
from datawheel.pipeline._release import reproduce
from datawheel.release import SECTIONS, verify_bundle
from datawheel.workspace import Workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    heard: list[Stage] = []
    result = run_demo(tmp_path_factory.mktemp("demo") / "demo", say=heard.append)
    assert heard == list(result.stages)  # each stage is told as it ends
    return result


def test_demo_turns_the_wheel(demo: DemoResult) -> None:
    result = demo
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
    data = result.root / "data"
    assert {str((data / "SMSSpamCollection").resolve()), str((data / "partner_round.tsv").resolve())} <= set(
        names
    )
    with Workspace.open(result.root) as ws:
        assert not ws.read("sms@3")["text"].str.contains("&lt;").any()


def test_the_rest_of_the_flywheel(demo: DemoResult) -> None:
    stages = {s.name: s for s in demo.stages}
    assert list(stages) == [
        "plan", "ingest", "unescape", "dedup", "redact", "contract", "weak-labels", "annotation",
        "label-issues", "split", "baseline", "learning-curve", "release", "monitor",
    ]  # fmt: skip
    with Workspace.open(demo.root) as ws:
        removed = ws.read("sms.removed")
        assert stages["dedup"].figures["exact"] == int((removed["reason"] == "exact duplicate").sum())
        assert stages["dedup"].figures["kept"] + removed.height == 5578
        split = ws.read("sms.split")
        assert stages["split"].figures["splits"] == dict(split.group_by("split").len().iter_rows())
        assert ws.read("sms.annotations").height == 300 * len(ANNOTATORS)
        assert stages["annotation"].figures["dawid_skene_accuracy"] > 0.9
        assert stages["baseline"].figures["accuracy"] > 0.95
        assert stages["monitor"].figures["alert"] is True
        to_label = ws.read(stages["monitor"].figures["to_label"])
        assert to_label.height > 0
    for report in demo.reports.values():
        assert report.is_file()
        assert report.stat().st_size < 2_000_000


def test_demo_release_verifies_reproduces_and_has_a_full_datasheet(demo: DemoResult) -> None:
    bundle = Path(demo.stages[-2].figures["bundle"])
    assert verify_bundle(bundle).ok
    text = (bundle / "datasheet.md").read_text(encoding="utf-8")
    for number, title in enumerate(SECTIONS, start=1):
        assert f"## {number}. {title}" in text
    stages = {s.name: s for s in demo.stages}
    kappa = stages["annotation"].figures["fleiss_kappa"]
    assert f"Fleiss' kappa {kappa:.3f}" in text  # the run's own figures, recomputed from lineage
    assert f"accuracy {stages['baseline'].figures['accuracy']:.3f}" in text
    assert "| SMSSpamCollection | tsv | sms@1 | 5,574 | 0 | uci-sms |" in text
    assert "Split balance and leakage of sms.split@1" in (bundle / "quality.html").read_text(encoding="utf-8")
    with Workspace.open(demo.root) as ws:
        rebuilt = reproduce(ws, "v1")
    assert rebuilt.identical, rebuilt.to_dict()


def test_demo_refuses_a_folder_in_use(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(WorkspaceError, match="is not empty"):
        run_demo(tmp_path)
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.slow
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
    assert [stage["stage"] for stage in shape["stages"]][-2:] == ["release", "monitor"]
    assert {"datasheet", "quality", "lineage", "profile", "evaluation", "monitor"} <= set(shape["reports"])
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
        "Release v1:",
        "ALERT",
        "datawheel serve",
        "datasheet.html",
    ):
        assert expected in text
