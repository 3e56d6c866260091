from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datawheel.errors import StoreError
from datawheel.store import BlobStore


def test_same_bytes_stored_once(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    a = blobs.put(b"pixels")
    source = tmp_path / "img.png"
    source.write_bytes(b"pixels")
    assert blobs.put_file(source) == a
    assert sum(1 for p in (tmp_path / "blobs").rglob("*") if p.is_file()) == 1
    assert blobs.get(a) == b"pixels"
    assert blobs.path(a).name == a[2:]


def test_missing_and_malformed(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    assert not blobs.exists("0" * 64)
    with pytest.raises(StoreError, match="no blob 0000"):
        blobs.get("0" * 64)
    with pytest.raises(StoreError, match="is not a blob digest"):
        blobs.exists("../etc/passwd")
    with pytest.raises(StoreError, match="cannot read"):
        blobs.put_file(tmp_path / "absent.png")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30)
@given(data=st.binary(max_size=3000))
def test_round_trip(tmp_path: Path, data: bytes) -> None:
    blobs = BlobStore(tmp_path / "b")
    digest = blobs.put(data)
    assert blobs.exists(digest)
    assert blobs.get(digest) == data
    assert len(digest) == 64
