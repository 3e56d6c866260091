"""The evaluate commands: baseline, evaluate, slices, fairness, plan learning-curve; files and refs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from datawheel.workspace import Workspace

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def predictions_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 3000
    site = rng.choice(["north", "south", "east"], n)
    sex = rng.choice(["f", "m"], n)
    label = rng.integers(0, 2, n)
    wrong = rng.random(n) < np.where(site == "east", 0.4, 0.05)
    prediction = np.where(wrong, 1 - label, label)
    score = np.clip(np.where(prediction == 1, 0.8, 0.2) + rng.normal(0, 0.1, n), 0, 1)
    split = rng.choice(["dev", "test"], n)
    path = tmp_path / "predictions.csv"
    pl.DataFrame(
        {"label": label, "prediction": prediction, "score": score, "site": site, "sex": sex, "split": split}
    ).write_csv(path)
    return path


def test_evaluate_a_file_gives_the_stable_json(run: Run, predictions_file: Path, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    code, out, _ = run(
        "evaluate", str(predictions_file), "--label", "label", "--prediction", "prediction",
        "--score", "score", "--html", str(html), "--json",
    )  # fmt: skip
    assert code == 0
    result = json.loads(out)
    for key in ("accuracy", "f1_macro", "precision_macro", "recall_macro", "confusion_matrix"):
        assert key in result
    frame = pl.read_csv(predictions_file)
    assert result["accuracy"] == pytest.approx((frame["label"] == frame["prediction"]).mean())
    assert sum(map(sum, result["confusion_matrix"])) == 3000
    assert result["roc_auc"] > 0.8
    assert "<svg" in html.read_text()


def test_evaluate_chosen_metrics_on_one_split(run: Run, predictions_file: Path) -> None:
    code, out, _ = run(
        "evaluate", str(predictions_file), "--label", "label", "--prediction", "prediction",
        "--metrics", "accuracy,f1_macro", "--split", "test", "--bootstrap", "0", "--json",
    )  # fmt: skip
    assert code == 0
    result = json.loads(out)
    assert result["rows"] == pl.read_csv(predictions_file).filter(pl.col("split") == "test").height
    assert "roc_auc" not in result


def test_slices_rank_the_failing_site_first(run: Run, predictions_file: Path) -> None:
    code, out, _ = run(
        "slices", str(predictions_file), "--label", "label", "--prediction", "prediction",
        "--by", "site,sex", "--json",
    )  # fmt: skip
    assert code == 0
    first = json.loads(out)["slices"][0]
    assert first["slice"] == "site=east"
    assert {"slice", "count", "metric", "value"} <= set(first)
    code, out, _ = run(
        "slices", str(predictions_file), "--label", "label", "--prediction", "prediction", "--by", "site"
    )
    assert code == 0
    assert "site=east" in out.splitlines()[1]


def test_fairness_json_and_threshold(run: Run, predictions_file: Path) -> None:
    args = [
        "fairness",
        str(predictions_file),
        "--label",
        "label",
        "--prediction",
        "prediction",
        "--group",
        "sex",
    ]
    code, out, _ = run(*args, "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result["groups"]) == {"f", "m"}
    for values in result["groups"].values():
        assert {"selection_rate", "tpr", "fpr", "count"} <= set(values)
    assert "demographic_parity_difference" in result
    assert "equalized_odds_difference" in result
    assert set(result["representation"]["split"]) == {"dev", "test"}
    code, _, _ = run(*args, "--max-difference", "0.0")
    assert code == 1


def test_bad_column_is_a_user_error(run: Run, predictions_file: Path) -> None:
    code, _, err = run("evaluate", str(predictions_file), "--label", "nope", "--prediction", "prediction")
    assert code == 2
    assert "no column 'nope'" in err


def _commit_split_texts(root: Path) -> None:
    rng = np.random.default_rng(1)
    n = 400
    labels = rng.choice(["spam", "ham"], n)
    words = {"spam": ["win", "cash", "prize", "free"], "ham": ["see", "you", "home", "soon"]}
    texts = [" ".join(rng.choice(words[y], 3)) + f" w{rng.integers(0, 50)}" for y in labels]
    split = np.where(np.arange(n) < 240, "train", np.where(np.arange(n) < 320, "dev", "test"))
    with Workspace.open(root) as ws:
        ws.commit("msgs", pl.DataFrame({"text": texts, "label": labels, "split": split}))


def test_baseline_then_evaluate_a_ref(run: Run, ws_dir: Path, tmp_path: Path) -> None:
    _commit_split_texts(ws_dir)
    code, out, err = run("baseline", "msgs", "--label", "label", "--text", "text", "--json")
    assert code == 0, err
    trained = json.loads(out)
    assert trained["model"] == "msgs-baseline@1"
    assert trained["predictions"] == "msgs.predictions@1"
    assert trained["metrics"]["test"]["accuracy"] > 0.9
    code, out, _ = run(
        "evaluate", "msgs.predictions", "--label", "label", "--prediction", "prediction",
        "--score", "score", "--split", "test", "--json",
    )  # fmt: skip
    assert code == 0
    result = json.loads(out)
    assert result["rows"] == 80
    assert result["artifact"] == "msgs.predictions-evaluation@1"
    rules = tmp_path / "rules.toml"
    rules.write_text('default = "ham"\n[[rule]]\nlabel = "spam"\nkeywords = ["win", "cash"]\n')
    code, out, err = run("baseline", "msgs", "--label", "label", "--text", "text", "--rules", str(rules))
    assert code == 0, err
    assert "msgs-baseline@2 (rules)" in out


@pytest.mark.slow
def test_plan_learning_curve(run: Run, ws_dir: Path) -> None:
    _commit_split_texts(ws_dir)
    code, out, err = run(
        "plan", "learning-curve", "msgs", "--label", "label", "--text", "text",
        "--fractions", "0.25,0.5,0.75,1", "--seeds", "1", "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert len(result["points"]) == 4
    assert result["recommendation"]
    assert result["artifact"] == "msgs-learning-curve@1"
