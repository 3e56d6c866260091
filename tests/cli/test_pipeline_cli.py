import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from datawheel.workspace import Workspace

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py

STEPS = """
import polars as pl
from datawheel.pipeline import step

@step(outputs="flagged")
def flag(users: pl.DataFrame, spam_list: pl.DataFrame) -> pl.DataFrame:
    return users.with_columns(pl.col("user").is_in(spam_list["user"].implode()).alias("spam"))

@step(outputs="clean")
def drop_spam(flagged: pl.DataFrame, *, keep_spam: bool = False) -> pl.DataFrame:
    return flagged if keep_spam else flagged.filter(~pl.col("spam"))
"""

PIPELINE = """
[pipeline]
name = "spam"

[[step]]
uses = "steps:flag"

[[step]]
uses = "steps:drop_spam"
params = { keep_spam = false }
"""


def _setup(ws_dir: Path) -> None:
    (ws_dir / "steps.py").write_text(STEPS, encoding="utf-8")
    (ws_dir / "pipeline.toml").write_text(PIPELINE, encoding="utf-8")
    with Workspace.open(ws_dir) as ws:
        ws.commit("users", pl.DataFrame({"user": ["a", "b", "c"]}), key=["user"])
        ws.commit("spam_list", pl.DataFrame({"user": ["b"]}))


def test_run_status_impact_rerun(ws_dir: Path, run: Run) -> None:
    _setup(ws_dir)
    code, out, _ = run("status", "--json")
    assert [s["state"] for s in json.loads(out)] == ["never run", "stale"]
    code, out, err = run("run", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert (first["executed"], first["skipped"]) == (["flag", "drop_spam"], [])
    code, out, _ = run("run", "--json")
    assert (json.loads(out)["executed"], json.loads(out)["skipped"]) == ([], ["flag", "drop_spam"])

    with Workspace.open(ws_dir) as ws:
        ws.commit("spam_list", pl.DataFrame({"user": ["c"]}))  # the list was wrong
    code, out, _ = run("status", "--json")
    assert json.loads(out)[0]["reasons"] == [
        "input spam_list has a new version: spam_list@2 (last run read spam_list@1)"
    ]
    code, out, _ = run("impact", "spam_list@1", "--json")
    assert json.loads(out)["artifacts"] == ["flagged@1", "clean@1"]
    code, out, _ = run("rerun", "--from", "spam_list@2", "--json")
    assert json.loads(out)["executed"] == ["flag", "drop_spam"]
    code, out, _ = run("diff", "clean@1", "clean@2", "--json")
    diff = json.loads(out)
    assert (diff["added"], diff["removed"]) == (1, 1)  # b back in, c out
    code, out, _ = run("impact", "spam_list@1")
    assert "clean@1" in out


def test_failed_step_exits_1(ws_dir: Path, run: Run) -> None:
    _setup(ws_dir)
    (ws_dir / "steps.py").write_text(
        STEPS.replace("return flagged if", "raise ValueError('boom')\n    return flagged if")
    )
    code, out, err = run("run")
    assert code == 1
    assert "error: step 'drop_spam' failed: ValueError: boom; fix it and run again" in err
    assert "flag" in out


def test_missing_pipeline_file(ws_dir: Path, run: Run) -> None:
    code, _, err = run("run")
    assert code == 2
    assert "no pipeline file" in err
