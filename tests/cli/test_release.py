import json
import shutil
from pathlib import Path

from datawheel.demo import DEMO_DATA

from .conftest import Run


def _released(run: Run, ws_dir: Path) -> dict[str, object]:
    shutil.copyfile(DEMO_DATA, ws_dir / "sms.tsv")
    assert run("ingest", "sms.tsv", "--name", "sms", "--no-header", "--columns", "label,text")[0] == 0
    assert run("dedup", "sms", "-c", "text", "--exact")[0] == 0
    code, out, _ = run("release", "v1", "--datasets", "sms", "sms.removed", "--archive", "--json")
    assert code == 0
    shown: dict[str, object] = json.loads(out)
    return shown


def test_release_verify_reproduce_json(run: Run, ws_dir: Path) -> None:
    shown = _released(run, ws_dir)
    bundle = Path(str(shown["bundle"]))
    assert bundle == ws_dir / "releases" / "v1"
    assert shown["files"] == len([p for p in bundle.rglob("*") if p.is_file()])
    assert shown["datasets"] == ["sms@2", "sms.removed@1"]
    code, out, _ = run("verify", str(bundle), "--json")
    assert code == 0
    assert json.loads(out)["ok"] is True
    code, out, _ = run("verify", f"{bundle}.tar.gz", "--json")
    assert (code, json.loads(out)["problems"]) == (0, [])
    code, out, _ = run("reproduce", "v1", "--json")
    assert code == 0
    assert json.loads(out)["identical"] is True


def test_verify_exits_1_naming_the_changed_file(run: Run, ws_dir: Path) -> None:
    bundle = Path(str(_released(run, ws_dir)["bundle"]))
    page = bundle / "quality.html"
    data = bytearray(page.read_bytes())
    data[-5] ^= 0x20
    page.write_bytes(bytes(data))
    code, out, _ = run("verify", str(bundle), "--json")
    assert code == 1
    shown = json.loads(out)
    assert shown["ok"] is False
    assert shown["problems"] == [
        {"file": "quality.html", "problem": "checksum differs: the file was changed"}
    ]
    code, _, err = run("push", "v1", str(ws_dir / "remote"))
    assert code == 2
    assert "fails its manifest: quality.html" in err


def test_push_and_pull(run: Run, ws_dir: Path, tmp_path: Path) -> None:
    _released(run, ws_dir)
    assert run("push", "v1", str(tmp_path / "remote"))[0] == 0
    code, out, _ = run("pull", str(tmp_path / "remote"), "v1", "--into", str(tmp_path / "copy"), "--json")
    assert code == 0
    assert json.loads(out)["ok"] is True
    assert (tmp_path / "copy" / "v1" / "datasheet.md").is_file()


def test_release_errors_are_one_line(run: Run, ws_dir: Path) -> None:
    code, _, err = run("release", "v1", "--datasets", "nothing")
    assert code == 2
    assert err.startswith("error: ")
    code, _, err = run("release", "v1", "--datasets", "x", "--formats", "xml")
    assert code == 2
    assert "'xml' is not one of parquet, csv, jsonl" in err
