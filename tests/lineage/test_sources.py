import math
import threading
import time
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import given
from hypothesis import strategies as st

from datawheel.errors import LineageError
from datawheel.lineage import QUALITY_WEIGHTS, RoundInfo, SourceInfo, connect, head_revision, value_score
from datawheel.lineage._db import _alembic_config
from datawheel.workspace import Workspace

FORUM: dict[str, float | str] = {
    "uri": "https://forum.example/dump",
    "cost": 0.0,
    "days": 2.0,
    "expected_rows": 30_000,
}


def _add(ws: Workspace, name: str, quality: str = "medium", **fields: float | str) -> SourceInfo:
    values: dict[str, float | str] = {**FORUM, **fields}
    return ws.sources.add(
        name,
        uri=str(values["uri"]),
        cost=float(values["cost"]),
        days=float(values["days"]),
        expected_rows=int(values["expected_rows"]),
        quality=quality,
        notes=str(values.get("notes", "")),
    )


# -- the value score ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected_rows", "quality", "cost", "days", "score"),
    [
        (30_000, "medium", 0, 2, 10_000.0),  # free: rows per (1 + days)
        (30_000, "high", 0, 2, 20_000.0),  # high quality counts double
        (30_000, "low", 0, 2, 5_000.0),  # low counts half
        (30_000, "high", 99, 2, 200.0),  # cost divides: 30000 * 2 / 100 / 3
        (1_000, "medium", 0, 0, 1_000.0),  # free and instant: the rows themselves
        (0, "high", 0, 0, 0.0),  # no rows, no value
        (200_000, "high", 499, 1, 400.0),
        (10, "medium", 9, 9, 0.1),
    ],
)
def test_value_score_table(expected_rows: int, quality: str, cost: float, days: float, score: float) -> None:
    assert value_score(expected_rows=expected_rows, quality=quality, cost=cost, days=days) == pytest.approx(
        score
    )


_amount = st.floats(min_value=0, max_value=1e6, allow_nan=False)
_counts = st.integers(min_value=1, max_value=10**9)


@given(rows=_counts, more=st.integers(1, 10**6), cost=_amount, extra=st.floats(0.01, 1e3), days=_amount)
def test_value_score_is_monotone(rows: int, more: int, cost: float, extra: float, days: float) -> None:
    def score(r: int = rows, q: str = "medium", c: float = cost, d: float = days) -> float:
        return value_score(expected_rows=r, quality=q, cost=c, days=d)

    base = score()
    assert score(r=rows + more) > base
    assert score(q="high") > base > score(q="low")
    assert score(c=cost + extra) < base
    assert score(d=days + extra) < base


def test_value_score_rejects_an_unknown_quality() -> None:
    with pytest.raises(LineageError, match="quality 'great' is not one of low, medium, high"):
        value_score(expected_rows=1, quality="great", cost=0, days=0)
    assert dict(QUALITY_WEIGHTS) == {"low": 0.5, "medium": 1.0, "high": 2.0}


# -- sources -----------------------------------------------------------------------------------


def test_add_get_and_list_best_first(workspace: Workspace) -> None:
    forum = _add(workspace, "forum", notes="public dump")
    _add(workspace, "vendor", "high", uri="s3://vendor/drop", cost=499, days=1, expected_rows=200_000)
    _add(workspace, "survey", "low", uri="mailto:team@example.org", cost=0, days=0, expected_rows=500)
    _add(workspace, "crawl", "medium", uri="https://crawl.example", cost=0, days=2, expected_rows=30_000)

    assert (forum.name, forum.quality, forum.expected_rows, forum.value_score) == (
        "forum",
        "medium",
        30_000,
        1e4,
    )
    assert forum.created_at == forum.updated_at
    assert workspace.sources.get("forum") == forum
    ranked = workspace.sources.list()
    # crawl and forum tie at 10,000 and are ordered by name
    assert [(s.name, s.value_score) for s in ranked] == [
        ("crawl", 10_000.0),
        ("forum", 10_000.0),
        ("vendor", 400.0),  # 200,000 x 2 / 500 / 2
        ("survey", 250.0),  # 500 x 0.5, free and instant
    ]
    assert forum.to_dict() == {
        "name": "forum",
        "uri": "https://forum.example/dump",
        "cost": 0.0,
        "days": 2.0,
        "expected_rows": 30_000,
        "quality": "medium",
        "value_score": 10_000.0,
        "notes": "public dump",
        "created_at": forum.created_at.isoformat(),
        "updated_at": forum.updated_at.isoformat(),
    }


def test_adding_an_existing_source_needs_replace(workspace: Workspace) -> None:
    first = _add(workspace, "forum")
    with pytest.raises(LineageError) as caught:
        _add(workspace, "forum", cost=5)
    assert caught.value.message == "source 'forum' already exists"
    assert caught.value.hint is not None
    assert "--replace" in caught.value.hint
    assert workspace.sources.get("forum").cost == 0.0

    changed = workspace.sources.add(
        "forum",
        uri="https://forum.example/v2",
        cost=5,
        days=1,
        expected_rows=10,
        quality="high",
        replace=True,
    )
    assert (changed.uri, changed.cost, changed.days, changed.expected_rows, changed.quality) == (
        "https://forum.example/v2",
        5.0,
        1.0,
        10,
        "high",
    )
    assert changed.created_at == first.created_at
    assert changed.updated_at > first.updated_at
    assert [s.name for s in workspace.sources.list()] == ["forum"]


def test_replace_adds_a_source_that_does_not_exist(workspace: Workspace) -> None:
    info = workspace.sources.add("new", uri="x", cost=0, days=0, expected_rows=1, quality="low", replace=True)
    assert workspace.sources.get("new") == info


@pytest.mark.parametrize(
    ("name", "fields", "message"),
    [
        ("", {}, "'' cannot name a source"),
        ("-dash", {}, "'-dash' cannot name a source"),
        ("with space", {}, "'with space' cannot name a source"),
        ("x" * 257, {}, "cannot name a source"),
        ("forum", {"cost": -1.0}, "--cost of source 'forum' is -1.0, below 0"),
        ("forum", {"cost": math.nan}, "--cost of source 'forum' is nan, not a finite number"),
        ("forum", {"days": -0.5}, "--days of source 'forum' is -0.5, below 0"),
        ("forum", {"days": math.inf}, "--days of source 'forum' is inf, not a finite number"),
        ("forum", {"expected_rows": -3}, "--expected-rows of source 'forum' is -3, below 0"),
        (
            "forum",
            {"quality": "great"},
            "--quality of source 'forum' is 'great', not one of low, medium, high",
        ),
    ],
)
def test_bad_sources_are_refused_with_a_hint(
    workspace: Workspace, name: str, fields: dict[str, float | str], message: str
) -> None:
    values: dict[str, float | str] = {**FORUM, "quality": "medium", **fields}
    with pytest.raises(LineageError) as caught:
        workspace.sources.add(
            name,
            uri=str(values["uri"]),
            cost=float(values["cost"]),
            days=float(values["days"]),
            expected_rows=int(values["expected_rows"]),
            quality=str(values["quality"]),
        )
    assert message in caught.value.message
    assert caught.value.hint
    assert workspace.sources.list() == []


def test_get_and_remove_a_missing_source(workspace: Workspace) -> None:
    with pytest.raises(LineageError, match=r"no source 'forum' \(the plan has none yet\)"):
        workspace.sources.get("forum")
    _add(workspace, "vendor")
    with pytest.raises(LineageError, match=r"no source 'forum' \(there are: vendor\)"):
        workspace.sources.remove("forum")


def test_remove_keeps_the_lineage_artifact(workspace: Workspace) -> None:
    _add(workspace, "forum")
    artifact = workspace.sources.artifact("forum")
    removed = workspace.sources.remove("forum")
    assert removed.name == "forum"
    assert workspace.sources.list() == []
    assert [a.id for a in workspace.lineage.find_artifacts("source", "forum")] == [artifact.id]
    with pytest.raises(LineageError, match="no source 'forum'"):
        workspace.sources.artifact("forum")


def test_each_uri_of_a_source_is_its_own_artifact(workspace: Workspace) -> None:
    _add(workspace, "forum")
    first = workspace.sources.artifact("forum")
    assert (first.kind, first.name, first.uri) == ("source", "forum", FORUM["uri"])
    assert workspace.lineage.find_artifacts("source", "forum") == [first]  # recorded by add()
    workspace.sources.add(
        "forum", uri=str(FORUM["uri"]), cost=9, days=9, expected_rows=9, quality="low", replace=True
    )
    assert workspace.sources.artifact("forum") == first  # same URI: same artifact
    workspace.sources.add(
        "forum", uri="https://elsewhere", cost=0, days=0, expected_rows=1, quality="low", replace=True
    )
    second = workspace.sources.artifact("forum")
    assert second.id != first.id
    assert second.uri == "https://elsewhere"
    assert workspace.lineage.artifact(first.id).uri == FORUM["uri"]  # old ingests keep the old URI


# -- rounds ------------------------------------------------------------------------------------


def _context(ws: Workspace, context_id: int) -> tuple[str, str]:
    with ws.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT kind, name FROM contexts WHERE id = :id"), {"id": context_id}
        ).one()
    return row[0], row[1]


def test_round_lifecycle(workspace: Workspace) -> None:
    plan = workspace.sources
    assert plan.current_round() is None
    assert plan.rounds() == []
    first = plan.start_round(days=7, notes="spring")
    assert (first.number, first.name, first.context, first.notes, first.is_open) == (
        1,
        "round-1",
        "round-1",
        "spring",
        True,
    )
    assert first.deadline - first.started_at == timedelta(days=7)
    assert _context(workspace, first.context_id) == ("round", "round-1")
    assert plan.current_round() == first

    with pytest.raises(LineageError) as caught:
        plan.start_round(days=3)
    assert caught.value.message.startswith("round 1 ('round-1') is still open, due ")
    assert caught.value.hint == "close it first with `datawheel round close`"

    closed = plan.close_round()
    assert closed.number == 1
    assert closed.closed_at is not None
    assert closed.closed_at >= closed.started_at
    assert plan.current_round() is None
    with pytest.raises(
        LineageError, match="no round is open; start one with `datawheel round start --days N`"
    ):
        plan.close_round()

    second = plan.start_round(days=0.5, name="  crawl burst  ")
    assert (second.number, second.name, second.context) == (2, "crawl burst", "round-2")
    assert second.context_id != first.context_id
    assert [(r.number, r.is_open) for r in plan.rounds()] == [(1, False), (2, True)]
    assert second.to_dict() == {
        "number": 2,
        "name": "crawl burst",
        "context": "round-2",
        "started_at": second.started_at.isoformat(),
        "days": 0.5,
        "deadline": second.deadline.isoformat(),
        "closed_at": None,
        "open": True,
        "notes": "",
    }


@pytest.mark.parametrize(
    ("days", "name", "message"),
    [
        (0.0, None, "a round cannot last 0.0 days"),
        (-2.0, None, "a round cannot last -2.0 days"),
        (math.nan, None, "a round cannot last nan days"),
        (math.inf, None, "a round cannot last inf days"),
        (40_000.0, None, "a round cannot last 40000.0 days"),
        (7.0, "   ", "'   ' cannot name a round"),
    ],
)
def test_bad_rounds_are_refused(workspace: Workspace, days: float, name: str | None, message: str) -> None:
    with pytest.raises(LineageError) as caught:
        workspace.sources.start_round(days=days, name=name)
    assert caught.value.message == message
    assert caught.value.hint
    assert workspace.sources.rounds() == []


def test_only_one_of_two_concurrent_starts_opens_a_round(workspace: Workspace) -> None:
    barrier = threading.Barrier(2)
    started: list[RoundInfo] = []
    refused: list[LineageError] = []

    def start() -> None:
        barrier.wait()
        try:
            started.append(workspace.sources.start_round(days=1))
        except LineageError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(started) == 1
    assert len(refused) == 1
    assert "is still open" in refused[0].message
    assert [r.number for r in workspace.sources.rounds()] == [1]


def _ingest(
    ws: Workspace,
    context: int | None,
    frames: dict[str, pl.DataFrame],
    *,
    source: str | None,
    reads: str | None = None,
) -> int:
    """An ingest-like execution in ``context`` that commits ``frames``, as the pipeline will make one."""
    run = ws.lineage.start_execution(
        "ingest", parameters={"source": source} if source else {}, contexts=[context] if context else []
    )
    if reads is not None:
        ws.lineage.record_event(run.id, ws.sources.artifact(reads).id, "input", role="source")
    for name, frame in frames.items():
        ws.commit(name, frame, execution_id=run.id)
    ws.lineage.finish_execution(run.id)
    return run.id


def _rows(n: int, start: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {"id": list(range(start, start + n)), "text": [f"row {i}" for i in range(start, start + n)]}
    )


def test_round_status_counts_rows_added_per_source_and_dataset(workspace: Workspace) -> None:
    ws = workspace
    _add(ws, "forum")
    _add(ws, "vendor", "high")
    ws.commit("sms", _rows(1))  # before the round: sms@1, 1 row
    current = ws.sources.start_round(days=7)
    ctx = current.context_id
    e1 = _ingest(ws, ctx, {"sms": _rows(3)}, source="forum", reads="forum")  # sms@2: +2
    e2 = _ingest(ws, ctx, {"sms": _rows(5), "other": _rows(4)}, source="vendor")  # sms@3: +2, other@1: +4
    e3 = _ingest(ws, ctx, {"other": _rows(10)}, source=None, reads="vendor")  # source from its input: +6
    failed = ws.lineage.start_execution("ingest", parameters={"source": "forum"}, contexts=[ctx])
    ws.lineage.finish_execution(failed.id, status="failed", error="bad file")
    _ingest(ws, None, {"sms": _rows(50)}, source="forum")  # outside the round: not counted
    e5 = _ingest(
        ws, ctx, {"sms": _rows(20)}, source=None
    )  # no source named; sms@5 follows sms@4 (50 rows): -30

    status = ws.sources.round_status()
    assert status.round == current
    assert [(e.execution_id, e.source, e.status, e.rows_added) for e in status.executions] == [
        (e1, "forum", "completed", 2),
        (e2, "vendor", "completed", 6),
        (e3, "vendor", "completed", 6),
        (failed.id, "forum", "failed", 0),
        (e5, None, "completed", -30),
    ]
    assert [v.to_dict() for v in status.executions[1].versions] == [
        {"ref": "sms@3", "dataset": "sms", "version": 3, "rows": 5, "rows_added": 2},
        {"ref": "other@1", "dataset": "other", "version": 1, "rows": 4, "rows_added": 4},
    ]
    assert status.rows_added == 2 + 6 + 6 + 0 - 30
    assert status.by_source() == [("vendor", 2, 12), ("forum", 2, 2), (None, 1, -30)]
    assert status.by_dataset() == [
        ("other", ("other@1", "other@2"), 10),
        ("sms", ("sms@2", "sms@3", "sms@5"), -26),
    ]
    assert not status.overdue
    assert status.days_left == pytest.approx(7, abs=0.01)

    shape = status.to_dict()
    assert set(shape) == {
        "round",
        "as_of",
        "days_left",
        "overdue",
        "rows_added",
        "by_source",
        "by_dataset",
        "executions",
    }
    assert shape["by_source"][0] == {"source": "vendor", "executions": 2, "rows_added": 12}
    assert shape["by_dataset"][0] == {
        "dataset": "other",
        "versions": ["other@1", "other@2"],
        "rows_added": 10,
    }
    assert set(shape["executions"][0]) == {
        "execution",
        "step",
        "status",
        "source",
        "started_at",
        "ended_at",
        "rows_added",
        "versions",
    }
    assert shape["executions"][3]["ended_at"] is not None


def test_lineage_shows_source_then_ingest_then_version(workspace: Workspace) -> None:
    _add(workspace, "forum")
    current = workspace.sources.start_round(days=1)
    run = _ingest(workspace, current.context_id, {"posts": _rows(2)}, source="forum", reads="forum")
    graph = workspace.lineage.upstream(workspace.artifact("posts@1").id)
    assert [(n.kind, n.name) for n in graph.nodes] == [
        ("dataset_version", "posts@1"),
        ("execution", "ingest"),
        ("source", "forum"),
    ]
    source = workspace.sources.artifact("forum")
    assert {(e.source, e.target, e.type) for e in graph.edges} == {
        (f"a{source.id}", f"e{run}", "input"),
        (f"e{run}", graph.root, "output"),
    }


def test_status_of_a_closed_an_overdue_and_a_given_round(workspace: Workspace) -> None:
    plan = workspace.sources
    with pytest.raises(LineageError, match="there is no collection round yet; start one"):
        plan.round_status()
    first = plan.start_round(days=1e-9)  # due 86 microseconds after it started
    time.sleep(0.01)
    late = plan.round_status()
    assert late.overdue
    assert late.days_left is not None
    assert late.days_left < 0
    assert late.to_dict()["overdue"] is True
    plan.close_round()
    closed = plan.round_status()  # none open: the last one
    assert (closed.round.number, closed.round.is_open, closed.days_left, closed.overdue) == (
        1,
        False,
        None,
        True,
    )
    assert closed.to_dict()["days_left"] is None

    plan.start_round(days=30)
    assert plan.round_status().round.number == 2
    assert plan.round_status(1).round == closed.round
    assert plan.round_status(1).round.context_id == first.context_id
    with pytest.raises(LineageError, match=r"there is no round 3 \(there are rounds 1..2\)"):
        plan.round_status(3)
    plan.close_round()
    assert not plan.round_status(2).overdue  # closed before its deadline


# -- the migration -----------------------------------------------------------------------------


def _tables(url: str) -> set[str]:
    engine = connect(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_workspace_at_revision_0001_upgrades_on_open(tmp_path: Path, database_url: str | None) -> None:
    root = tmp_path / "ws"
    (root / ".datawheel").mkdir(parents=True)
    url = database_url or f"sqlite:///{root / '.datawheel' / 'metadata.db'}"
    engine = connect(url)
    with engine.connect() as conn:
        config = _alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            sa.text(
                "INSERT INTO contexts (kind, name, properties, created_at) VALUES ('run', 'old', '{}', :t)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
        conn.commit()
    engine.dispose()
    assert not {"sources", "rounds"} & _tables(url)

    with Workspace.init(root, database_url=database_url) as ws:
        assert {"sources", "rounds"} <= _tables(url)
        with ws.engine.connect() as conn:
            assert (
                conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
            )
            assert conn.execute(sa.text("SELECT name FROM contexts")).scalars().all() == ["old"]
        _add(ws, "forum")
        assert ws.sources.start_round(days=1).number == 1


def test_the_migration_downgrades_to_0001(workspace: Workspace) -> None:
    _add(workspace, "forum")
    with workspace.engine.connect() as conn:
        config = _alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
        conn.commit()
    names = set(sa.inspect(workspace.engine).get_table_names())
    assert "artifacts" in names
    assert not {"sources", "rounds"} & names
