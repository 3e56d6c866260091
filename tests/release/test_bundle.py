import json
from pathlib import Path

import pytest

from datawheel.release import (
    MANIFEST,
    OWNER,
    SECTIONS,
    ReleaseError,
    datasheet_markdown,
    file_checksum,
    lineage_html,
    markdown_html,
    pack_bundle,
    pull_bundle,
    push_bundle,
    unpack_bundle,
    verify_bundle,
    write_manifest,
)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    folder = tmp_path / "v1"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "train.csv").write_text("text,label\nhello,ham\n", encoding="utf-8")
    (folder / "datasheet.md").write_text("# Datasheet\n", encoding="utf-8")
    write_manifest(folder, {"release": "v1"})
    return folder


def test_manifest_lists_every_file_with_its_blake3(bundle: Path) -> None:
    manifest = json.loads((bundle / MANIFEST).read_text())
    assert set(manifest["files"]) == {"data/train.csv", "datasheet.md"}
    entry = manifest["files"]["data/train.csv"]
    assert entry["bytes"] == (bundle / "data" / "train.csv").stat().st_size
    assert entry["blake3"] == file_checksum(bundle / "data" / "train.csv")
    assert len(entry["blake3"]) == 64
    assert verify_bundle(bundle).ok


def test_a_flipped_byte_fails_naming_the_file(bundle: Path) -> None:
    path = bundle / "data" / "train.csv"
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))
    result = verify_bundle(bundle)
    assert not result.ok
    assert [(p.file, p.problem) for p in result.problems] == [
        ("data/train.csv", "checksum differs: the file was changed")
    ]
    assert result.to_dict()["ok"] is False


def test_missing_and_unlisted_files_are_problems(bundle: Path) -> None:
    (bundle / "datasheet.md").unlink()
    (bundle / "extra.txt").write_text("smuggled")
    problems = {p.file: p.problem for p in verify_bundle(bundle).problems}
    assert problems == {"datasheet.md": "missing", "extra.txt": "not in the manifest"}


def test_a_damaged_manifest_is_a_clear_error(bundle: Path) -> None:
    (bundle / MANIFEST).write_text("{not json")
    with pytest.raises(ReleaseError, match="not valid JSON"):
        verify_bundle(bundle)
    with pytest.raises(ReleaseError, match=r"holds no manifest\.json"):
        verify_bundle(bundle / "data")


def test_archive_round_trips_and_is_reproducible(bundle: Path, tmp_path: Path) -> None:
    first = pack_bundle(bundle, tmp_path / "a.tar.gz")
    second = pack_bundle(bundle, tmp_path / "b.tar.gz")
    assert first.read_bytes() == second.read_bytes()
    unpacked = unpack_bundle(first, tmp_path / "out")
    assert unpacked.name == "v1"
    assert verify_bundle(unpacked).ok


def test_push_then_pull_through_a_folder(bundle: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    where = push_bundle(bundle, str(remote))
    assert Path(where) == remote.resolve() / "v1"
    assert push_bundle(bundle, str(remote)) == where  # the same release again: nothing to do
    folder, result = pull_bundle(str(remote), "v1", tmp_path / "pulled")
    assert result.ok
    assert (folder / "data" / "train.csv").read_bytes() == (bundle / "data" / "train.csv").read_bytes()


def test_pull_refuses_a_tampered_remote_and_leaves_nothing(bundle: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    push_bundle(bundle, f"file://{remote}")
    (remote / "v1" / "datasheet.md").write_text("# changed\n")
    with pytest.raises(ReleaseError, match=r"fails its manifest: datasheet.md"):
        pull_bundle(str(remote), "v1", tmp_path / "pulled")
    assert not (tmp_path / "pulled" / "v1").exists()
    with pytest.raises(ReleaseError, match="no release 'v2'"):
        pull_bundle(str(remote), "v2", tmp_path / "pulled")


def test_push_refuses_to_overwrite_a_different_release(bundle: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    push_bundle(bundle, str(remote))
    (bundle / "datasheet.md").write_text("# other\n")
    write_manifest(bundle, {"release": "v1"})
    with pytest.raises(ReleaseError, match="already holds a different release"):
        push_bundle(bundle, str(remote))


def test_datasheet_has_every_section_and_marks_owner_parts() -> None:
    text = datasheet_markdown(
        {
            "release": "v1",
            "datasets": [{"ref": "sms@3", "rows": 10, "columns": {"text": "String"}, "classes": {"ham": 7}}],
            "cleaning": [{"step": "dedup", "ref": "sms@3", "rows_in": 12, "kept": 10, "removed": 2}],
        }
    )
    headings = [line[3:].split(". ", 1)[1] for line in text.splitlines() if line.startswith("## ")]
    assert headings == list(SECTIONS)
    assert text.count(OWNER) >= 6
    assert "| dedup | sms@3 | 12 | 10 | 2 |" in text


def test_markdown_html_escapes_data() -> None:
    page = markdown_html("# T\n\n| a |\n|---|\n| <script>alert(1)</script> |\n", title="x")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<table>" in page


def test_lineage_page_draws_every_node_and_edge_left_to_right() -> None:
    nodes = [("a1", "file", "sms.tsv"), ("e1", "execution", "ingest"), ("a2", "dataset_version", "sms@1")]
    page = lineage_html(nodes, [("a1", "e1"), ("e1", "a2")], title="lineage <of> v1")
    assert page.count("<rect") == 3
    assert page.count("marker-end") == 2
    assert "lineage &lt;of&gt; v1" in page
