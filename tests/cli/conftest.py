"""Fixtures of the command-line tests: a workspace to run in, and a way to run a command."""

from collections.abc import Callable
from pathlib import Path

import pytest

from datawheel.cli import main
from datawheel.workspace import Workspace

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run ``datawheel ARGS…`` in this process; give its exit code, stdout and stderr."""

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def ws_dir(tmp_path: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new workspace (on SQLite and on PostgreSQL) that is the current folder."""
    root = tmp_path / "ws"
    Workspace.init(root, database_url=database_url).close()
    monkeypatch.chdir(root)
    return root
