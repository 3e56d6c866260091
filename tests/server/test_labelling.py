"""Labelling projects in the workspace (SQLite and PostgreSQL): assignment, rounds, export, lineage."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from tests.server.conftest import accounts, sms_frame

from datawheel.errors import LabellingError
from datawheel.ingest import read_folder
from datawheel.lineage._models import Base
from datawheel.pipeline._labelling import (
    add_members,
    create_project,
    get_project,
    set_guidelines,
    start_round,
)
from datawheel.pipeline._labelling_export import export_project, final_labels, project_stats, write_labels
from datawheel.pipeline._labelling_import import import_suggestions, read_labels
from datawheel.pipeline._labelling_tasks import decide, next_task, review_queue, skip, submit, undo_last
from datawheel.pipeline._labelling_users import UserInfo, open_session
from datawheel.server import CSRF_HEADER, SESSION_COOKIE, create_app
from datawheel.workspace import Workspace

DIGITS = Path(__file__).parents[1] / "data" / "digits_png"


def test_the_migration_matches_the_models(workspace: Workspace) -> None:
    import datawheel.lineage._labelling_models  # noqa: F401  (registers the tables on Base)

    with workspace.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "label_" in str(d)] == []


def _people(ws: Workspace, roles: dict[str, str], *projects: str) -> dict[str, UserInfo]:
    users = accounts(ws, roles)
    for project in projects or ("p",):
        add_members(ws, project, list(users))
    return users


def _project(ws: Workspace, **options: object) -> None:
    ws.commit("sms", sms_frame(30).with_columns(pl.Series("score", [float(i % 7) for i in range(30)])))
    create_project(
        ws,
        "p",
        "sms",
        task_type="single",
        column="text",
        labels=["ham", "spam"],
        **options,  # type: ignore[arg-type]
    )


def test_overlap_pulls_each_item_to_k_different_annotators(workspace: Workspace) -> None:
    _project(workspace, overlap=2)
    users = _people(workspace, {"a": "annotator", "b": "annotator", "c": "annotator"})
    seen: dict[str, list[int]] = {name: [] for name in users}
    for _ in range(20):
        for name, user in users.items():
            task = next_task(workspace, "p", user)
            if task is not None:
                seen[name].append(task.item)
                submit(workspace, task.assignment, user, "ham")
    for items in seen.values():
        assert len(items) == len(set(items))  # never the same item twice to one person
    counts = pl.Series([i for items in seen.values() for i in items]).value_counts()
    assert counts["count"].to_list() == [2] * 30  # every item labelled by exactly two
    assert sorted(len(v) for v in seen.values()) == [20, 20, 20]  # balanced by pace
    assert next_task(workspace, "p", users["a"]) is None


def test_priority_by_score_and_pilot_round(workspace: Workspace) -> None:
    _project(workspace, priority="score", score_column="score", pilot=4, seed=3)
    user = _people(workspace, {"a": "annotator"})["a"]
    info = get_project(workspace, "p")
    assert (info.round, info.pilot_items) == ("pilot", 4)
    pilot = []
    while (task := next_task(workspace, "p", user)) is not None:
        pilot.append(task.round)
        submit(workspace, task.assignment, user, "spam")
    assert pilot == ["pilot"] * 4
    start_round(workspace, "p", "main")
    version = set_guidelines(workspace, "p", "## Revised\nLinks to prizes are spam.", author="boss")
    task = next_task(workspace, "p", user)
    assert task is not None
    assert task.round == "main"
    scores = workspace.read("sms").filter(pl.col("_row_id") == task.row_id)["score"]
    assert scores[0] == 6.0  # the highest score first
    done = submit(workspace, task.assignment, user, "ham")
    assert done.guideline_version == version == 2


def test_skip_gives_the_item_to_someone_else_and_undo_reopens(workspace: Workspace) -> None:
    _project(workspace)
    users = _people(workspace, {"a": "annotator", "b": "annotator"})
    first = next_task(workspace, "p", users["a"])
    assert first is not None
    skip(workspace, first.assignment, users["a"], reason="not sure")
    again = next_task(workspace, "p", users["b"])
    assert again is not None
    assert again.item == first.item  # back in the pool
    submit(workspace, again.assignment, users["b"], "spam", duration_ms=1500)
    reopened = undo_last(workspace, "p", users["b"])
    assert (reopened.assignment, reopened.value, reopened.status) == (again.assignment, "spam", "open")
    with pytest.raises(LabellingError, match="no submission to undo"):
        undo_last(workspace, "p", users["b"])
    submit(workspace, again.assignment, users["b"], "ham")
    stats = project_stats(workspace, "p")
    assert (stats.annotations, stats.skipped) == (1, 1)


def test_answers_are_checked_for_each_task_type(workspace: Workspace) -> None:
    workspace.commit("t", pl.DataFrame({"text": ["Ann works at Acme"]}))
    create_project(workspace, "ner", "t", task_type="spans", column="text", labels=["PER", "ORG"])
    create_project(workspace, "multi", "t", task_type="multi", column="text", labels=["a", "b"])
    user = _people(workspace, {"a": "annotator"}, "ner", "multi")["a"]
    ner = next_task(workspace, "ner", user)
    assert ner is not None
    with pytest.raises(LabellingError, match="not valid"):
        submit(workspace, ner.assignment, user, [{"start": 0, "end": 99, "label": "PER"}])
    spans = [{"start": 12, "end": 16, "label": "ORG"}, {"start": 0, "end": 3, "label": "PER"}]
    assert submit(workspace, ner.assignment, user, spans).label == '[[0,3,"PER"],[12,16,"ORG"]]'
    multi = next_task(workspace, "multi", user)
    assert multi is not None
    with pytest.raises(LabellingError, match="not an answer"):
        submit(workspace, multi.assignment, user, "a")
    assert submit(workspace, multi.assignment, user, ["b", "a", "b"]).value == ["a", "b"]


def _two_opinions(ws: Workspace) -> None:
    _project(ws, overlap=3)
    users = _people(ws, {"a": "annotator", "b": "annotator", "c": "annotator", "r": "reviewer"})
    answers = {"a": ["spam", "ham", "ham"], "b": ["spam", "spam", "ham"], "c": ["spam", "spam", "spam"]}
    for name, labels in answers.items():
        for label in labels:
            task = next_task(ws, "p", users[name])
            assert task is not None
            submit(ws, task.assignment, users[name], label)
    queue = review_queue(ws, "p")
    assert len(queue) == 2  # items 2 and 3 are contested
    decide(ws, queue[1]["item"], users["r"], "ham", note="guideline 2.1")


def test_final_labels_say_how_they_were_decided(workspace: Workspace) -> None:
    _two_opinions(workspace)
    labels = final_labels(workspace, "p").sort("how")
    assert labels.select("label", "how").rows() == [
        ("spam", "majority"),
        ("ham", "reviewer"),
        ("spam", "unanimous"),
    ]
    assert labels["confidence"].to_list()[0] == pytest.approx(2 / 3)
    ds = final_labels(workspace, "p", method="dawid-skene")
    assert sorted(ds["how"].to_list()) == ["dawid-skene", "reviewer", "unanimous"]


def test_export_commits_versions_with_lineage_through_the_project(workspace: Workspace) -> None:
    _two_opinions(workspace)
    done = export_project(workspace, "p")
    assert (done.annotations.ref, done.annotations.rows, done.labels.rows) == ("p.annotations@1", 9, 3)
    rows = workspace.read(done.annotations.ref)
    assert {
        "item",
        "annotator",
        "label",
        "time",
        "duration_ms",
        "guideline_version",
        "suggestion_used",
    } <= set(rows.columns)
    upstream = workspace.lineage.upstream(done.labels.artifact_id)
    names = {node.name for node in upstream.nodes}
    assert {"p", "label-export", "label-project", "sms@1"} <= names
    downstream = workspace.lineage.downstream(workspace.resolve("sms").artifact_id)
    assert {"p.labels@1", "p.annotations@1"} <= {node.name for node in downstream.nodes}


def test_files_in_each_format(workspace: Workspace, tmp_path: Path) -> None:
    _two_opinions(workspace)
    assert write_labels(workspace, "p", tmp_path / "l.jsonl") == 3
    first = json.loads((tmp_path / "l.jsonl").read_text().splitlines()[0])
    assert {"item", "label", "how", "text"} <= set(first)
    write_labels(workspace, "p", tmp_path / "a.csv", what="annotations")
    assert len((tmp_path / "a.csv").read_text().splitlines()) == 10
    write_labels(workspace, "p", tmp_path / "ls.json", what="annotations")
    tasks = json.loads((tmp_path / "ls.json").read_text())
    assert len(tasks) == 3
    assert len(tasks[0]["annotations"]) == 3
    assert tasks[0]["annotations"][0]["result"][0]["value"]["choices"] == ["spam"]
    with pytest.raises(LabellingError, match="span projects"):
        write_labels(workspace, "p", tmp_path / "x.conll")


def test_conll_of_spans(workspace: Workspace, tmp_path: Path) -> None:
    workspace.commit("t", pl.DataFrame({"text": ["Ann Lee works at Acme Corp ."]}))
    create_project(workspace, "ner", "t", task_type="spans", column="text", labels=["PER", "ORG"])
    user = _people(workspace, {"a": "annotator"}, "ner")["a"]
    task = next_task(workspace, "ner", user)
    assert task is not None
    submit(
        workspace,
        task.assignment,
        user,
        [{"start": 0, "end": 7, "label": "PER"}, {"start": 17, "end": 26, "label": "ORG"}],
    )
    write_labels(workspace, "ner", tmp_path / "ner.conll")
    lines = (tmp_path / "ner.conll").read_text().splitlines()[1:]
    assert [line.split("\t")[1] for line in lines] == ["B-PER", "I-PER", "O", "O", "B-ORG", "I-ORG", "O"]


def test_image_tasks_serve_blob_bytes_only_to_who_may_see_them(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        reading = read_folder(DIGITS, pattern="{label}/{name}.png", put_blob=ws.blobs.put_file)
        ws.commit("digits", pl.concat(batch.frame for batch in reading.batches))
        create_project(
            ws, "img", "digits", task_type="image", column="blob", labels=[str(d) for d in range(10)]
        )
        users = _people(ws, {"a": "annotator", "b": "annotator"}, "img")
        task = next_task(ws, "img", users["a"])
        assert task is not None
        client = TestClient(create_app(ws))
        for name in ("a", "b"):
            token, signed = open_session(ws, users[name])
            client.cookies.set(SESSION_COOKIE, token)
            client.headers[CSRF_HEADER] = signed.csrf_token
            answer = client.get(f"/api/items/{task.item}/blob")
            if name == "a":
                assert answer.status_code == 200
                assert answer.headers["content-type"] == "image/png"
                assert answer.content == ws.blobs.get(task.payload["blob"])
                assert answer.content[:4] == b"\x89PNG"
            else:
                assert answer.status_code == 403


def test_suggestions_from_files_round_trip(workspace: Workspace, tmp_path: Path) -> None:
    _two_opinions(workspace)
    write_labels(workspace, "p", tmp_path / "final.json")  # Label Studio tasks of the final labels
    create_project(workspace, "again", "sms", task_type="single", column="text", labels=["ham", "spam"])
    assert import_suggestions(workspace, "again", tmp_path / "final.json") == 3
    user = _people(workspace, {"z": "annotator"}, "again")["z"]
    task = next_task(workspace, "again", user)
    assert task is not None
    expected = final_labels(workspace, "p").filter(pl.col("item") == task.row_id)["label"][0]
    assert task.suggestion == expected
    assert submit(workspace, task.assignment, user, expected).suggestion_used
    (tmp_path / "bad.jsonl").write_text('{"item": "nope", "label": "ham"}\n', encoding="utf-8")
    with pytest.raises(LabellingError, match="name no item"):
        import_suggestions(workspace, "again", tmp_path / "bad.jsonl")
    (tmp_path / "conf.csv").write_text(f"item,label,confidence\n{task.row_id},ham,0.25\n", encoding="utf-8")
    assert read_labels(tmp_path / "conf.csv") == [(task.row_id, "ham", 0.25)]


def test_conll_round_trip(workspace: Workspace, tmp_path: Path) -> None:
    workspace.commit("t", pl.DataFrame({"text": ["Ann Lee works at Acme Corp ."]}))
    create_project(workspace, "ner", "t", task_type="spans", column="text", labels=["PER", "ORG"])
    user = _people(workspace, {"a": "annotator"}, "ner")["a"]
    task = next_task(workspace, "ner", user)
    assert task is not None
    spans = [{"start": 0, "end": 7, "label": "PER"}, {"start": 17, "end": 26, "label": "ORG"}]
    submit(workspace, task.assignment, user, spans)
    write_labels(workspace, "ner", tmp_path / "ner.conll")
    assert read_labels(tmp_path / "ner.conll") == [(task.row_id, spans, None)]
