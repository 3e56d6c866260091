"""Arrow IPC files and streams: Feather v2, Polars' write_ipc, and the stream format datasets saves."""

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pytest
from polars.testing import assert_frame_equal

from datawheel.errors import IngestError
from datawheel.ingest import LINE, Reading, detect_format, open_source, read_arrow

TABLE = pl.DataFrame(
    {
        "id": [1, 2, 3, 4, 5],
        "score": [0.5, None, 1.25, -3.0, 2.0],
        "text": ["a", "b", None, "wide", "é"],
        "day": [date(2024, 1, d) for d in range(1, 6)],
        "when": [datetime(2024, 5, 6, h, 30) for h in range(5)],
        "tags": [["x"], [], ["y", "z"], None, ["x"]],
    }
)


def read_all(reading: Reading) -> pl.DataFrame:
    return pl.concat([b.frame for b in reading.batches])


def write_stream(path: Path, table: pa.Table, *, rows_a_batch: int) -> None:
    """The IPC stream format, in small record batches, as Hugging Face datasets saves its tables."""
    with pa.OSFile(str(path), "wb") as sink, ipc.new_stream(sink, table.schema) as writer:
        for record_batch in table.to_batches(max_chunksize=rows_a_batch):
            writer.write_batch(record_batch)


@pytest.mark.parametrize("writer", ["polars", "feather", "stream"])
def test_every_ipc_format_gives_the_rows_and_their_numbers(tmp_path: Path, writer: str) -> None:
    path = tmp_path / "table.arrow"
    if writer == "polars":
        TABLE.write_ipc(path)
    elif writer == "feather":
        feather.write_feather(TABLE.to_arrow(), path)
    else:
        write_stream(path, TABLE.to_arrow(), rows_a_batch=2)
    reading = read_arrow(path)
    assert (reading.format, reading.location, reading.total_bytes) == (
        "arrow",
        str(path),
        path.stat().st_size,
    )
    frame = read_all(reading)
    assert_frame_equal(frame.drop(LINE), TABLE)
    assert frame[LINE].to_list() == [1, 2, 3, 4, 5]


def test_batches_are_gathered_and_cut_to_size(tmp_path: Path) -> None:
    """Record batches of 2 rows read in batches of 3: lines run on, progress only grows."""
    path = tmp_path / "data-00000-of-00001.arrow"
    table = pa.table({"n": list(range(11))})
    write_stream(path, table, rows_a_batch=2)
    batches = list(read_arrow(path, batch_rows=3).batches)
    assert [b.frame.height for b in batches] == [3, 3, 3, 2]
    assert pl.concat([b.frame for b in batches]).rows() == [(n, n + 1) for n in range(11)]
    progress = [b.bytes_read for b in batches]
    assert progress == sorted(progress)
    assert 0 < progress[0] < progress[-1] == path.stat().st_size


def test_a_long_record_batch_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "one.feather"
    feather.write_feather(pa.table({"n": list(range(7))}), path, chunksize=100)
    batches = list(read_arrow(path, batch_rows=3).batches)
    assert [b.frame["n"].to_list() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.frame[LINE].to_list() for b in batches] == [[1, 2, 3], [4, 5, 6], [7]]


def test_no_rows_give_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "empty.arrow"
    TABLE.clear().write_ipc(path)
    (batch,) = list(read_arrow(path).batches)
    assert batch.frame.height == 0
    assert batch.frame.columns == [*TABLE.columns, LINE]


def test_told_by_suffix_or_by_first_bytes(tmp_path: Path) -> None:
    for name in ("a.arrow", "a.feather", "a.ipc", "a.arrows"):
        assert detect_format(tmp_path / name) == "arrow"
    ipc_file, stream = tmp_path / "blob.bin", tmp_path / "dump"
    TABLE.write_ipc(ipc_file)
    write_stream(stream, TABLE.to_arrow(), rows_a_batch=2)
    assert detect_format(ipc_file) == detect_format(stream) == "arrow"
    assert read_all(open_source(stream)).height == 5


def test_names_starting_with_an_underscore(tmp_path: Path) -> None:
    path = tmp_path / "t.arrow"
    pl.DataFrame({"_id": [1], "v": ["a"]}).write_ipc(path)
    assert read_all(read_arrow(path)).columns == ["id", "v", LINE]
    pl.DataFrame({"_id": [1], "id": [2]}).write_ipc(path)
    with pytest.raises(IngestError, match="'_id' and 'id' clash") as caught:
        read_arrow(path)
    assert str(path) in str(caught.value)


def test_not_arrow_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.arrow"
    path.write_text("id,name\n1,Ann\n")
    with pytest.raises(IngestError, match="is not a readable Arrow IPC file") as caught:
        read_arrow(path)
    assert str(path) in str(caught.value)


def test_feather_version_1_says_what_to_do(tmp_path: Path) -> None:
    """Feather version 1 (magic ``FEA1`` at both ends; pyarrow no longer writes it) is refused."""
    path = tmp_path / "old.feather"
    path.write_bytes(b"FEA1" + bytes(64) + b"FEA1")
    with pytest.raises(IngestError, match="is a Feather version 1 file") as caught:
        read_arrow(path)
    assert str(path) in str(caught.value)
    assert "Feather version 2" in (caught.value.hint or "")


@pytest.mark.parametrize("at_a_batch_end", [False, True])
def test_a_cut_off_stream_is_an_error(tmp_path: Path, at_a_batch_end: bool) -> None:
    """Cut anywhere, even where a record batch ends (which pyarrow reads without complaint)."""
    table = pa.table({"n": list(range(1000))})
    whole = tmp_path / "whole.arrow"
    write_stream(whole, table, rows_a_batch=100)
    data = whole.read_bytes()
    cut = tmp_path / "cut.arrow"
    cut.write_bytes(data[:-8] if at_a_batch_end else data[: len(data) * 2 // 3])
    with pytest.raises(
        IngestError, match=r"cut\.arrow is an Arrow IPC stream that is cut off (or damaged )?after byte"
    ):
        read_arrow(cut)


def test_a_cut_off_file_is_an_error(tmp_path: Path) -> None:
    whole = tmp_path / "whole.arrow"
    pl.DataFrame({"n": list(range(1000))}).write_ipc(whole)
    cut = tmp_path / "cut.arrow"
    cut.write_bytes(whole.read_bytes()[:-100])
    with pytest.raises(IngestError, match=r"cut\.arrow is an Arrow IPC file that is cut off or damaged"):
        read_arrow(cut)


def test_damaged_bytes_name_the_byte_reached(tmp_path: Path) -> None:
    """A stream whole in length but broken inside: where the break is, before a row is read."""
    table = pa.table({"n": list(range(1000))})
    path = tmp_path / "damaged.arrow"
    write_stream(path, table, rows_a_batch=100)
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as writer:  # where the fourth batch's message starts
        for record_batch in table.to_batches(max_chunksize=100)[:3]:
            writer.write_batch(record_batch)
    fourth = sink.getvalue().size - 8  # less the end-of-stream marker
    data = bytearray(path.read_bytes())
    data[fourth : fourth + 16] = b"\xab" * 16
    path.write_bytes(bytes(data))
    with pytest.raises(
        IngestError, match=rf"damaged\.arrow is an Arrow IPC stream .* after byte {fourth:,}: "
    ):
        read_arrow(path)


def test_a_damaged_batch_in_a_file_names_the_row_reached(tmp_path: Path) -> None:
    """The file format's footer is whole, but a batch it points to is broken: rows before it are named."""
    table = pa.table({"n": list(range(1000))})
    path = tmp_path / "damaged.arrow"
    with ipc.new_file(str(path), table.schema) as writer:
        for record_batch in table.to_batches(max_chunksize=100):
            writer.write_batch(record_batch)
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as stream:  # the file's body is this stream, after 8 bytes
        for record_batch in table.to_batches(max_chunksize=100)[:3]:
            stream.write_batch(record_batch)
    fourth = 8 + sink.getvalue().size - 8  # the magic and padding, less the end-of-stream marker
    data = bytearray(path.read_bytes())
    data[fourth : fourth + 16] = b"\xab" * 16
    path.write_bytes(bytes(data))
    reading = read_arrow(path, batch_rows=100)
    with pytest.raises(IngestError, match=r"damaged\.arrow: the Arrow IPC data breaks off after row 300: "):
        read_all(reading)
