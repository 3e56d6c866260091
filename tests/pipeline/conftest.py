import importlib
from functools import partial

import pytest

from datawheel.ingest import read_delimited


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """CSV and TSV files read in chunks of 4,096 bytes, so that a small file spans many batches."""
    opener = importlib.import_module("datawheel.ingest._open")  # the package name is shadowed
    monkeypatch.setattr(opener, "read_delimited", partial(read_delimited, chunk_bytes=4096))
