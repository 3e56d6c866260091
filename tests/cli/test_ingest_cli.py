import json
from pathlib import Path

import polars as pl
import pytest

from datawheel.cli import main
from datawheel.workspace import Workspace


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ws_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ws"
    Workspace.init(root).close()
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def bad_csv(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_bytes("id,name,city\n1,Ann,Seoul\n2,Bo\n3,Cy,Busan\n".encode("cp949"))
    return path


def test_ingest_json_shape_with_quarantine(
    ws_dir: Path, bad_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "ingest", str(bad_csv), "--name", "people", "--meta", "site=a", "--json")
    assert code == 0, err
    shape = json.loads(out)
    assert {k: shape[k] for k in ("dataset", "version", "rows", "quarantined", "skipped", "rows_read")} == {
        "dataset": "people",
        "version": 1,
        "rows": 2,
        "quarantined": 1,
        "skipped": False,
        "rows_read": 3,
    }
    assert shape["encoding"] in ("ascii", "utf-8")
    assert shape["quarantine"] == "people.quarantine@1"
    code, out, _ = run(capsys, "ingest", str(bad_csv), "--name", "people", "--meta", "site=a", "--json")
    assert json.loads(out)["skipped"] is True
    target = ws_dir / "q.csv"
    assert run(capsys, "export", "people.quarantine", str(target))[0] == 0
    quarantined = pl.read_csv(target)
    assert quarantined.select("line", "reason").rows() == [(3, "expected 3 fields, found 2")]


def test_ingest_human_output(ws_dir: Path, bad_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ingest", str(bad_csv), "--name", "people")
    assert code == 0
    assert "rows read 3 = committed 2 + quarantined 1" in out
    assert "people.quarantine@1" in out


def test_strict_exits_1_and_commits_nothing(
    ws_dir: Path, bad_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "ingest", str(bad_csv), "--name", "people", "--strict")
    assert code == 1
    assert "line 3: expected 3 fields, found 2 (--strict: nothing committed)" in err
    assert out == ""
    assert run(capsys, "datasets", "--json")[1].strip() == "[]"


def test_options_reach_the_reader(ws_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "adult.data"
    path.write_text("39, State-gov, ?\n50, ?, 13\n", encoding="utf-8")
    code, _, err = run(
        capsys,
        "ingest",
        str(path),
        "--name",
        "adult",
        "--format",
        "csv",
        "--no-header",
        "--trim",
        "--null-values",
        "?",
        "--columns",
        "age,work,years",
        "--schema",
        "years:float",
        "--json",
    )
    assert code == 0, err
    with Workspace.open(ws_dir) as ws:
        frame = ws.read("adult").select("age", "work", "years")
    assert frame.rows() == [(39, "State-gov", None), (50, None, 13.0)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--meta", "oops"], "'oops' is not KEY=VALUE"),
        (["--schema", "age:integer"], "'age:integer' is not a column type"),
        (["--encoding", "klingon"], "unknown text encoding 'klingon'"),
    ],
)
def test_bad_options(
    ws_dir: Path, bad_csv: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, "ingest", str(bad_csv), "--name", "people", *args)
    assert code == 2
    assert message in err
