"""Splits in the workspace: committed to NAME.split with lineage, stable across appends, exported."""

from pathlib import Path

import polars as pl
import pytest

from datawheel.errors import SplitError
from datawheel.pipeline import split_dataset, split_name
from datawheel.workspace import Workspace


def sms(n_spam: int = 30, n_ham: int = 70, start: int = 0) -> pl.DataFrame:
    labels = ["spam"] * n_spam + ["ham"] * n_ham
    return pl.DataFrame(
        {"label": labels, "text": [f"message number {start + i}" for i in range(len(labels))]}
    )


def test_split_is_the_next_version_of_name_split_with_lineage_to_its_input(workspace: Workspace) -> None:
    workspace.commit("sms", sms())
    done = split_dataset(workspace, "sms", [0.6, 0.2, 0.2], stratify=["label"], seed=4)
    assert (done.version.ref, done.input.ref) == ("sms.split@1", "sms@1")
    stored = workspace.read("sms.split@1")
    assert stored.height == 100
    assert set(stored["_row_id"]) == set(workspace.read("sms@1")["_row_id"])
    counts = {(s, y): n for s, y, n in stored.group_by("split", "label").len().iter_rows()}
    assert [counts[(s, "spam")] for s in ("train", "dev", "test")] == [18, 6, 6]
    upstream = [n.name for n in workspace.lineage.upstream(done.version.artifact_id).nodes]
    assert upstream[:3] == ["sms.split@1", "split", "sms@1"]
    dumped = done.to_dict()
    assert dumped["version"] == 1
    assert dumped["ref"] == "sms.split@1"
    assert dumped["splits"]["test"] == {
        "rows": 20,
        "share": 0.2,
        "target": 0.2,
        "classes": {"ham": 14, "spam": 6},
    }
    assert dumped["leakage"]["leaked"] is False
    assert split_name("sms.split") == "sms.split"


def test_stable_split_keeps_old_rows_where_they_were_after_an_append(workspace: Workspace) -> None:
    workspace.commit("sms", sms())
    first = workspace.read(split_dataset(workspace, "sms", [0.6, 0.2, 0.2], stable=True, seed=9).version)
    grown = pl.concat([workspace.read("sms@1").drop("_row_hash"), sms(20, 80, start=1000)], how="diagonal")
    workspace.commit("sms", grown)
    second = split_dataset(workspace, "sms@2", [0.6, 0.2, 0.2], stable=True, seed=9)
    assert (second.version.ref, second.report.rows) == ("sms.split@2", 200)
    after = workspace.read(second.version)
    joined = first.select("_row_id", "split").join(
        after.select("_row_id", "split"), on="_row_id", suffix="_2"
    )
    assert joined.height == 100
    assert (joined["split"] == joined["split_2"]).all()


def test_leakage_is_found_and_reported_with_examples(workspace: Workspace) -> None:
    frame = pl.DataFrame(
        {
            "user": [f"u{i // 2}" for i in range(40)],
            "text": ["the same spam text again and again"] * 10
            + [f"a different message about topic {i} with words" for i in range(30)],
        }
    )
    workspace.commit("msgs", frame)
    done = split_dataset(workspace, "msgs", [0.5, 0.5], content=["text"], near="text", seed=0)
    leak = done.to_dict()["leakage"]
    assert leak["leaked"] is True
    assert leak["exact"]["found"] == 1
    assert leak["exact"]["rows"] == 10
    assert leak["near"]["found"] >= 1
    grouped = split_dataset(workspace, "msgs", [0.5, 0.5], group="user", seed=0)
    assert grouped.to_dict()["leakage"]["group"]["found"] == 0


def test_export_writes_a_file_per_split_recorded_in_lineage(workspace: Workspace, tmp_path: Path) -> None:
    workspace.commit("sms", sms())
    done = split_dataset(
        workspace, "sms", [0.6, 0.2, 0.2], stratify=["label"], export=tmp_path / "out", export_format="csv"
    )
    assert sorted(Path(p).name for p in done.exports.values()) == ["dev.csv", "test.csv", "train.csv"]
    train = pl.read_csv(done.exports["train"])
    assert train.columns == ["label", "text"]
    assert train.height == 60
    downstream = {n.name for n in workspace.lineage.downstream(workspace.artifact("sms@1").id).nodes}
    assert set(done.exports.values()) <= downstream


def test_a_missing_column_fails_the_step_with_a_clear_error(workspace: Workspace) -> None:
    workspace.commit("sms", sms())
    with pytest.raises(SplitError, match="no column 'labels'"):
        split_dataset(workspace, "sms", [0.6, 0.2, 0.2], stratify=["labels"])
    assert not any(d.name == "sms.split" for d in workspace.datasets())
