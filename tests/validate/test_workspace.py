from pathlib import Path

import polars as pl
import pytest

from datawheel.errors import RefError, ValidationError
from datawheel.pipeline import (
    artifact_path,
    drift_versions,
    infer_version_contract,
    monitor_batches,
    profile_version,
    validate_target,
    version_profile,
)
from datawheel.validate import load_contract, load_profile
from datawheel.workspace import Workspace


def test_profile_is_saved_as_an_artifact_with_lineage(workspace: Workspace, adult: pl.DataFrame) -> None:
    version = workspace.commit("adult", adult)
    saved = profile_version(workspace, "adult", label="income")
    assert saved.artifact.name == "adult@1"
    assert saved.artifact.kind == "profile"
    stored = load_profile(artifact_path(workspace, "profile", "adult"))
    assert stored == saved.profile
    assert stored.class_balance() == saved.profile.class_balance()
    upstream = workspace.lineage.upstream(saved.artifact.id)
    assert {(n.kind, n.name) for n in upstream.nodes} >= {
        ("execution", "profile"),
        ("dataset_version", version.ref),
    }
    assert version_profile(workspace, "adult@1") == saved.profile


def test_contract_validate_and_drift_on_versions(
    workspace: Workspace, adult: pl.DataFrame, tmp_path: Path
) -> None:
    workspace.commit("adult", adult)
    workspace.commit("adult", adult.with_columns((pl.col("age") + 20).alias("age")))
    contract, artifact = infer_version_contract(workspace, "adult@1", tmp_path / "c.yaml")
    assert artifact.kind == "contract"
    assert load_contract(tmp_path / "c.yaml") == contract
    assert validate_target(workspace, "adult@1", contract).ok
    result = validate_target(workspace, "adult@2", contract)
    assert [(a.column, a.check) for a in result.anomalies] == [("age", "max")]
    assert drift_versions(workspace, "adult@1", "adult@2").drifted == ["age"]
    assert drift_versions(workspace, "adult@1", "adult@1").drifted == []


def test_monitor_opens_a_labelling_batch_on_alert(
    workspace: Workspace, adult: pl.DataFrame, tmp_path: Path
) -> None:
    workspace.commit("adult", adult.head(600))
    calm = tmp_path / "calm.csv"
    adult.tail(400).write_csv(calm)
    shifted = tmp_path / "shifted.csv"
    adult.tail(400).with_columns((pl.col("hours-per-week") * 2).alias("hours-per-week")).write_csv(shifted)
    run = monitor_batches(workspace, "adult", [str(calm), str(shifted)], label_on_alert="adult.to_label")
    assert [b.alert for b in run.report.batches] == [False, True]
    assert run.report.batches[1].drift is not None
    assert run.report.batches[1].drift.drifted == ["hours-per-week"]
    assert run.to_label is not None
    rows = workspace.read(run.to_label)
    assert 0 < rows.height <= 400
    assert set(rows["monitor_batch"].to_list()) == {str(shifted)}
    execution = workspace.lineage.execution(run.to_label.execution_id or 0)
    assert execution.step == "monitor"
    assert run.to_dict()["to_label"] == "adult.to_label@1"


def test_bad_input_is_a_clear_error(workspace: Workspace, tmp_path: Path) -> None:
    workspace.commit("empty", pl.DataFrame({"x": []}, schema={"x": pl.Float64}))
    with pytest.raises(ValidationError, match="has no rows"):
        monitor_batches(workspace, "empty", ["empty"])
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    workspace.commit("t", pl.DataFrame({"x": [1.0]}))
    with pytest.raises(ValidationError, match=r"bad\.parquet"):
        monitor_batches(workspace, "t", [str(bad)])
    with pytest.raises(RefError):
        profile_version(workspace, "nope")
