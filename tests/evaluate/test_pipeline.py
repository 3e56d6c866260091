"""Baselines, evaluations, slices, fairness and learning curves in a workspace, with lineage."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from datawheel.errors import EvaluationError
from datawheel.evaluate import parse_rules
from datawheel.ingest import ReadOptions
from datawheel.models import Baseline
from datawheel.pipeline import (
    MODEL,
    artifact_path,
    evaluate_dataset,
    fairness_dataset,
    ingest,
    plan_learning_curve,
    resolve_artifact,
    slice_dataset,
    train_baseline,
)
from datawheel.workspace import Workspace


def _split_sms(workspace: Workspace, sms_file: Path, rows: int = 1500) -> str:
    """The first ``rows`` SMS, ingested (with provenance), split 60/20/20 by line, with a batch column."""
    ingest(workspace, sms_file, name="sms", options=ReadOptions(has_header=False, columns=("label", "text")))
    frame = workspace.read("sms").head(rows)
    line = pl.col("_source").struct.field("line")
    frame = frame.with_columns(
        split=pl.when(line % 5 < 3)
        .then(pl.lit("train"))
        .when(line % 5 == 3)
        .then(pl.lit("dev"))
        .otherwise(pl.lit("test")),
        batch=pl.format("b{}", line % 4),
    )
    return workspace.commit("sms", frame, message="split").ref


def test_baseline_saves_model_and_predictions_with_lineage(workspace: Workspace, sms_file: Path) -> None:
    ref = _split_sms(workspace, sms_file)
    report = train_baseline(workspace, ref, label="label", text="text")
    assert report.model.name == "sms-baseline@1"
    assert report.model.kind == MODEL
    assert report.train_rows == 900
    props = report.model.properties
    assert props["trained_on"] == ref
    assert props["parameters"]["text"] == "text"
    assert props["metrics"]["test"]["accuracy"] > 0.9
    assert set(props["metrics"]) == {"train", "dev", "test"}
    # the model loads back and predicts what was committed
    model = Baseline.from_bytes(artifact_path(workspace, MODEL, "sms-baseline").read_bytes())
    predictions = workspace.read(report.predictions)
    assert predictions.height == 1500
    assert predictions["prediction"].to_list()[:50] == model.predict(predictions.head(50)).to_list()
    assert predictions["score"].dtype == pl.Float64
    # lineage: the predictions and the model come from the split version
    for artifact_id in (report.predictions.artifact_id, report.model.id):
        assert ref in {a.name for a in workspace.lineage.upstream(artifact_id).artifacts()}
    execution = workspace.lineage.execution(report.predictions.execution_id or 0)
    assert execution.step == "baseline"


def test_evaluation_slices_and_reports_are_saved(
    workspace: Workspace, sms_file: Path, tmp_path: Path
) -> None:
    ref = _split_sms(workspace, sms_file)
    predictions = train_baseline(workspace, ref, label="label", text="text").predictions.ref
    result, saved = evaluate_dataset(
        workspace,
        predictions,
        label="label",
        prediction="prediction",
        score="score",
        split_value="test",
        html=tmp_path / "eval.html",
        bootstrap=200,
    )
    assert result.rows == 300
    assert saved.artifact is not None
    assert saved.artifact.name == "sms.predictions-evaluation@1"
    stored = json.loads(artifact_path(workspace, "evaluation", "sms.predictions-evaluation").read_text())
    assert stored["accuracy"] == result.metrics["accuracy"]
    assert stored["roc_auc"] > 0.9
    page = (tmp_path / "eval.html").read_text()
    assert "Confusion matrix" in page
    assert "<svg" in page
    assert saved.report is not None
    assert resolve_artifact(workspace, "report", "sms.predictions-evaluation-report")
    found, saved_slices = slice_dataset(
        workspace, predictions, label="label", prediction="prediction", by=["batch", "label"], score="score"
    )
    assert found.slices
    assert saved_slices.artifact is not None
    assert {s.columns for s in found.slices} == {("batch",), ("label",), ("batch", "label")}
    # examples carry their provenance back to the file and line
    explained = next(s for s in found.slices if s.examples)
    assert explained.examples[0]["_source"]["line"] > 0


def test_rules_baseline_and_fairness(workspace: Workspace, sms_file: Path) -> None:
    ref = _split_sms(workspace, sms_file, rows=600)
    rules = parse_rules(
        {
            "default": "ham",
            "column": "text",
            "rule": [{"label": "spam", "keywords": ["free", "txt", "claim", "prize", "call"]}],
        }
    )
    report = train_baseline(workspace, ref, label="label", rules=rules, name="sms-rules")
    assert report.kind == "rules"
    assert report.model.name == "sms-rules@1"
    assert 0.6 < report.metrics["test"]["accuracy"] < 1.0
    stored = json.loads(artifact_path(workspace, MODEL, "sms-rules").read_text())
    assert stored["rule"][0]["keywords"][0] == "free"
    result, _ = fairness_dataset(
        workspace,
        report.predictions.ref,
        label="label",
        prediction="prediction",
        group="batch",
        positive="spam",
        split_value="test",
    )
    assert sum(g.count for g in result.groups) == 120
    assert set(result.representation["split"]) == {"train", "dev", "test"}


@pytest.mark.slow
def test_learning_curve_is_saved(workspace: Workspace, sms_file: Path) -> None:
    ref = _split_sms(workspace, sms_file, rows=800)
    curve, saved = plan_learning_curve(
        workspace, ref, label="label", text="text", fractions=[0.2, 0.4, 0.7, 1.0], seeds=[0]
    )
    assert len(curve.points) == 4
    assert curve.recommendation
    assert saved.artifact is not None
    assert saved.artifact.kind == "learning-curve"
    stored = json.loads(artifact_path(workspace, "learning-curve", "sms-learning-curve").read_text())
    assert stored["recommendation"] == curve.recommendation


def test_baseline_needs_a_split(workspace: Workspace) -> None:
    workspace.commit("t", pl.DataFrame({"text": ["a", "b"], "label": ["x", "y"]}))
    with pytest.raises(EvaluationError, match="no column 'split'"):
        train_baseline(workspace, "t", label="label", text="text")
