import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from datawheel.workspace import Workspace

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py


@pytest.fixture
def bad_csv(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_bytes("id,name,city\n1,Ann,Seoul\n2,Bo\n3,Cy,Busan\n".encode("cp949"))
    return path


def test_ingest_json_shape_with_quarantine(ws_dir: Path, bad_csv: Path, run: Run) -> None:
    code, out, err = run("ingest", str(bad_csv), "--name", "people", "--meta", "site=a", "--json")
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
    code, out, _ = run("ingest", str(bad_csv), "--name", "people", "--meta", "site=a", "--json")
    assert json.loads(out)["skipped"] is True
    target = ws_dir / "q.csv"
    assert run("export", "people.quarantine", str(target))[0] == 0
    quarantined = pl.read_csv(target)
    assert quarantined.select("line", "reason").rows() == [(3, "expected 3 fields, found 2")]


def test_ingest_human_output(ws_dir: Path, bad_csv: Path, run: Run) -> None:
    code, out, _ = run("ingest", str(bad_csv), "--name", "people")
    assert code == 0
    assert "rows read 3 = committed 2 + quarantined 1" in out
    assert "people.quarantine@1" in out


def test_strict_exits_1_and_commits_nothing(ws_dir: Path, bad_csv: Path, run: Run) -> None:
    code, out, err = run("ingest", str(bad_csv), "--name", "people", "--strict")
    assert code == 1
    assert "line 3: expected 3 fields, found 2 (--strict: nothing committed)" in err
    assert out == ""
    assert run("datasets", "--json")[1].strip() == "[]"


def test_options_reach_the_reader(ws_dir: Path, tmp_path: Path, run: Run) -> None:
    path = tmp_path / "adult.data"
    path.write_text("39, State-gov, ?\n50, ?, 13\n", encoding="utf-8")
    code, _, err = run(
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
def test_bad_options(ws_dir: Path, bad_csv: Path, run: Run, args: list[str], message: str) -> None:
    code, _, err = run("ingest", str(bad_csv), "--name", "people", *args)
    assert code == 2
    assert message in err


def test_a_folder_of_shards_with_its_format(ws_dir: Path, tmp_path: Path, run: Run) -> None:
    folder = tmp_path / "train"
    folder.mkdir()
    for number in range(2):
        pl.DataFrame({"n": [number * 10, number * 10 + 1]}).write_parquet(folder / f"part-{number}.parquet")
    (folder / "dataset_info.json").write_text('{"about": "not a shard"}')
    code, out, err = run("ingest", str(folder), "--name", "train", "--format", "parquet")
    assert code == 0, err
    assert f"4 rows read from {folder.resolve()} (2 files)," in out
    code, out, _ = run("ingest", str(folder / "*.parquet"), "--name", "again", "--json")
    assert (code, json.loads(out)["files"], json.loads(out)["rows"]) == (0, 2, 4)


def test_a_repeated_key_is_quarantined_not_fatal(ws_dir: Path, tmp_path: Path, run: Run) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,name\n1,Ann\n2,Bo\n1,Cy\n", encoding="utf-8")
    code, out, err = run("ingest", str(path), "--name", "people", "--key", "id", "--json")
    assert code == 0, err
    assert {k: json.loads(out)[k] for k in ("rows_read", "rows", "quarantined")} == {
        "rows_read": 3,
        "rows": 2,
        "quarantined": 1,
    }
    target = tmp_path / "q.csv"
    assert run("export", "people.quarantine", str(target))[0] == 0
    assert pl.read_csv(target).select("line", "reason").rows() == [(4, "key id=1 is already on line 2")]
    code, _, err = run("ingest", str(path), "--name", "other", "--key", "id", "--strict")
    assert code == 1
    assert "people.csv, line 4: key id=1 is already on line 2 (--strict: nothing committed)" in err


def test_show_finds_a_row_by_id_and_says_where_it_came_from(ws_dir: Path, tmp_path: Path, run: Run) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,name\n1,Ann\n2,Bo\n", encoding="utf-8")
    assert run("ingest", str(path), "--name", "people", "--key", "id")[0] == 0
    code, out, _ = run("show", "people", "--json")
    ids = {r["name"]: r["_row_id"] for r in json.loads(out)["rows"]}
    code, out, err = run("show", "people", "--row", ids["Bo"][:12].upper())
    assert code == 0, err
    last_cells = [line.split("│")[-2].strip() for line in out.splitlines() if line.count("│") > 2]
    assert "".join(last_cells).endswith("people.csv:3")  # the file (folded to the cell's width), the line
    assert "Ann" not in out
    code, out, _ = run("show", "people", "--row", ids["Bo"][:12], "--json")
    assert [r["name"] for r in json.loads(out)["rows"]] == ["Bo"]
    code, _, err = run("show", "people", "--row", "xyz")
    assert (code, "is not the start of a row id" in err) == (2, True)
    unused = next(p for p in "0123456789abcdef" if not any(i.startswith(p) for i in ids.values()))
    code, _, err = run("show", "people", "--row", unused)
    assert (code, f"no row of people@1 has an id starting with '{unused}'" in err) == (2, True)


def test_update_replaces_rows_by_key(ws_dir: Path, tmp_path: Path, run: Run) -> None:
    first, fixes = tmp_path / "people.csv", tmp_path / "fixes.csv"
    first.write_text("id,name\n1,Ann\n2,Bo\n", encoding="utf-8")
    fixes.write_text("id,name\n2,Bob\n3,Cy\n", encoding="utf-8")
    assert run("ingest", str(first), "--name", "people", "--key", "id")[0] == 0
    code, out, err = run("ingest", str(fixes), "--name", "people", "--update")
    assert code == 0, err
    assert "of these, 1 replaced a row with the same key: datawheel diff people@1 people@2" in out
    code, out, _ = run("diff", "people@1", "people@2", "--json")
    assert {k: json.loads(out)[k] for k in ("added", "removed", "changed")} == {
        "added": 1,
        "removed": 0,
        "changed": 1,
    }
    other = tmp_path / "other.csv"
    other.write_text("id,name\n9,Zed\n", encoding="utf-8")
    assert run("ingest", str(other), "--name", "nokey")[0] == 0
    code, _, err = run("ingest", str(other), "--name", "nokey", "--update", "--json")
    assert (code, "--update replaces rows by their key" in err) == (2, True)
