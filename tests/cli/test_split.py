"""`datawheel split`: the stable --json shape, exit codes, warnings, leakage, export."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl

from datawheel.workspace import Workspace

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py
KOREAN = Path(__file__).parents[1] / "data" / "korean_hate_speech" / "labeled_train_head300.tsv"


def ingest_csv(ws_dir: Path, run: Run, frame: pl.DataFrame, name: str) -> None:
    path = ws_dir / f"{name}.csv"
    frame.write_csv(path)
    code, _, err = run("ingest", str(path), "--name", name)
    assert code == 0, err


def test_split_json_shape_and_exact_counts(ws_dir: Path, run: Run) -> None:
    ingest_csv(ws_dir, run, pl.DataFrame({"label": ["pos"] * 30 + ["neg"] * 70, "n": range(100)}), "d")
    code, out, err = run("split", "d", "--stratify", "label", "--ratios", "0.6,0.2,0.2", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["version"] == 1
    assert report["ref"] == "d.split@1"
    assert report["input"] == "d@1"
    assert list(report["splits"]) == ["train", "dev", "test"]
    assert {n: s["classes"]["pos"] for n, s in report["splits"].items()} == {"train": 18, "dev": 6, "test": 6}
    assert {n: s["classes"]["neg"] for n, s in report["splits"].items()} == {
        "train": 42,
        "dev": 14,
        "test": 14,
    }
    assert {n: s["rows"] for n, s in report["splits"].items()} == {"train": 60, "dev": 20, "test": 20}
    assert report["max_deviation"]["class_rows"] == 0
    with Workspace.open(ws_dir) as ws:
        assert ws.read("d.split")["split"].value_counts().height == 3


def test_split_text_output_names_and_warning(ws_dir: Path, run: Run) -> None:
    ingest_csv(ws_dir, run, pl.DataFrame({"label": ["rare"] + ["common"] * 49, "n": range(50)}), "d")
    code, out, err = run("split", "d", "--stratify", "label", "--ratios", "0.5,0.5", "--names", "fit,holdout")
    assert code == 0, err
    assert "d@1 -> d.split@1 (stratified, seed 0), 50 rows" in out
    assert "fit" in out
    assert "holdout" in out
    assert "warning: 1 class with fewer rows than the 2 splits" in err


def test_bad_ratios_and_missing_column_exit_2(ws_dir: Path, run: Run) -> None:
    ingest_csv(ws_dir, run, pl.DataFrame({"label": ["a", "b"] * 10}), "d")
    code, _, err = run("split", "d", "--stratify", "label", "--ratios", "0.6,0.2,0.1")
    assert code == 2
    assert "sum to 0.9, not 1" in err
    code, _, err = run("split", "d", "--stratify", "lable", "--ratios", "0.5,0.5")
    assert code == 2
    assert "no column 'lable'" in err


def test_fail_on_leak_exits_1_and_export_writes_files(ws_dir: Path, run: Run) -> None:
    frame = pl.DataFrame({"text": ["same text"] * 10 + [f"other {i}" for i in range(10)], "y": [0, 1] * 10})
    ingest_csv(ws_dir, run, frame, "d")
    code, out, err = run(
        "split",
        "d",
        "--ratios",
        "0.5,0.5",
        "--content",
        "text",
        "--fail-on-leak",
        "--export",
        "parts",
        "--json",
    )
    assert code == 1, err
    report = json.loads(out)
    assert report["leakage"]["leaked"] is True
    assert report["leakage"]["exact"]["examples"][0]["value"] == "same text"
    assert sorted(p.name for p in (ws_dir / "parts").iterdir()) == ["test.parquet", "train.parquet"]
    code, _, _ = run(
        "split", "d", "--ratios", "0.5,0.5", "--group", "text", "--content", "text", "--fail-on-leak"
    )
    assert code == 0


def test_multilabel_split_of_the_korean_hate_speech_data(ws_dir: Path, run: Run) -> None:
    shutil.copy(KOREAN, ws_dir / "khs.tsv")
    code, _, err = run("ingest", "khs.tsv", "--name", "khs")
    assert code == 0, err
    code, out, err = run("split", "khs", "--multilabel", "bias,hate", "--ratios", "0.6,0.2,0.2", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["mode"] == "multilabel"
    assert report["max_deviation"]["class_rows"] <= 2
    assert report["splits"]["dev"]["classes"]["bias=gender"] == 12


def test_time_split_with_gap(ws_dir: Path, run: Run) -> None:
    days = pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 4, 9), "1d", eager=True)
    ingest_csv(ws_dir, run, pl.DataFrame({"day": days, "x": range(100)}), "t")
    code, out, err = run("split", "t", "--time", "day", "--ratios", "0.6,0.2,0.2", "--gap", "3d", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["gap_rows"] == 6
    assert report["params"]["cutoffs"] == ["2024-03-01", "2024-03-21"]
