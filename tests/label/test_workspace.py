"""The label steps in a workspace: versions committed, lineage recorded (SQLite and PostgreSQL)."""

from pathlib import Path

import polars as pl
import pytest

from datawheel.errors import LabelError
from datawheel.pipeline import (
    aggregate_labels,
    artifact_path,
    find_label_issues,
    measure_agreement,
    select_next_batch,
    suggest_labels,
    weak_label_dataset,
)
from datawheel.workspace import Workspace

from .conftest import simulate_crowd


def test_aggregate_commits_labels_and_annotators_with_lineage(workspace: Workspace) -> None:
    frame, _ = simulate_crowd(items=200)
    workspace.commit("votes", frame)
    report = aggregate_labels(workspace, "votes", method="dawid-skene")
    assert report.outputs == {"labels": "votes.labels@1", "annotators": "votes.annotators@1"}
    labels = workspace.read("votes.labels")
    assert labels.height == 200
    assert set(labels["method"].to_list()) == {"dawid-skene"}
    execution = workspace.lineage.execution(report.execution or 0)
    assert execution.step == "label-aggregate"
    assert execution.status == "completed"
    assert workspace.resolve("votes.labels").execution_id == report.execution


def test_agreement_from_a_file_records_the_file(workspace: Workspace, tmp_path: Path) -> None:
    frame, _ = simulate_crowd(items=100)
    path = tmp_path / "crowd votes.csv"
    frame.write_csv(path)
    report = measure_agreement(workspace, path)
    assert report.result["annotators"] == 5
    assert report.outputs == {"agreement": "crowd_votes.agreement@1"}
    assert workspace.read("crowd_votes.agreement").height == 10
    assert workspace.lineage.find_artifacts("file", str(path.resolve()))


def test_unknown_items_from_an_items_ref_are_an_error(workspace: Workspace) -> None:
    workspace.commit(
        "votes", pl.DataFrame({"item": [1, 1, 7, 7], "annotator": ["x", "y"] * 2, "label": ["a"] * 4})
    )
    workspace.commit("things", pl.DataFrame({"item": [1, 2]}))
    with pytest.raises(LabelError, match="not among the known items"):
        aggregate_labels(workspace, "votes", items="things")


def test_issues_become_a_review_set_named_by_row_id_and_key(workspace: Workspace) -> None:
    frame = pl.DataFrame(
        {
            "id": list(range(8)),
            "label": ["a", "a", "a", "b", "b", "b", "a", "b"],
            "p_a": [0.9, 0.8, 0.95, 0.1, 0.2, 0.15, 0.05, 0.3],
        }
    ).with_columns((1 - pl.col("p_a")).alias("p_b"))
    version = workspace.commit("rows", frame, key=["id"])
    report = find_label_issues(workspace, "rows", label="label", probabilities=["p_a", "p_b"])
    (issue,) = report.result["issues"]
    ids = workspace.read(version).filter(pl.col("id") == 6)["_row_id"].to_list()
    assert (issue["row_id"], issue["id"], issue["rank"]) == (ids[0], 6, 1)
    review = workspace.read(report.outputs["review"])
    assert review.columns[:2] == ["row_id", "id"]


def test_suggest_saves_the_model_and_next_batch_commits(workspace: Workspace) -> None:
    texts = ["win cash now", "see you soon", "cash prize", "lunch at noon"] * 6
    labels = ["spam", "ham", "spam", "ham"] * 5 + [None] * 4
    workspace.commit("msgs", pl.DataFrame({"text": texts, "y": labels}))
    report = suggest_labels(workspace, "msgs", label="y", text="text")
    assert workspace.read("msgs.suggestions")["suggested_label"].to_list() == ["spam", "ham", "spam", "ham"]
    from datawheel.models import Baseline

    model = Baseline.from_bytes(artifact_path(workspace, "model", "msgs-suggest").read_bytes())
    assert model.classes == ("ham", "spam")
    assert report.outputs["model"] == "msgs-suggest@1"
    batch = select_next_batch(workspace, "msgs", label="y", text="text", size=2)
    assert workspace.read(batch.outputs["batch"]).height == 2


def test_weak_labels_commit_votes_and_analysis(workspace: Workspace, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        "[[lf]]\nname='cash'\ncolumn='text'\nlabel='spam'\nkeywords=['cash']\n"
        "[[lf]]\nname='you'\ncolumn='text'\nlabel='ham'\nkeywords=['you']\n",
        encoding="utf-8",
    )
    workspace.commit("msgs", pl.DataFrame({"text": ["cash now", "see you", "cash for you", "hm"]}))
    report = weak_label_dataset(workspace, "msgs", functions=rules)
    weak = workspace.read(report.outputs["weak"])
    assert {"row_id", "label", "confidence", "lf_cash", "lf_you"} <= set(weak.columns)
    assert workspace.read(report.outputs["analysis"])["function"].to_list() == ["cash", "you"]
