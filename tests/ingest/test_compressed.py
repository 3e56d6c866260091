"""Compressed files (gzip, bzip2, xz, zstd) ingest as their plain text would, naming the file as given."""

import bz2
import gzip
import lzma
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from datawheel.errors import IngestError
from datawheel.ingest import ReadOptions, compression_of, detect_format, read_frame
from datawheel.pipeline import QuarantineError, ingest
from datawheel.store import SOURCE
from datawheel.workspace import STATE_DIR, Workspace

CSV = b"id,name\n1,Ann\n2,Bo,extra\n3,Cy\n"


def _zstd(data: bytes) -> bytes:
    return pa.compress(data, codec="zstd", asbytes=True)  # type: ignore[no-any-return]


CODECS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": _zstd,
}
SUFFIXES = {"gzip": ".gz", "bzip2": ".bz2", "xz": ".xz", "zstd": ".zst"}


def _scratch(workspace: Workspace) -> list[Path]:
    folder = workspace.root / STATE_DIR / "scratch"
    return list(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("codec", list(CODECS))
def test_compressed_csv_ingests_as_its_text_with_the_given_file_named(
    workspace: Workspace, tmp_path: Path, codec: str
) -> None:
    path = tmp_path / f"people.csv{SUFFIXES[codec]}"
    path.write_bytes(CODECS[codec](CSV))
    assert compression_of(path) == codec
    report = ingest(workspace, path, name="people")
    assert (report.format, report.rows_read, report.rows, report.quarantined) == ("csv", 3, 2, 1)
    frame = workspace.read("people")
    assert frame.select("id", "name").rows() == [(1, "Ann"), (3, "Cy")]
    source = frame[SOURCE].struct.unnest()
    assert source["file"].unique().to_list() == [str(path.resolve())]
    assert source["line"].to_list() == [2, 4]
    quarantine = workspace.read("people.quarantine")
    assert quarantine.select("line", "file", "raw").rows() == [(3, str(path.resolve()), "2,Bo,extra")]
    assert _scratch(workspace) == []  # the plain copy is gone
    again = ingest(workspace, path, name="people")
    assert again.skipped
    assert again.ref == report.ref


def test_compressed_file_without_a_format_suffix_is_sniffed(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "dump.zst"
    path.write_bytes(_zstd(b'{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n'))
    assert detect_format(path) == "jsonl"
    report = ingest(workspace, path, name="dump")
    assert (report.format, report.rows) == ("jsonl", 2)
    assert workspace.read("dump").select("a", "b").rows() == [(1, "x"), (2, "y")]


def test_every_gzip_member_is_read(tmp_path: Path) -> None:
    path = tmp_path / "parts.csv.gz"
    path.write_bytes(gzip.compress(b"n\n1\n2\n") + gzip.compress(b"3\n"))  # as `cat a.gz b.gz` makes
    assert read_frame(path)["n"].to_list() == [1, 2, 3]


def test_a_gz_name_on_plain_text_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "mislabelled.csv.gz"
    path.write_bytes(b"n\n1\n")
    assert compression_of(path) is None
    assert read_frame(path)["n"].to_list() == [1]


def test_cut_off_file_is_a_clear_error_that_commits_nothing(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "cut.csv.gz"
    whole = gzip.compress(CSV * 1000)
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(IngestError, match=r"cut\.csv\.gz cannot be decompressed as gzip") as info:
        ingest(workspace, path, name="cut")
    assert info.value.hint
    assert "downloaded" in info.value.hint
    assert workspace.datasets() == []
    assert _scratch(workspace) == []


def test_errors_and_strict_failures_name_the_given_file(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv.xz"
    path.write_bytes(lzma.compress(CSV))
    with pytest.raises(QuarantineError, match=rf"^{path.resolve()}, line 3: expected 2 fields, found 3"):
        ingest(workspace, path, name="people", strict=True)
    empty = tmp_path / "empty.csv.gz"
    empty.write_bytes(gzip.compress(b""))
    with pytest.raises(IngestError, match=r"empty\.csv\.gz is empty once decompressed"):
        ingest(workspace, empty, name="empty")
    declared = tmp_path / "ages.csv.gz"
    declared.write_bytes(gzip.compress(b"age\n3\n"))
    with pytest.raises(IngestError, match=rf"'height', which {declared.resolve()} does not have") as info:
        ingest(workspace, declared, name="ages", options=ReadOptions(schema={"height": pl.Int64()}))
    assert "datawheel-plain" not in str(info.value)
    assert _scratch(workspace) == []


def test_read_frame_leaves_no_plain_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # the system's temp folder
    path = tmp_path / "votes.tsv.bz2"
    path.write_bytes(bz2.compress(b"item\tlabel\n1\tspam\n2\tham\n"))
    assert read_frame(path).rows() == [(1, "spam"), (2, "ham")]
    assert list((tmp_path / "tmp").iterdir()) == []
