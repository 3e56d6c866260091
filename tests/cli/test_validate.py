import json
from pathlib import Path

import polars as pl
import pytest
from tests.cli.conftest import Run
from tests.validate.conftest import read_adult


@pytest.fixture
def adult_ws(ws_dir: Path, run: Run, tmp_path: Path) -> Path:
    adult = read_adult()
    adult.write_csv(tmp_path / "adult.csv")
    adult.with_columns((pl.col("age") + 20).alias("age")).write_csv(tmp_path / "older.csv")
    for name in ("adult", "older"):
        code, _, err = run("ingest", str(tmp_path / f"{name}.csv"), "--name", name)
        assert code == 0, err
    return tmp_path


def test_profile_json_and_html(adult_ws: Path, run: Run) -> None:
    code, out, _ = run("profile", "adult", "--label", "income", "--json", "--html", str(adult_ws / "p.html"))
    assert code == 0
    shape = json.loads(out)
    assert shape["rows"] == 1000
    age = shape["columns"]["age"]
    assert {"count", "nulls", "min", "max", "mean"} <= set(age)
    assert shape["artifact"] == "adult@1"
    assert "<svg" in (adult_ws / "p.html").read_text(encoding="utf-8")


def test_contract_infer_then_validate(adult_ws: Path, run: Run) -> None:
    contract = adult_ws / "c.yaml"
    code, out, _ = run("contract", "infer", "adult", "-o", str(contract))
    assert code == 0, out
    assert contract.exists()
    code, out, _ = run("validate", "adult", "--contract", str(contract), "--json")
    assert code == 0
    assert json.loads(out)["ok"] is True
    code, out, _ = run("validate", str(adult_ws / "older.csv"), "--contract", str(contract), "--json")
    assert code == 1
    shape = json.loads(out)
    assert shape["ok"] is False
    assert [(a["column"], a["check"], a["severity"]) for a in shape["anomalies"]] == [("age", "max", "error")]
    code, out, _ = run("validate", "older", "--contract", str(contract), "--html", str(adult_ws / "v.html"))
    assert code == 1
    assert "age max" in out
    assert "age: max" in (adult_ws / "v.html").read_text(encoding="utf-8")


def test_drift_json_and_exit_codes(adult_ws: Path, run: Run) -> None:
    code, out, _ = run("drift", "adult", "older", "--json", "--html", str(adult_ws / "d.html"))
    assert code == 1
    shape = json.loads(out)
    assert shape["drifted"] == ["age"]
    assert {"metric", "value", "threshold", "drifted"} <= set(shape["columns"]["age"])
    code, out, _ = run("drift", "adult", "adult")
    assert code == 0
    assert "0 of 15 columns drifted" in out
    code, out, _ = run("drift", "adult", "older", "--by", "sex", "--json")
    assert code == 1
    assert json.loads(out)["drifted"] == ["age"]


def test_monitor_alerts_and_opens_a_labelling_batch(adult_ws: Path, run: Run) -> None:
    code, out, _ = run(
        "monitor",
        "--reference",
        "adult",
        str(adult_ws / "older.csv"),
        "--label-on-alert",
        "adult.to_label",
        "--json",
    )
    assert code == 1
    shape = json.loads(out)
    assert shape["alert"] is True
    assert shape["batches"][0]["drifted"] == ["age"]
    assert shape["to_label"] == "adult.to_label@1"
    code, out, _ = run("monitor", "--reference", "adult", str(adult_ws / "adult.csv"))
    assert code == 0, out


def test_user_errors_exit_2(adult_ws: Path, run: Run) -> None:
    (adult_ws / "other.yaml").write_text("columns:\n  sms: {type: string}\n", encoding="utf-8")
    code, _, err = run("validate", "adult", "--contract", str(adult_ws / "other.yaml"))
    assert code == 2
    assert "another table" in err
    code, _, err = run("profile", "nope")
    assert code == 2
    code, _, err = run("drift", "adult", "older", "--by", "nope")
    assert code == 2
    assert "no column 'nope'" in err
