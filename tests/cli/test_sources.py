import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import typer

from datawheel.cli import app
from datawheel.workspace import Workspace

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py

SOURCE_KEYS = {
    "name",
    "uri",
    "cost",
    "days",
    "expected_rows",
    "quality",
    "value_score",
    "notes",
    "created_at",
    "updated_at",
}
ROUND_KEYS = {"number", "name", "context", "started_at", "days", "deadline", "closed_at", "open", "notes"}
STATUS_KEYS = {
    "round",
    "as_of",
    "days_left",
    "overdue",
    "rows_added",
    "by_source",
    "by_dataset",
    "executions",
}


def run_json(run: Run, *args: str) -> Any:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    return json.loads(out)


def _add(
    name: str, *, cost: str = "0", days: str = "2", rows: str = "30000", quality: str = "medium"
) -> list[str]:
    return [
        "sources",
        "add",
        name,
        "--uri",
        f"https://{name}.example",
        "--cost",
        cost,
        "--days",
        days,
        "--expected-rows",
        rows,
        "--quality",
        quality,
    ]


def test_sources_add_list_show_remove(ws_dir: Path, run: Run) -> None:
    added = run_json(run, *_add("forum"), "--notes", "public dump")
    assert set(added) == SOURCE_KEYS
    assert (added["name"], added["value_score"], added["notes"], added["expected_rows"]) == (
        "forum",
        10_000.0,
        "public dump",
        30_000,
    )
    code, out, _ = run(*_add("vendor", cost="499", days="1", rows="200000", quality="high"))
    assert (code, out.strip()) == (0, "Added source 'vendor' (value score 400)")
    run(*_add("survey", days="0", rows="500", quality="low"))

    listed = run_json(run, "sources", "list")
    assert [(s["name"], s["value_score"]) for s in listed] == [
        ("forum", 1e4),
        ("vendor", 400.0),
        ("survey", 250.0),
    ]
    assert all(set(s) == SOURCE_KEYS for s in listed)
    assert run_json(run, "sources") == listed  # the group alone lists
    code, out, _ = run("sources", "--json", "list")  # --json given to the group
    assert json.loads(out) == listed

    code, out, _ = run("sources", "list")
    assert code == 0
    assert out.index("forum") < out.index("vendor") < out.index("survey")
    assert "10,000" in out

    assert run_json(run, "sources", "show", "vendor") == listed[1]
    code, out, _ = run("sources", "show", "vendor")
    assert "vendor: value score 400" in out
    assert "200,000" in out

    removed = run_json(run, "sources", "remove", "survey")
    assert removed["name"] == "survey"
    assert [s["name"] for s in run_json(run, "sources")] == ["forum", "vendor"]


def test_sources_add_replace(ws_dir: Path, run: Run) -> None:
    run(*_add("forum"))
    code, _, err = run(*_add("forum", cost="9"))
    assert code == 2
    assert err.strip() == (
        "error: source 'forum' already exists; pass --replace to change it, or choose another name"
    )
    code, out, _ = run(*_add("forum", cost="9"), "--replace")
    assert (code, out.strip()) == (0, "Replaced source 'forum' (value score 1,000)")
    assert run_json(run, "sources", "show", "forum")["cost"] == 9.0


def test_no_sources_yet(ws_dir: Path, run: Run) -> None:
    assert run_json(run, "sources", "list") == []
    code, out, _ = run("sources")
    assert (code, out.strip()) == (
        0,
        "No sources yet; add one with `datawheel sources add NAME --uri URI …`.",
    )


def test_round_start_status_close_list(ws_dir: Path, run: Run) -> None:
    run(*_add("forum"))
    started = run_json(run, "round", "start", "--days", "7", "--name", "spring", "--notes", "first")
    assert set(started) == ROUND_KEYS
    assert (started["number"], started["name"], started["context"], started["open"]) == (
        1,
        "spring",
        "round-1",
        True,
    )

    with Workspace.open(ws_dir) as ws:  # an ingest as the pipeline records one in the open round
        current = ws.sources.current_round()
        assert current is not None
        execution = ws.lineage.start_execution(
            "ingest", parameters={"source": "forum"}, contexts=[current.context_id]
        )
        ws.commit("posts", pl.DataFrame({"text": ["a", "b", "c"]}), execution_id=execution.id)
        ws.lineage.finish_execution(execution.id)

    status = run_json(run, "round", "status")
    assert set(status) == STATUS_KEYS
    assert status["round"] == started
    assert (status["rows_added"], status["overdue"]) == (3, False)
    assert 6.9 < status["days_left"] <= 7
    assert status["by_source"] == [{"source": "forum", "executions": 1, "rows_added": 3}]
    assert status["by_dataset"] == [{"dataset": "posts", "versions": ["posts@1"], "rows_added": 3}]
    [entry] = status["executions"]
    assert (entry["execution"], entry["step"], entry["source"], entry["rows_added"]) == (
        execution.id,
        "ingest",
        "forum",
        3,
    )
    assert entry["versions"] == [
        {"ref": "posts@1", "dataset": "posts", "version": 1, "rows": 3, "rows_added": 3}
    ]

    code, out, _ = run("round", "status")
    assert code == 0
    assert "Round 1 ('spring')" in out
    assert "3 rows added by 1 executions" in out
    assert "posts@1" in out

    closed = run_json(run, "round", "close")
    assert set(closed) == STATUS_KEYS
    assert (closed["round"]["open"], closed["days_left"], closed["rows_added"]) == (False, None, 3)

    run("round", "start", "--days", "1")
    rounds = run_json(run, "round", "list")
    assert [(r["number"], r["open"], r["rows_added"]) for r in rounds] == [(1, False, 3), (2, True, 0)]
    assert all(set(r) == ROUND_KEYS | {"rows_added"} for r in rounds)
    assert run_json(run, "round", "status", "1")["round"]["name"] == "spring"
    code, out, _ = run("round", "list")
    assert "spring" in out
    assert "round-2" in out


def test_round_alone_shows_the_status(ws_dir: Path, run: Run) -> None:
    run("round", "start", "--days", "2")
    alone = run_json(run, "round")
    explicit = run_json(run, "round", "status")
    assert alone["round"] == explicit["round"]
    assert set(alone) == STATUS_KEYS
    assert run_json(run, "round", "list")[0]["number"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            _add("forum", cost="-1"),
            "error: --cost of source 'forum' is -1.0, below 0; give --cost as 0 or more",
        ),
        (_add("forum", days="nan"), "error: --days of source 'forum' is nan, not a finite number"),
        (_add("forum", rows="-5"), "error: --expected-rows of source 'forum' is -5, below 0"),
        (_add("forum", quality="great"), "error: --quality of source 'forum' is 'great', not one of low"),
        (_add("bad name"), "error: 'bad name' cannot name a source"),
        (["sources", "show", "nope"], "error: no source 'nope' (the plan has none yet)"),
        (["sources", "remove", "nope"], "error: no source 'nope'"),
        (["round", "close"], "error: no round is open; start one with `datawheel round start --days N`"),
        (["round", "status"], "error: there is no collection round yet"),
        (["round", "status", "4"], "error: there is no collection round yet"),
        (
            ["round", "start", "--days", "0"],
            "error: a round cannot last 0.0 days; give --days as a number above 0",
        ),
    ],
)
def test_user_errors_exit_2_in_one_line(ws_dir: Path, run: Run, args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1
    assert out == ""


def test_a_second_open_round_is_refused(ws_dir: Path, run: Run) -> None:
    assert run("round", "start", "--days", "3")[0] == 0
    code, out, err = run("round", "start", "--days", "3", "--json")
    assert code == 2
    assert out == ""
    assert err.startswith("error: round 1 ('round-1') is still open, due ")
    assert err.strip().endswith("; close it first with `datawheel round close`")


def test_every_sources_and_round_command_has_help_and_json() -> None:
    groups = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    expected = {"sources": {"add", "list", "show", "remove"}, "round": {"start", "status", "close", "list"}}
    for group, names in expected.items():
        command = groups[group]
        assert isinstance(command, typer.core.TyperGroup)
        assert command.help
        assert any(p.name == "json" for p in command.params)
        assert set(command.commands) == names
        for name, sub in command.commands.items():
            assert sub.help, f"`datawheel {group} {name}` has no help text"
            assert any(p.name == "json" for p in sub.params), f"`datawheel {group} {name}` has no --json"


def test_ingest_from_a_sources_uri(ws_dir: Path, run: Run, tmp_path: Path) -> None:
    drop = tmp_path / "drop.csv"
    drop.write_text("id,text\n1,hello\n2,world\n", encoding="utf-8")
    code, _, err = run("sources", "add", "partner", "--uri", str(drop), "--cost", "0", "--days", "1",
                       "--expected-rows", "2", "--quality", "high")  # fmt: skip
    assert code == 0, err
    report = run_json(run, "ingest", "--source", "partner", "-n", "texts")
    assert (report["location"], report["rows"], report["source"]) == (str(drop.resolve()), 2, "partner")
    with Workspace.open(ws_dir) as ws:
        assert ws.read("texts")["text"].to_list() == ["hello", "world"]
    assert run_json(run, "ingest", "--source", "partner", "-n", "texts")["skipped"] is True


def test_ingest_without_a_source_says_what_to_give(ws_dir: Path, run: Run) -> None:
    code, _, err = run("ingest", "-n", "t")
    assert code == 2
    assert "nothing to ingest: give SOURCE" in err
    code, _, _ = run(*_add("forum"))  # --uri https://forum.example: a site, not a file
    assert code == 0
    code, _, err = run("ingest", "--source", "forum", "-n", "t")  # a URL is tried (.example never resolves)
    assert code == 2
    assert "cannot download https://forum.example" in err
    code, _, err = run("sources", "add", "vendor", "--uri", "call Bo at the vendor", "--cost", "1", "--days",
                       "1", "--expected-rows", "5", "--quality", "low")  # fmt: skip
    assert code == 0, err
    code, _, err = run("ingest", "--source", "vendor", "-n", "t")
    assert code == 2
    assert "'call Bo at the vendor', which is neither an http(s) URL nor a file here" in err
