from pathlib import Path

import pytest

from datawheel.errors import IngestError
from datawheel.ingest import read_frame


def test_reads_every_row_with_data_columns_only(tmp_path: Path) -> None:
    path = tmp_path / "preds.tsv"
    path.write_text("label\tprediction\tscore\nspam\tham\t0.2\nham\tham\t0.1\n", encoding="utf-8")
    frame = read_frame(path)
    assert frame.columns == ["label", "prediction", "score"]
    assert frame["score"].to_list() == [0.2, 0.1]


def test_a_row_it_cannot_read_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    path.write_text("item,label\n1,spam\n2,ham,extra\n3,ham,more\n", encoding="utf-8")
    with pytest.raises(
        IngestError, match=r"votes\.csv, line 3: expected 2 fields, found 3 \(and 1 more rows\)"
    ):
        read_frame(path)
