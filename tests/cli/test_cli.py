import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
import typer

from datawheel.cli import app
from datawheel.workspace import Workspace

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py


def _ingest_sms(path: Path) -> list[str]:
    return ["ingest", str(path), "--name", "sms", "--format", "tsv", "--no-header", "--columns", "label,text"]


@pytest.fixture
def sms_ws(ws_dir: Path, sms_file: Path, run: Run) -> Path:
    code, _, _ = run(*_ingest_sms(sms_file))
    assert code == 0
    return ws_dir


def test_init(tmp_path: Path, run: Run) -> None:
    code, out, _ = run("init", str(tmp_path / "new"), "--json")
    assert code == 0
    assert json.loads(out)["root"] == str((tmp_path / "new").resolve())
    code, _, err = run("init", str(tmp_path / "new"))
    assert code == 2
    assert "already a datawheel workspace" in err


def test_ingest_json_shape(ws_dir: Path, sms_file: Path, run: Run) -> None:
    code, out, _ = run(*_ingest_sms(sms_file), "--json")
    assert code == 0
    shape = json.loads(out)
    assert (shape["dataset"], shape["version"], shape["rows"]) == ("sms", 1, 5574)


def test_versions_show_tag_diff_export(sms_ws: Path, tmp_path: Path, run: Run) -> None:
    with Workspace.open(sms_ws) as ws:
        frame = ws.read("sms").filter(pl.col("label") == "spam")
        ws.commit("sms", frame.with_columns(pl.col("text").str.to_lowercase()))

    code, out, _ = run("versions", "sms", "--json")
    versions = json.loads(out)
    assert code == 0
    assert [v["version"] for v in versions] == [1, 2]
    assert [v["rows"] for v in versions] == [5574, 747]
    assert all({"version", "rows", "created_at", "tags"} <= set(v) for v in versions)

    assert run("tag", "sms@1", "raw")[0] == 0
    code, out, _ = run("show", "sms@raw", "--limit", "2", "--json")
    shown = json.loads(out)
    assert (shown["version"]["version"], len(shown["rows"]), shown["version"]["tags"]) == (1, 2, ["raw"])

    code, out, _ = run("diff", "sms@1", "sms@2", "--json")
    diff = json.loads(out)
    assert code == 0
    assert (diff["added"], diff["removed"]) == (0, 4827)
    assert diff["changed"] + diff["unchanged"] == 747
    assert diff["changed"] > 700  # nearly every spam message has a capital letter

    code, out, _ = run("diff", "sms@1", "sms@2")
    assert "4,827 removed" in out

    target = tmp_path / "out" / "spam.jsonl"
    code, out, _ = run("export", "sms@2", str(target), "--json")
    assert json.loads(out)["rows"] == 747
    assert len(target.read_text(encoding="utf-8").splitlines()) == 747

    code, out, _ = run("datasets", "--json")
    assert [(d["name"], d["versions"], d["rows"]) for d in json.loads(out)] == [("sms", 2, 747)]
    code, out, _ = run("versions", "sms")
    assert "sms@1" in out
    assert "raw" in out


@pytest.mark.parametrize("fmt", ["text", "json", "dot", "mermaid"])
def test_lineage_formats(sms_ws: Path, sms_file: Path, run: Run, fmt: str) -> None:
    code, out, _ = run("lineage", "sms@1", "--upstream", "--format", fmt)
    assert code == 0
    if fmt == "json":
        graph = json.loads(out)
        names = {n["name"] for n in graph["nodes"]}
        assert {"sms@1", "ingest", str(sms_file.resolve())} <= names
        assert len(graph["edges"]) == 2
    else:
        assert str(sms_file.resolve()) in out
        assert "ingest" in out


def test_lineage_downstream(sms_ws: Path, run: Run) -> None:
    code, out, _ = run("lineage", "sms", "--downstream", "--json")
    assert code == 0
    assert [n["name"] for n in json.loads(out)["nodes"]] == ["sms@1"]
    code, _, err = run("lineage", "sms", "--downstream", "--upstream")
    assert code == 2
    assert "not both" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "nope"], "error: no dataset 'nope'"),
        (["show", "sms@7"], "error: dataset 'sms' has no version 7 (it has versions 1..1)"),
        (["diff", "sms@1", "sms@oops"], "has no tag 'oops'"),
        (["ingest", "missing.csv", "--name", "x"], "error: no file"),
        (["export", "sms", "out.xlsx"], "cannot tell the export format"),
        (["tag", "sms", "12"], "cannot be a tag"),
        (["show", "sms@@"], "is not a ref"),
    ],
)
def test_user_errors_exit_2_in_one_line(sms_ws: Path, run: Run, args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert out == ""


def test_outside_a_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run("datasets")
    assert code == 2
    assert "run `datawheel init`" in err


def test_bad_flag_is_a_usage_error(run: Run) -> None:
    code, _, err = run("versions", "--no-such-flag")
    assert code == 2
    assert "No such option" in err


def _leaves(group: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            assert command.help, f"`datawheel {path}` has no help text"
            yield from _leaves(command, f"{path} ")
        else:
            yield path, command


# Commands that run until stopped print no result to shape as JSON.
NO_JSON = {"serve"}


def test_every_command_has_help() -> None:
    commands = dict(_leaves(typer.main.get_command(app)))
    expected = {"init", "ingest", "datasets", "versions", "show", "tag", "export", "diff", "lineage", "demo"}
    assert expected <= set(commands)
    assert {"split", "profile", "validate", "drift", "release", "verify", "label issues"} <= set(commands)
    for name, command in commands.items():
        assert command.help, f"`datawheel {name}` has no help text"
        if name not in NO_JSON:
            assert any(p.name == "json" for p in command.params), f"`datawheel {name}` has no --json"


def _console_script() -> str:
    beside = Path(sys.executable).with_name("datawheel")
    found = str(beside) if beside.is_file() else shutil.which("datawheel")
    if found is None:
        pytest.fail("the `datawheel` console script is not installed; run `pip install -e .`")
    return found


def test_console_script_errors_and_verbose(tmp_path: Path) -> None:
    exe = _console_script()
    quiet = subprocess.run([exe, "show", "x"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert quiet.returncode == 2
    assert quiet.stderr.strip().startswith("error: no datawheel workspace")
    assert "Traceback" not in quiet.stderr
    loud = subprocess.run(
        [exe, "--verbose", "show", "x"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert loud.returncode == 2
    assert "Traceback" in loud.stderr
    Workspace.init(tmp_path / "w").close()
    ok = subprocess.run(
        [exe, "-C", str(tmp_path / "w"), "datasets", "--json"], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0
    assert json.loads(ok.stdout) == []


def test_corrupt_table_is_a_one_line_error(sms_ws: Path, run: Run) -> None:
    for part in (sms_ws / ".datawheel" / "tables" / "sms").glob("*.parquet"):
        part.write_bytes(b"garbage")
    code, out, err = run("show", "sms")
    assert code == 2
    assert "is corrupt" in err
    assert "restore the folder from a backup" in err
    assert len(err.strip().splitlines()) == 1
    assert out == ""


def test_newer_schema_is_a_one_line_error(ws_dir: Path, run: Run) -> None:
    with Workspace.open(ws_dir) as ws, ws.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'from_a_newer_datawheel'"))
    code, _, err = run("datasets")
    assert code == 2
    assert "written by a newer datawheel; upgrade datawheel" in err
    assert len(err.strip().splitlines()) == 1
