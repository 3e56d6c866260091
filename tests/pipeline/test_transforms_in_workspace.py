import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from datawheel.errors import RefError
from datawheel.pipeline import TRANSFORM, fit_transform, load_transform, transform_path
from datawheel.transform import NormalizeText, Standardize, Transform, Vocabulary
from datawheel.workspace import Workspace

FEATURES = Transform([NormalizeText("text"), Vocabulary("label"), Standardize("length")])


def _train(ws: Workspace) -> None:
    ws.commit(
        "train",
        pl.DataFrame({"text": [" Hi  THERE", "win NOW"], "label": ["ham", "spam"], "length": [10.0, 7.0]}),
    )


def test_fitted_transform_is_a_versioned_artifact_with_lineage(workspace: Workspace) -> None:
    _train(workspace)
    first = fit_transform(workspace, FEATURES, "train@1", name="features")
    assert (first.kind, first.name, first.properties["fitted_on"]) == (TRANSFORM, "features@1", "train@1")
    upstream = workspace.lineage.upstream(first.id)
    assert [n.name for n in upstream.nodes if n.kind != "execution"] == ["features@1", "train@1"]
    assert [n.name for n in upstream.nodes if n.kind == "execution"] == ["fit-transform"]
    assert [a.name for a in workspace.lineage.impact(workspace.resolve("train@1").artifact_id)] == [
        "features@1"
    ]
    workspace.commit("train", pl.DataFrame({"text": ["a"], "label": ["ham"], "length": [1.0]}))
    second = fit_transform(workspace, FEATURES, "train", name="features")
    assert second.name == "features@2"
    assert load_transform(workspace, "features@1").source == {"dataset": "train@1"}
    assert load_transform(workspace, "features").source == {"dataset": "train@2"}
    with pytest.raises(RefError, match="has no version 3"):
        transform_path(workspace, "features@3")
    with pytest.raises(RefError, match="no transform 'nope'"):
        load_transform(workspace, "nope")


def test_fresh_process_applies_the_saved_file_identically(workspace: Workspace, tmp_path: Path) -> None:
    _train(workspace)
    fit_transform(workspace, FEATURES, "train@1", name="features")
    shipped = tmp_path / "features.json"
    shipped.write_bytes(transform_path(workspace, "features@1").read_bytes())  # copied out, as to a server
    serving = pl.DataFrame({"text": ["HI there ", "spam?"], "label": ["spam", "eggs"], "length": [8.5, 1.0]})
    serving.write_parquet(tmp_path / "batch.parquet")
    expected = load_transform(workspace, "features@1").apply(serving)
    code = (
        "import sys, polars as pl\nfrom datawheel.transform import Transform\n"
        "batch = pl.read_parquet(sys.argv[2])\n"
        "Transform.load(sys.argv[1]).apply(batch).write_parquet(sys.argv[3])\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(shipped),
            str(tmp_path / "batch.parquet"),
            str(tmp_path / "out.parquet"),
        ],
        check=True,
    )
    assert_frame_equal(pl.read_parquet(tmp_path / "out.parquet"), expected)
    assert expected["label"].to_list() == [1, 2]  # spam, then the out-of-vocabulary index
