"""Two processes committing at once, and a process killed in the middle of a commit."""

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

from datawheel.workspace import Workspace

_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import polars as pl
    from datawheel.workspace import Workspace
    root, writer, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    with Workspace.open(root) as ws:
        while not go.exists():
            time.sleep(0.005)
        for seq in range(count):
            frame = pl.DataFrame({"writer": [writer] * 50, "seq": [seq] * 50, "i": list(range(50))})
            ws.commit("shared", frame, message=f"{writer}-{seq}")
    """
)

_BIG_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import polars as pl
    from datawheel.workspace import Workspace
    with Workspace.open(Path(sys.argv[1])) as ws:
        n = 2_000_000
        frame = pl.DataFrame({"i": range(n)}).with_columns(
            (pl.lit("row ") + pl.col("i").cast(pl.String)).alias("text")
        )
        print("ready", flush=True)
        ws.commit("big", frame, message="big")
        print("done", flush=True)
    """
)


@pytest.mark.slow
def test_two_processes_commit_at_once_and_lose_nothing(workspace: Workspace, tmp_path: Path) -> None:
    go = tmp_path / "go"
    count = 6
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(workspace.root), w, str(count), str(go)])
        for w in ("a", "b")
    ]
    time.sleep(1.0)  # let both import and open the workspace, then start them together
    go.touch()
    assert [p.wait(timeout=240) for p in procs] == [0, 0]
    versions = workspace.versions("shared")
    assert [v.version for v in versions] == list(range(1, 2 * count + 1))
    assert len({v.delta_version for v in versions}) == 2 * count
    seen = set()
    for v in versions:
        frame = workspace.read(v)
        writer, seq = frame["writer"].unique().to_list(), frame["seq"].unique().to_list()
        assert len(writer) == 1
        assert len(seq) == 1
        assert v.message == f"{writer[0]}-{seq[0]}"
        assert frame.height == 50
        seen.add((writer[0], seq[0]))
    assert seen == {(w, s) for w in ("a", "b") for s in range(count)}


def _kill(proc: subprocess.Popen[str], table: Path, moment: str) -> None:
    if moment == "mid-write":  # a new data file is on disk, not yet in the Delta log
        deadline = time.monotonic() + 60
        while len(list(table.glob("*.parquet"))) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["before-write", "mid-write"])
def test_killed_commit_leaves_the_last_version_intact(workspace: Workspace, moment: str) -> None:
    before = pl.DataFrame({"i": [1, 2, 3], "text": ["a", "b", "c"]})
    workspace.commit("big", before)
    table = workspace.tables.path("big")
    with subprocess.Popen(
        [sys.executable, "-c", _BIG_WRITER, str(workspace.root)], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        _kill(proc, table, moment)

    latest = workspace.resolve("big")
    frame = workspace.read(latest)
    if latest.version == 1:
        assert frame.select("i", "text").equals(before)
    else:  # the commit finished before the kill: then it is whole
        assert latest.version == 2
        assert frame.height == 2_000_000
    assert workspace.read("big@1").select("i", "text").equals(before)
    after = workspace.commit("big", pl.DataFrame({"i": [7], "text": ["z"]}))
    assert after.version == latest.version + 1
    assert workspace.read(after)["text"].to_list() == ["z"]
