"""The walkthrough of examples/spam_lineage, run end to end as a user types it.

A wrong spam list fed an anti-spam model, which de-spammed the users, who were merged with
their profiles, cleaned, and fed a job-seeking model. The walkthrough fixes the list and checks
that datawheel says what the bad list affected, rebuilds exactly that, and shows which users
and which predictions changed. Expected numbers are derived from the generated data.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from datawheel.workspace import Workspace

pytestmark = pytest.mark.slow  # about 15 s: some twenty runs of the command line

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "spam_lineage"
STEPS = [
    "tidy_profiles",
    "train_spam_model",
    "score_spam",
    "despam",
    "merge_profiles",
    "clean_users",
    "train_job_model",
    "predict_jobs",
]
DOWNSTREAM_OF_SPAM_LIST = STEPS[1:]  # every step but tidy_profiles reads the list, through others
CHAIN = [  # what the spam list fed, in order
    "spam_model",
    "scored_users",
    "despammed_users",
    "merged_users",
    "clean_users",
    "job_model",
    "job_predictions",
]
SAMPLE = "5000"  # more than any diff here has rows, so the diff's samples hold every row


@dataclass(frozen=True)
class Walkthrough:
    """The example folder after the README's commands, and what each command printed."""

    folder: Path
    commands: list[list[str]]
    outputs: dict[str, Any]


def datawheel(folder: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "datawheel", *args], cwd=folder, check=True, capture_output=True, text=True
    )
    return result.stdout


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Walkthrough:
    folder = tmp_path_factory.mktemp("walk") / "spam_lineage"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "generate.py"], cwd=folder, check=True, capture_output=True)
    commands: list[list[str]] = []
    outputs: dict[str, Any] = {}

    def step(label: str, *args: str, json_output: bool = True) -> None:
        commands.append(list(args))
        text = datawheel(folder, *args, *(["--json"] if json_output else []))
        outputs[label] = json.loads(text) if json_output else text

    step("init", "init", json_output=False)
    step("ingest users", "ingest", "users.csv", "--name", "users", "--key", "user_id")
    step("ingest profiles", "ingest", "profiles.csv", "--name", "profiles", "--key", "user_id")
    step("ingest spam list", "ingest", "spam_list.csv", "--name", "spam_list")
    step("run", "run")
    step("run again", "run")
    step("predictions", "show", "job_predictions", "--limit", "5")
    step("ingest fixed list", "ingest", "spam_list_fixed.csv", "--name", "spam_list")
    step("status", "status")
    step("impact", "impact", "spam_list@1")
    step("rerun", "rerun", "--from", "spam_list@2")
    for dataset in ("clean_users", "job_predictions"):
        step(f"diff {dataset}", "diff", f"{dataset}@1", f"{dataset}@2", "--sample", SAMPLE)
    for version in ("job_predictions@1", "job_predictions@2"):
        step(f"lineage {version}", "lineage", version)
    return Walkthrough(folder, commands, outputs)


def _ids(path: Path) -> set[str]:
    return set(pl.read_csv(path)["user_id"].to_list())


def _removed_by_model(ws: Workspace, version: int) -> set[str]:
    """The users the anti-spam model of that run took out."""
    kept = set(ws.read(f"despammed_users@{version}")["user_id"].to_list())
    return set(ws.read(f"scored_users@{version}")["user_id"].to_list()) - kept


@pytest.fixture(scope="module")
def wrongly_flagged(walk: Walkthrough) -> set[str]:
    """Users on the first spam list but not on the fixed one."""
    wrong = _ids(walk.folder / "spam_list.csv") - _ids(walk.folder / "spam_list_fixed.csv")
    assert _ids(walk.folder / "spam_list_fixed.csv") < _ids(walk.folder / "spam_list.csv")
    assert len(wrong) > 0
    return wrong


@pytest.fixture(scope="module")
def back(walk: Walkthrough, wrongly_flagged: set[str]) -> set[str]:
    """Wrongly flagged users whom the first model removed, the fixed one keeps, with full profiles."""
    profiles = pl.read_csv(walk.folder / "profiles.csv")
    complete = set(profiles.drop_nulls()["user_id"].to_list())
    with Workspace.open(walk.folder) as ws:
        first, fixed = _removed_by_model(ws, 1), _removed_by_model(ws, 2)
    assert wrongly_flagged <= first  # the model learnt the bad list: it removed every listed user
    assert not wrongly_flagged & fixed  # the model trained on the fixed list keeps them all
    return {u for u in wrongly_flagged if u in first and u not in fixed and u in complete}


def test_second_run_executes_nothing(walk: Walkthrough) -> None:
    first, second = walk.outputs["run"], walk.outputs["run again"]
    assert (first["executed"], first["skipped"]) == (STEPS, [])
    assert (second["executed"], second["skipped"]) == ([], STEPS)
    assert {r["user_id"] for r in walk.outputs["predictions"]["rows"]} <= _ids(walk.folder / "users.csv")


def test_status_names_the_new_spam_list(walk: Walkthrough) -> None:
    assert walk.outputs["ingest fixed list"]["ref"] == "spam_list@2"
    status = {s["name"]: s for s in walk.outputs["status"]}
    assert status["tidy_profiles"]["state"] == "up to date"
    assert status["train_spam_model"]["reasons"] == [
        "input spam_list has a new version: spam_list@2 (last run read spam_list@1)"
    ]
    assert [n for n, s in status.items() if s["state"] == "stale"] == DOWNSTREAM_OF_SPAM_LIST


def test_impact_lists_the_whole_chain(walk: Walkthrough) -> None:
    impact = walk.outputs["impact"]
    assert impact["ref"] == "spam_list@1"
    assert sorted(impact["artifacts"]) == sorted(f"{d}@1" for d in CHAIN)


def test_rerun_executes_exactly_the_steps_downstream(walk: Walkthrough) -> None:
    rerun = walk.outputs["rerun"]
    assert (rerun["executed"], rerun["skipped"]) == (DOWNSTREAM_OF_SPAM_LIST, ["tidy_profiles"])
    outputs = {d: ref for s in rerun["steps"] for d, ref in s["outputs"].items()}
    assert [outputs[d] for d in CHAIN] == [f"{d}@2" for d in CHAIN]
    assert outputs["profiles_tidy"] == "profiles_tidy@1"


def test_wrongly_flagged_users_come_back(
    walk: Walkthrough, wrongly_flagged: set[str], back: set[str]
) -> None:
    diff = walk.outputs["diff clean_users"]
    assert (diff["added"], diff["removed"], diff["changed"]) == (len(back), 0, 0)
    assert {r["user_id"] for r in diff["sample"]["added"]} == back
    profiles = pl.read_csv(walk.folder / "profiles.csv").drop_nulls()
    assert back == wrongly_flagged & set(profiles["user_id"].to_list())  # all who have full profiles


def test_predictions_change_for_those_users_and_their_peers(walk: Walkthrough, back: set[str]) -> None:
    diff = walk.outputs["diff job_predictions"]
    assert diff["removed"] == 0
    assert {r["user_id"] for r in diff["sample"]["added"]} == back
    with Workspace.open(walk.folder) as ws:
        before = ws.read("job_predictions@1")
        returned = ws.read("clean_users@2").filter(pl.col("user_id").is_in(sorted(back)))
    groups = returned.select("role", "experience_band").unique()
    peers = before.join(groups, on=["role", "experience_band"], how="semi")  # their rates moved
    changed = {r["_row_id"] for r in diff["sample"]["changed"]}
    assert diff["changed"] == len(changed) == peers.height > 0
    assert changed == set(peers["_row_id"].to_list())


def test_lineage_of_predictions_reaches_the_spam_list_file(walk: Walkthrough) -> None:
    def files(version: str) -> set[str]:
        graph = walk.outputs[f"lineage {version}"]
        return {Path(n["name"]).name for n in graph["nodes"] if n["kind"] == "file"}

    assert "spam_list.csv" in files("job_predictions@1")
    assert "spam_list_fixed.csv" in files("job_predictions@2")
    assert "spam_list.csv" not in files("job_predictions@2")


def test_readme_shows_every_command(walk: Walkthrough) -> None:
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    typed = {line.split("#")[0].strip() for line in re.findall(r"^datawheel .*$", readme, flags=re.M)}
    for args in walk.commands:
        command = " ".join(["datawheel", *args]).replace(f" --sample {SAMPLE}", "")
        assert command in typed, command
