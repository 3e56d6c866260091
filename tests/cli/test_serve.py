import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from datawheel.pipeline._labelling_tasks import next_task, submit
from datawheel.pipeline._labelling_users import find_user
from datawheel.workspace import Workspace

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture of conftest.py


def run_json(run: Run, *args: str) -> Any:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_users_add_prints_a_one_time_password(run: Run, ws_dir: Path) -> None:
    made = run_json(run, "users", "add", "ann", "--role", "annotator")
    assert (made["name"], made["role"]) == ("ann", "annotator")
    assert len(made["password"]) >= 16
    given = run_json(run, "users", "add", "rev", "--role", "reviewer", "--password", "long-enough")
    assert given["password"] is None
    assert [u["name"] for u in run_json(run, "users", "list")] == ["ann", "rev"]
    code, _, err = run("users", "add", "x", "--role", "boss")
    assert code == 2
    assert "'boss' is not a role" in err
    code, _, err = run("users", "add", "ann", "--role", "annotator")
    assert code == 2
    assert "already an account" in err


def test_project_create_list_and_export(run: Run, ws_dir: Path, tmp_path: Path) -> None:
    with Workspace.open(ws_dir) as ws:
        ws.commit("sms", pl.DataFrame({"text": ["win a prize", "lunch?", "free cash"]}))
    run("users", "add", "ann", "--role", "annotator", "--password", "ann-password")
    guide = tmp_path / "guide.md"
    guide.write_text("# Spam\nOffers you did not ask for.", encoding="utf-8")
    made = run_json(
        run, "project", "create", "triage", "sms", "--column", "text", "--labels", "ham,spam:#ff0000:s",
        "--guidelines", str(guide), "--members", "ann", "--priority", "random",
    )  # fmt: skip
    assert (made["items"], made["labels"][1]["hotkey"], made["guideline_version"]) == (3, "s", 1)
    assert made["guidelines"].startswith("# Spam")
    assert [p["name"] for p in run_json(run, "project", "list")] == ["triage"]
    with Workspace.open(ws_dir) as ws:
        ids = ws.read("sms")["_row_id"].to_list()
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(f'{{"item": "{i}", "label": "spam"}}\n' for i in ids), encoding="utf-8")
    assert run_json(run, "project", "import", "triage", str(predictions))["suggested"] == 3
    with Workspace.open(ws_dir) as ws:
        user = find_user(ws, "ann")
        while (task := next_task(ws, "triage", user)) is not None:
            assert task.suggestion == "spam"
            submit(ws, task.assignment, user, "spam")
    out = tmp_path / "labels.jsonl"
    done = run_json(run, "project", "export", "triage", "--output", str(out))
    assert (done["labels"], done["label_rows"], done["decided"], done["file_rows"]) == (
        "triage.labels@1",
        3,
        {"unanimous": 3},
        3,
    )
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3
    code, _, err = run("project", "create", "bad", "sms", "--column", "nope", "--labels", "a")
    assert code == 2
    assert "no text column 'nope'" in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(root: Path, port: int) -> tuple[str, int]:
    """Start `datawheel serve`, wait for /api/health, stop it; its first output and health status."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "datawheel", "-C", str(root), "serve", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        status = 0
        while time.monotonic() < deadline and status != 200:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code
            except httpx.TransportError:
                time.sleep(0.1)
        refused = httpx.get(f"http://127.0.0.1:{port}/api/projects", timeout=5).status_code
        assert refused == 401
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    return output, status


def test_serve_starts_with_a_one_time_admin_password(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.init(root).close()
    first, status = _serve(root, _free_port())
    assert status == 200
    found = re.search(r"admin account 'admin', one-time password: (\S+)", first)
    assert found is not None
    again, _ = _serve(root, _free_port())
    assert "one-time password" not in again  # printed once only
    with Workspace.open(root) as ws:
        from datawheel.pipeline._labelling_users import verify_password

        assert verify_password(ws, "admin", found.group(1)) is not None
