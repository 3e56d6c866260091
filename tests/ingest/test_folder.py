import os
import shutil
import wave
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from PIL import Image

from datawheel.errors import IngestError
from datawheel.ingest import FILE, LINE, QUARANTINE_SCHEMA, Reading, read_folder
from datawheel.store import BlobStore

DIGITS = Path(__file__).parents[1] / "data" / "digits_png"
DIGIT_PATTERN = "{label}/{name}.png"
MEASURES = ["width", "height", "duration", "sample_rate", "channels"]


@pytest.fixture
def digits(tmp_path: Path) -> Path:
    """A copy of the 50 digit images (5 per label), without the SOURCE.txt beside them."""
    root = tmp_path / "digits"
    for label in range(10):
        shutil.copytree(DIGITS / str(label), root / str(label))
    return root


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def read_all(reading: Reading) -> tuple[pl.DataFrame, pl.DataFrame]:
    batches = list(reading.batches)
    return pl.concat([b.frame for b in batches]), pl.concat([b.quarantine for b in batches])


def stored_blobs(blobs: BlobStore) -> int:
    return sum(1 for p in blobs.root.rglob("*") if p.is_file())


def test_digits_by_label(digits: Path, blobs: BlobStore) -> None:
    reading = read_folder(digits, pattern=DIGIT_PATTERN, put_blob=blobs.put_file)
    frame, quarantine = read_all(reading)
    assert frame.columns == ["path", "label", "name", "blob", "size", "media_type", *MEASURES, FILE, LINE]
    assert frame.height == 50
    assert quarantine.is_empty()
    assert frame["label"].value_counts().sort("label").rows() == [(str(n), 5) for n in range(10)]
    assert frame["path"].to_list() == sorted(frame["path"].to_list())
    assert frame.row(0, named=True)["path"] == "0/0000.png"
    assert frame.row(0, named=True)["name"] == "0000"
    assert set(frame["width"]) == set(frame["height"]) == {8}
    assert set(frame["media_type"]) == {"image/png"}
    assert frame[LINE].null_count() == 50
    assert frame[LINE].dtype == pl.Int64
    for row in frame.iter_rows(named=True):
        source = digits / row["path"]
        assert row[FILE] == str(source.resolve())
        assert row["size"] == source.stat().st_size
        assert blobs.get(row["blob"]) == source.read_bytes()
    assert reading.format == "files"
    assert reading.location == str(digits.resolve())
    assert reading.total_bytes == frame["size"].sum()


def test_same_bytes_are_stored_once(digits: Path, blobs: BlobStore) -> None:
    shutil.copyfile(digits / "0" / "0000.png", digits / "0" / "copy.png")
    frame, _ = read_all(read_folder(digits, pattern=DIGIT_PATTERN, put_blob=blobs.put_file))
    assert frame.height == 51
    original, copy = (frame.filter(pl.col("path") == p)["blob"][0] for p in ("0/0000.png", "0/copy.png"))
    assert original == copy
    assert frame["blob"].n_unique() == 50
    assert stored_blobs(blobs) == 50


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file (0 bytes)"),
        (b"this is not a picture", "not a readable image: cannot identify image file"),
        ("truncated", "not a readable image: "),
    ],
)
def test_bad_images_are_quarantined(
    digits: Path, blobs: BlobStore, content: bytes | str, reason: str
) -> None:
    bad = digits / "3" / "bad.png"
    real = (digits / "3" / "0003.png").read_bytes()
    bad.write_bytes(real[: len(real) - 20] if content == "truncated" else content)  # type: ignore[arg-type]
    frame, quarantine = read_all(read_folder(digits, pattern=DIGIT_PATTERN, put_blob=blobs.put_file))
    assert frame.height == 50
    assert "3/bad.png" not in frame["path"].to_list()
    assert quarantine.schema == QUARANTINE_SCHEMA
    assert quarantine.height == 1
    line, file, raw, why = quarantine.row(0)
    assert (line, file, raw) == (None, str(bad.resolve()), "3/bad.png")
    assert why.startswith(reason)
    assert stored_blobs(blobs) == 50  # a quarantined file's bytes are not stored


def test_paths_that_do_not_match_the_pattern(digits: Path, blobs: BlobStore) -> None:
    (digits / "notes.txt").write_text("labelled by Ann")
    (digits / "7" / "extra").mkdir()
    shutil.copyfile(digits / "7" / "0007.png", digits / "7" / "extra" / "0007.png")
    shutil.copyfile(digits / "7" / "0007.png", digits / "7" / "0007.PNG")
    frame, quarantine = read_all(read_folder(digits, pattern=DIGIT_PATTERN, put_blob=blobs.put_file))
    assert frame.height == 50
    assert quarantine.select("raw", "reason").rows() == [
        (raw, "path does not match pattern {label}/{name}.png")
        for raw in ("7/0007.PNG", "7/extra/0007.png", "notes.txt")
    ]
    assert quarantine["file"].to_list() == [str((digits / r).resolve()) for r in quarantine["raw"]]


def test_nested_pattern(tmp_path: Path, blobs: BlobStore) -> None:
    root = tmp_path / "inspection"
    sizes = {
        "busan/l1/a.jpg": (4, 3),
        "busan/l2/b.jpg": (6, 2),
        "ulsan/l1/c.jpg": (5, 5),
        "ulsan/d.jpg": (1, 1),
    }
    for name, size in sizes.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, "red").save(root / name)
    frame, quarantine = read_all(
        read_folder(root, pattern="{factory}/{line}/{name}.jpg", put_blob=blobs.put_file)
    )
    assert frame.select("path", "factory", "line", "name", "media_type", "width", "height").rows() == [
        ("busan/l1/a.jpg", "busan", "l1", "a", "image/jpeg", 4, 3),
        ("busan/l2/b.jpg", "busan", "l2", "b", "image/jpeg", 6, 2),
        ("ulsan/l1/c.jpg", "ulsan", "l1", "c", "image/jpeg", 5, 5),
    ]
    assert frame.schema["factory"] == frame.schema["line"] == pl.String
    assert quarantine.select("raw", "reason").rows() == [
        ("ulsan/d.jpg", "path does not match pattern {factory}/{line}/{name}.jpg")
    ]


@pytest.mark.parametrize(
    ("pattern", "path", "fields"),
    [
        ("{a}_{b}.txt", "x_y_z.txt", {"a": "x", "b": "y_z"}),  # a field takes as little as it can
        ("{label}/{label}_{n}.txt", "cat/cat_1.txt", {"label": "cat", "n": "1"}),
        ("{label}/{label}_{n}.txt", "cat/dog_1.txt", None),  # a repeated field must agree
        ("img-{id}.txt", "img-42.txt", {"id": "42"}),
        ("img-{id}.txt", "img-.txt", None),  # a field is never empty
        ("{a}.txt", "sub/x.txt", None),  # a field never spans folders
        ("data/{name}", "data/x.txt", {"name": "x.txt"}),
        ("a+b/{n}.txt", "a+b/1.txt", {"n": "1"}),  # literal text is literal, not a regex
    ],
)
def test_pattern_fields(
    tmp_path: Path, blobs: BlobStore, pattern: str, path: str, fields: dict[str, str] | None
) -> None:
    (tmp_path / "root" / path).parent.mkdir(parents=True)
    (tmp_path / "root" / path).write_text("x")
    frame, quarantine = read_all(read_folder(tmp_path / "root", pattern=pattern, put_blob=blobs.put_file))
    if fields is None:
        assert (frame.height, quarantine["raw"].to_list()) == (0, [path])
    else:
        assert (frame.height, quarantine.height) == (1, 0)
        assert frame.select(list(fields)).row(0, named=True) == fields


def test_text_and_other_files(tmp_path: Path, blobs: BlobStore) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    files = {
        "a.txt": "text/plain",
        "b.md": "text/markdown",
        "c.json": "application/json",
        "d.flac": "audio/flac",
        "e.webp": "image/webp",
        "f.zzz": "application/octet-stream",
        "g": "application/octet-stream",
        "h.svg": "image/svg+xml",
    }
    for name in files:
        (root / name).write_bytes(f"content of {name}".encode())
    (root / ".DS_Store").write_bytes(b"hidden")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("hidden too")
    reading = read_folder(root, put_blob=blobs.put_file)
    frame, quarantine = read_all(reading)
    assert frame.columns == ["path", "blob", "size", "media_type", *MEASURES, FILE, LINE]
    # d.flac and e.webp hold text: audio mutagen cannot read and an image Pillow cannot read are
    # quarantined; SVG is not read
    assert dict(zip(frame["path"], frame["media_type"], strict=True)) == {
        n: t for n, t in files.items() if n not in ("d.flac", "e.webp")
    }
    assert quarantine["raw"].to_list() == ["d.flac", "e.webp"]
    assert all(frame[m].null_count() == frame.height == 6 for m in MEASURES)
    assert reading.total_bytes == sum(len(f"content of {n}") for n in files)  # hidden files not counted


def test_many_files_come_in_batches(tmp_path: Path, blobs: BlobStore) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for i in range(2_003):
        (root / f"{i:05d}.txt").write_text(f"{i % 3}")
    reading = read_folder(root, pattern="{n}.txt", put_blob=blobs.put_file)
    batches = list(reading.batches)
    assert [b.frame.height for b in batches] == [2_000, 3]
    assert [b.bytes_read for b in batches] == [2_000, 2_003] == [2_000, reading.total_bytes]
    frame = pl.concat([b.frame for b in batches])
    assert frame["n"].to_list() == [f"{i:05d}" for i in range(2_003)]
    assert frame["blob"].n_unique() == stored_blobs(blobs) == 3


def test_a_folder_that_cannot_be_listed(
    digits: Path, blobs: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    scandir = os.scandir

    def refuse_five(path: str) -> Iterator[os.DirEntry[str]]:
        if Path(path).name == "5":  # as a folder without read permission does (root may read any)
            raise PermissionError(13, "Permission denied", path)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_five)
    with pytest.raises(IngestError, match=r"cannot list the folder .*/5: Permission denied") as info:
        read_folder(digits, put_blob=blobs.put_file)
    assert info.value.hint


def test_bad_folders(tmp_path: Path, blobs: BlobStore) -> None:
    (tmp_path / "file.png").write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".hidden").write_text("x")
    for root, message in [
        (tmp_path / "absent", "no folder .*absent"),
        (tmp_path / "file.png", "file.png is not a folder"),
        (tmp_path / "empty", "empty holds no files"),
    ]:
        with pytest.raises(IngestError, match=message) as info:
            read_folder(root, put_blob=blobs.put_file)
        assert info.value.hint


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{label/{name}.png", "unmatched brace"),
        ("{label}/name}.png", "unmatched brace"),
        ("{}/{name}.png", "field '{}' that is not a name"),
        ("{1st}/{name}.png", "field '{1st}' that is not a name"),
        ("{size}/{name}.png", "names a field 'size'"),
        ("{_x}/{name}.png", "field '{_x}' that is not a name"),
    ],
)
def test_bad_patterns(digits: Path, blobs: BlobStore, pattern: str, message: str) -> None:
    with pytest.raises(IngestError, match=message) as info:
        read_folder(digits, pattern=pattern, put_blob=blobs.put_file)
    assert info.value.hint


def write_wav(path: Path, *, rate: int, channels: int, seconds: float) -> None:
    """A real WAV file of silence (16-bit samples), written by the standard library."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\0\0" * channels * round(rate * seconds))


def flac_header(*, rate: int, channels: int, samples: int) -> bytes:
    """A FLAC stream's marker and its STREAMINFO block (RFC 9639, section 8.2), with no frames."""
    packed = (rate << 44) | ((channels - 1) << 41) | ((16 - 1) << 36) | samples
    info = (4096).to_bytes(2, "big") * 2 + bytes(6) + packed.to_bytes(8, "big") + bytes(16)
    return b"fLaC" + b"\x80" + len(info).to_bytes(3, "big") + info  # 0x80: the last metadata block


def test_audio_length_rate_and_channels(tmp_path: Path, blobs: BlobStore) -> None:
    root = tmp_path / "speech"
    write_wav(root / "ann" / "yes.wav", rate=16_000, channels=1, seconds=1.5)
    write_wav(root / "bob" / "no.wav", rate=8_000, channels=2, seconds=0.25)
    write_wav(root / "bob" / "silent.wav", rate=8_000, channels=1, seconds=0)  # no samples at all
    (root / "bob" / "maybe.flac").write_bytes(flac_header(rate=44_100, channels=2, samples=44_100 * 3))
    (root / "bob" / "song.mid").write_bytes(b"MThd not read")  # audio mutagen does not measure
    frame, quarantine = read_all(read_folder(root, pattern="{speaker}/{name}.{ext}", put_blob=blobs.put_file))
    assert quarantine.is_empty()
    assert frame.select("path", "speaker", "media_type", "duration", "sample_rate", "channels").rows() == [
        ("ann/yes.wav", "ann", "audio/wav", 1.5, 16_000, 1),
        ("bob/maybe.flac", "bob", "audio/flac", 3.0, 44_100, 2),
        ("bob/no.wav", "bob", "audio/wav", 0.25, 8_000, 2),
        ("bob/silent.wav", "bob", "audio/wav", 0.0, 8_000, 1),
        ("bob/song.mid", "bob", "audio/midi", None, None, None),
    ]
    assert frame["width"].null_count() == frame["height"].null_count() == 5
    assert frame.schema["duration"] == pl.Float64


def test_bad_audio_is_quarantined(tmp_path: Path, blobs: BlobStore) -> None:
    root = tmp_path / "speech"
    write_wav(root / "good.wav", rate=16_000, channels=1, seconds=1.0)
    whole = (root / "good.wav").read_bytes()
    (root / "cut.wav").write_bytes(whole[:1_000])  # a download that stopped early
    (root / "text.wav").write_bytes(b"this is not a recording")
    (root / "noise.mp3").write_bytes(bytes(200))
    (root / "short.flac").write_bytes(b"fLaC\x00")
    frame, quarantine = read_all(read_folder(root, put_blob=blobs.put_file))
    assert frame["path"].to_list() == ["good.wav"]
    reasons = dict(zip(quarantine["raw"], quarantine["reason"], strict=True))
    assert reasons["cut.wav"] == f"cut-off audio: the header says {len(whole):,} bytes, the file has 1,000"
    assert set(reasons) == {"cut.wav", "noise.mp3", "short.flac", "text.wav"}
    for name in ("noise.mp3", "short.flac", "text.wav"):
        assert reasons[name].startswith("not a readable audio file: "), reasons[name]
        assert len(reasons[name]) > len("not a readable audio file: ")
    assert quarantine["file"].to_list() == [str((root / r).resolve()) for r in quarantine["raw"]]
    assert stored_blobs(blobs) == 1  # only the good file's bytes are stored
