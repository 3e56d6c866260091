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


def test_dedup_sms_exact_and_near(ws_dir: Path, run: Run) -> None:
    code, _, err = run(
        "ingest", str(DEMO_DATA), "--name", "sms", "--format", "tsv", "--no-header", "--columns", "label,text"
    )
    assert code == 0, err
    with Workspace.open(ws_dir) as ws:
        texts = ws.read("sms@1")["text"]
    repeats = texts.len() - texts.n_unique()  # rows whose exact text came earlier
    code, out, err = run("dedup", "sms@1", "--column", "text", "--exact", "--json")
    assert code == 0, err
    exact = json.loads(out)
    assert exact["kept"] + exact["removed"] == 5574
    assert exact["removed"] >= repeats  # normalising case and spaces finds these and a few more
    code, out, err = run("dedup", "sms@1", "--column", "text", "--threshold", "0.8", "--json")
    assert code == 0, err
    near = json.loads(out)
    assert near["removed"] >= exact["removed"]
    assert near["clusters"] > 0
    with Workspace.open(ws_dir) as ws:
        kept_ids = set(ws.read(near["ref"])["_row_id"])
        removed = ws.read("sms.removed").filter(pl.col("execution") == near["execution"])
        assert removed.height == near["removed"]
        assert set(removed["duplicate_of"]) <= kept_ids
        assert removed["similarity"].min() > 0  # type: ignore[operator]


def test_redact_keeps_rows_and_records_findings_without_values(ws_dir: Path, run: Run) -> None:
    secrets = ["ann@example.com", "010-1234-5678", "4111 1111 1111 1111"]
    with Workspace.open(ws_dir) as ws:
        ws.commit(
            "notes",
            pl.DataFrame({"text": [f"mail {secrets[0]}", f"call {secrets[1]}", f"card {secrets[2]}", "hi"]}),
        )
    code, out, err = run("redact", "notes", "--column", "text", "--mode", "tag", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["version"], report["kept"], report["removed"]) == (2, 4, 0)
    assert report["findings"] == {"EMAIL": 1, "PHONE": 1, "CREDIT_CARD": 1}
    assert not any(s in out for s in secrets)
    with Workspace.open(ws_dir) as ws:
        text = ws.read("notes@2")["text"].to_list()
        assert text == ["mail <EMAIL>", "call <PHONE>", "card <CREDIT_CARD>", "hi"]
        findings = ws.read(report["outputs"]["pii_findings"])
        assert findings.height == 3
        dumped = findings.write_csv()
        assert not any(s in dumped for s in secrets)
    code, _, err = run("redact", "notes@1", "--column", "text", "--mode", "hash")
    assert code == 2
    assert "salt" in err
    assert not any(s in err for s in secrets)
