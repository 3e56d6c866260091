import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from datawheel.demo import DEMO_DATA
from datawheel.workspace import Workspace

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py
ADULT = Path(__file__).parents[1] / "data" / "adult" / "adult_head1000.data"
ADULT_COLUMNS = (
    "age,workclass,fnlwgt,education,education_num,marital_status,occupation,relationship,race,sex,"
    "capital_gain,capital_loss,hours_per_week,native_country,income"
)


def test_filter_commits_kept_rows_and_removed_with_reasons(ws_dir: Path, run: Run) -> None:
    code, _, err = run(
        "ingest", str(DEMO_DATA), "--name", "sms", "--format", "tsv", "--no-header", "--columns", "label,text"
    )
    assert code == 0, err
    code, out, err = run(
        "filter", "sms", "--column", "text", "--min-length", "20", "--max-special-ratio", "0.5", "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert (report["version"], report["rows_in"]) == (2, 5574)
    assert report["kept"] + report["removed"] == 5574
    assert report["removed"] > 0
    with Workspace.open(ws_dir) as ws:
        kept, removed = ws.read("sms@2"), ws.read("sms.removed")
        assert kept.height == report["kept"]
        assert removed.height == report["removed"]
        assert set(removed["reason"]) <= {"length<20", "special_ratio>0.5", "empty"}
        assert set(removed["removed_row_id"]) <= set(ws.read("sms@1")["_row_id"])
        assert set(removed["removed_row_id"]).isdisjoint(kept["_row_id"])
        assert (removed["step"].unique().to_list(), removed["execution"].n_unique()) == (["filter"], 1)
        upstream = [n.name for n in ws.lineage.upstream(ws.resolve("sms.removed").artifact_id).nodes]
        assert upstream[:3] == ["sms.removed@1", "filter", "sms@1"]
    code, out, _ = run("diff", "sms@1", "sms@2", "--json")
    assert json.loads(out)["removed"] == report["removed"]


def test_anonymize_adult_to_k5(ws_dir: Path, run: Run) -> None:
    code, _, err = run(
        "ingest",
        str(ADULT),
        "--name",
        "adult",
        "--format",
        "csv",
        "--no-header",
        "--trim",
        "--null-values",
        "?",
        "--columns",
        ADULT_COLUMNS,
    )
    assert code == 0, err
    code, out, err = run(
        "anonymize",
        "adult",
        "--quasi",
        "age,sex,race,native_country",
        "--k",
        "5",
        "--bucket",
        "age=5",
        "--json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["k_reached"] >= 5
    assert report["kept"] + report["removed"] == 1000
    with Workspace.open(ws_dir) as ws:
        kept = ws.read("adult")
        sizes = kept.group_by(["age", "sex", "race", "native_country"]).len()["len"].to_list()
        assert min(sizes) >= 5
        assert ws.read("adult.removed").height == report["removed"] == report["suppressed"]
    code, _, err = run("anonymize", "adult@1", "--quasi", "age", "--k", "5000")
    assert code == 2
    assert "k" in err


def test_filter_needs_a_text_column(ws_dir: Path, run: Run) -> None:
    with Workspace.open(ws_dir) as ws:
        ws.commit("nums", pl.DataFrame({"n": [1, 2]}))
    code, _, err = run("filter", "nums", "--column", "n", "--min-length", "2")
    assert code == 2
    assert "error:" in err
