"""Ingesting a file served over HTTP, from a real server on the loopback interface."""

import gzip
import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from datawheel.errors import IngestError
from datawheel.pipeline import QuarantineError, ingest
from datawheel.store import SOURCE
from datawheel.workspace import STATE_DIR, Workspace

CSV = b"id,name\n1,Ann\n2,Bo,extra\n3,Cy\n"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _CutShort(_Quiet):
    """Announces more bytes than it sends, as a connection dropped mid-download does."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"id\n1\n")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A folder served at a loopback URL (the URL, the folder)."""
    folder = tmp_path / "site"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


def _scratch(workspace: Workspace) -> list[Path]:
    folder = workspace.root / STATE_DIR / "scratch"
    return list(folder.iterdir()) if folder.exists() else []


def test_url_ingests_as_its_file_naming_the_url(workspace: Workspace, served: tuple[str, Path]) -> None:
    base, folder = served
    (folder / "people.csv.gz").write_bytes(gzip.compress(CSV))
    url = f"{base}/people.csv.gz"
    report = ingest(workspace, url, name="people")
    assert (report.format, report.location, report.rows, report.quarantined) == ("csv", url, 2, 1)
    frame = workspace.read("people")
    assert frame.select("id", "name").rows() == [(1, "Ann"), (3, "Cy")]
    source = frame[SOURCE].struct.unnest()
    assert source["file"].unique().to_list() == [url]
    assert source["line"].to_list() == [2, 4]
    assert workspace.read("people.quarantine").select("line", "file").rows() == [(3, url)]
    graph = workspace.lineage.upstream(workspace.resolve("people@1").artifact_id)
    (node,) = [n for n in graph.nodes if n.kind == "url"]
    assert (node.name, node.uri) == (url, url)
    assert node.properties["size"] == (folder / "people.csv.gz").stat().st_size
    assert _scratch(workspace) == []
    again = ingest(workspace, url, name="people")
    assert again.skipped
    assert again.ref == "people@1"
    (folder / "people.csv.gz").write_bytes(gzip.compress(CSV + b"4,Di\n"))
    changed = ingest(workspace, url, name="people")
    assert (changed.skipped, changed.ref, changed.rows) == (False, "people@2", 3)


def test_url_errors_name_the_url(workspace: Workspace, served: tuple[str, Path]) -> None:
    base, folder = served
    with pytest.raises(IngestError, match=rf"^{base}/absent.csv: HTTP 404") as info:
        ingest(workspace, f"{base}/absent.csv", name="t")
    assert info.value.hint
    assert "URL" in info.value.hint
    (folder / "bad.csv").write_bytes(CSV)
    with pytest.raises(QuarantineError, match=rf"^{base}/bad.csv, line 3: expected 2 fields"):
        ingest(workspace, f"{base}/bad.csv", name="t", strict=True)
    (folder / "empty.csv").write_bytes(b"")
    with pytest.raises(IngestError, match=r"empty\.csv served no bytes"):
        ingest(workspace, f"{base}/empty.csv", name="t")
    assert workspace.datasets() == []
    assert _scratch(workspace) == []


def test_unreachable_and_cut_short_downloads(workspace: Workspace) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CutShort)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(IngestError, match=r"stopped after 5 of 1,000 bytes"):
            ingest(workspace, f"http://127.0.0.1:{port}/data.csv", name="t")
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(IngestError, match=rf"cannot download http://127.0.0.1:{port}/data.csv"):
        ingest(workspace, f"http://127.0.0.1:{port}/data.csv", name="t")  # nothing listens now
    assert workspace.datasets() == []
    assert _scratch(workspace) == []
