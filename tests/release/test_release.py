from pathlib import Path

import polars as pl
import pytest

from datawheel import ReadOptions, Workspace, ingest, run_step
from datawheel.pipeline._clean import dedup_dataset
from datawheel.pipeline._release import content_digest, release, reproduce
from datawheel.release import SECTIONS, ReleaseError, verify_bundle

SMS = ReadOptions(has_header=False, columns=("label", "text"), quote_char=None)


@pytest.fixture
def cleaned(workspace: Workspace, sms_file: Path) -> Workspace:
    ingest(workspace, sms_file, name="sms", format="tsv", options=SMS)
    dedup_dataset(workspace, "sms", column="text", exact=True)
    return workspace


def test_release_writes_a_bundle_that_verifies(cleaned: Workspace) -> None:
    report = release(cleaned, "v1", datasets=["sms", "sms.removed"], formats=("parquet", "csv"))
    assert verify_bundle(report.bundle).ok
    names = {p.relative_to(report.bundle).as_posix() for p in report.bundle.rglob("*") if p.is_file()}
    assert {"manifest.json", "datasheet.md", "datasheet.html", "quality.html", "lineage.html"} <= names
    assert {"data/sms.parquet", "data/sms.csv", "data/sms.removed.parquet"} <= names
    assert report.files == len(names)
    assert pl.read_parquet(report.bundle / "data" / "sms.parquet").height == cleaned.resolve("sms").rows
    assert cleaned.resolve("sms@v1").ref == "sms@2"  # the versions are tagged with the release name


def test_datasheet_has_real_numbers_from_lineage(cleaned: Workspace) -> None:
    report = release(cleaned, "v1", datasets=["sms"])
    text = (report.bundle / "datasheet.md").read_text()
    for number, title in enumerate(SECTIONS, start=1):
        assert f"## {number}. {title}" in text
    removed = cleaned.resolve("sms.removed").rows
    kept = cleaned.resolve("sms").rows
    assert f"| dedup | sms@2 | 5,574 | {kept:,} | {removed:,} |" in text
    assert "| SMSSpamCollection | tsv | sms@1 | 5,574 | 0 |" in text
    quality = (report.bundle / "quality.html").read_text()
    assert f"{removed:,} rows (exact duplicate" in quality


def test_a_release_name_is_used_once(cleaned: Workspace) -> None:
    release(cleaned, "v1", datasets=["sms"])
    with pytest.raises(ReleaseError, match="exists already"):
        release(cleaned, "v1", datasets=["sms"], output=cleaned.root / "elsewhere")


def test_two_versions_of_one_dataset_are_refused(cleaned: Workspace) -> None:
    with pytest.raises(ReleaseError, match="two versions of 'sms'"):
        release(cleaned, "v1", datasets=["sms@1", "sms@2"])


def test_reproduce_rebuilds_identical_rows(cleaned: Workspace) -> None:
    release(cleaned, "v1", datasets=["sms", "sms.removed"])
    report = reproduce(cleaned, "v1")
    assert report.steps == ("ingest", "dedup")
    assert report.identical
    assert [(d.ref, d.rows) for d in report.datasets] == [
        ("sms@2", cleaned.resolve("sms@2").rows),
        ("sms.removed@1", cleaned.resolve("sms.removed@1").rows),
    ]


def test_reproduce_reports_a_changed_input_file(cleaned: Workspace, sms_file: Path) -> None:
    release(cleaned, "v1", datasets=["sms"])
    lines = sms_file.read_text(encoding="utf-8").splitlines()
    sms_file.write_text("\n".join(["ham\tsomething new", *lines[1:]]) + "\n", encoding="utf-8")
    report = reproduce(cleaned, "v1")
    assert not report.identical
    assert report.datasets[0].problem == "the rebuilt rows differ from the released ones"


def test_reproduce_names_a_step_it_cannot_replay(workspace: Workspace) -> None:
    with run_step(workspace, "hand-made") as run:
        run.commit("notes", pl.DataFrame({"text": ["a", "b"]}))
    release(workspace, "v1", datasets=["notes"])
    report = reproduce(workspace, "v1")
    assert not report.identical
    assert report.datasets[0].problem == "step 'hand-made' (execution 1) recorded no call to replay"


def test_content_digest_ignores_provenance_but_not_content() -> None:
    frame = pl.DataFrame({"_row_id": ["a", "b"], "_row_hash": [1, 2], "_source": ["x", "y"]})
    assert content_digest(frame) == content_digest(frame.with_columns(pl.lit("z").alias("_source")))
    assert content_digest(frame) != content_digest(frame.reverse())


def test_quality_report_shows_fairness_and_label_quality(workspace: Workspace) -> None:
    from datawheel.pipeline._evaluate import fairness_dataset, train_baseline
    from datawheel.pipeline._split import split_dataset

    rows = 400
    frame = pl.DataFrame(
        {
            "text": [
                ("win cash prize now" if i % 3 == 0 else "see you at lunch") + f" {i}" for i in range(rows)
            ],
            "label": ["spam" if i % 3 == 0 else "ham" for i in range(rows)],
            "sex": ["f" if i % 2 else "m" for i in range(rows)],
        }
    )
    workspace.commit("msgs", frame)
    split = split_dataset(workspace, "msgs", [0.6, 0.2, 0.2], stratify=["label"])
    predictions = train_baseline(workspace, split.version.ref, label="label", text="text").predictions
    fair, _ = fairness_dataset(
        workspace, predictions.ref, label="label", prediction="prediction", group="sex", positive="spam"
    )
    report = release(workspace, "v1", datasets=[split.version.ref])
    quality = (report.bundle / "quality.html").read_text()
    assert f"demographic parity difference {fair.demographic_parity_difference:.3f}" in quality
    assert "No labelling step was recorded on this data." in quality
    assert "Split balance and leakage of msgs.split@1" in quality
    datasheet = (report.bundle / "datasheet.md").read_text()
    assert "msgs.split-baseline@1 on test: accuracy" in datasheet
