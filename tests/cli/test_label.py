"""`datawheel label …`: the stable --json shapes, the lineage of each step, and user errors."""

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from tests.cli.conftest import Run


def crowd_file(folder: Path, items: int = 80) -> Path:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, items)
    rows = [
        (i, name, int(truth[i]) if rng.random() < accuracy else int(rng.integers(0, 3)))
        for name, accuracy in (("ann", 0.9), ("bo", 0.8), ("cy", 0.7))
        for i in range(items)
    ]
    path = folder / "votes.csv"
    pl.DataFrame(rows, schema=["item", "annotator", "label"], orient="row").write_csv(path)
    return path


def sms_csv(sms_file: Path, folder: Path, rows: int = 600) -> Path:
    frame = pl.read_csv(
        sms_file, separator="\t", has_header=False, new_columns=["label", "text"], quote_char=None
    )
    path = folder / "sms.csv"
    frame.head(rows).with_row_index("id").write_csv(path)
    return path


def test_agreement_json(run: Run, ws_dir: Path) -> None:
    code, out, _ = run("label", "agreement", str(crowd_file(ws_dir)), "--json")
    assert code == 0
    result = json.loads(out)
    assert {"fleiss_kappa", "krippendorff_alpha", "percent_agreement"} <= result.keys()
    assert 0.3 < result["krippendorff_alpha"] < 0.9
    assert len(result["cohen_kappa"]) == 3
    assert result["outputs"] == {"agreement": "votes.agreement@1"}


def test_agreement_text_and_its_lineage(run: Run, ws_dir: Path) -> None:
    code, out, _ = run("label", "agreement", str(crowd_file(ws_dir)), "--level", "ordinal")
    assert code == 0
    assert "Krippendorff's alpha (ordinal)" in out
    code, out, _ = run("lineage", "votes.agreement", "--upstream", "--format", "json")
    assert code == 0
    assert "label-agreement" in out


@pytest.mark.parametrize("method", ["majority", "dawid-skene"])
def test_aggregate_json(run: Run, ws_dir: Path, method: str) -> None:
    code, out, _ = run("label", "aggregate", str(crowd_file(ws_dir)), "--method", method, "--json")
    assert code == 0, out
    result = json.loads(out)
    assert len(result["labels"]) == 80
    assert {"item", "label", "confidence"} <= result["labels"][0].keys()
    assert [a["annotator"] for a in result["annotators"]] == ["ann", "bo", "cy"]


@pytest.mark.slow
def test_issues_json_names_rows_by_row_id_and_key(run: Run, ws_dir: Path, sms_file: Path) -> None:
    frame = pl.read_csv(sms_csv(sms_file, ws_dir, rows=300))
    flipped = frame.with_columns(
        pl.when(pl.col("id").is_in([3, 10, 17]))
        .then(pl.lit("spam"))
        .otherwise(pl.col("label"))
        .alias("label")
    )
    flipped.write_csv(ws_dir / "noisy.csv")
    assert run("ingest", str(ws_dir / "noisy.csv"), "--name", "sms", "--key", "id")[0] == 0
    code, out, _ = run("label", "issues", "sms", "--label", "label", "--text", "text", "--json")
    assert code == 0, out
    result = json.loads(out)
    issues = result["issues"]
    assert {"row_id", "score", "id"} <= issues[0].keys()
    assert [i["score"] for i in issues] == sorted(i["score"] for i in issues)
    assert {3, 10, 17} & {i["id"] for i in issues}
    assert result["outputs"] == {"review": "sms.review@1"}


@pytest.mark.slow
def test_suggest_next_batch_and_weak(run: Run, ws_dir: Path, sms_file: Path) -> None:
    frame = pl.read_csv(sms_csv(sms_file, ws_dir))
    part = frame.with_columns(pl.when(pl.col("id") % 5 == 0).then(None).otherwise(pl.col("label")).alias("y"))
    part.write_csv(ws_dir / "part.csv")
    assert run("ingest", str(ws_dir / "part.csv"), "--name", "part", "--key", "id")[0] == 0
    code, out, _ = run("label", "suggest", "part", "--label", "y", "--text", "text", "--json")
    assert code == 0, out
    assert len(json.loads(out)["suggestions"]) == 120
    code, out, _ = run(
        "label", "next-batch", "part", "--label", "y", "--text", "text", "--size", "7", "--json"
    )
    assert code == 0, out
    batch = json.loads(out)["batch"]
    assert [b["rank"] for b in batch] == list(range(1, 8))
    assert all(b["id"] % 5 == 0 for b in batch)
    rules = ws_dir / "rules.toml"
    rules.write_text(
        "[[lf]]\nname='money'\ncolumn='text'\nlabel='spam'\nkeywords=['cash','prize','win','free']\n"
        "[[lf]]\nname='chat'\ncolumn='text'\nlabel='ham'\nkeywords=['i','you','me','ok']\n",
        encoding="utf-8",
    )
    code, out, _ = run("label", "weak", "part", "--lf", str(rules), "--gold", "label")
    assert code == 0, out
    assert "label model" in out
    assert "majority vote" in out


def test_user_errors_exit_2(run: Run, ws_dir: Path) -> None:
    path = ws_dir / "one.csv"
    pl.DataFrame({"item": [1, 2], "annotator": ["x", "x"], "label": ["a", "b"]}).write_csv(path)
    code, _, err = run("label", "agreement", str(path))
    assert code == 2
    assert "two annotators" in err
    code, _, err = run("label", "aggregate", str(path), "--labels", "a,c")
    assert code == 2
    assert "outside the label set" in err
    code, _, err = run("label", "issues", "nosuch", "--text", "text")
    assert code == 2
