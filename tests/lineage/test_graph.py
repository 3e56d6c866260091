"""Lineage queries on a known graph, on SQLite and PostgreSQL.

file:raw.csv ──ingest(e1)──▶ raw@1 ─┐
file:spam.txt ─ingest(e2)──▶ spam@1 ┴─join(e3)──▶ joined@1 ──split(e4)──▶ train@1 ──fit(e5)──▶ model
                                                                       └──▶ test@1 ──eval(e6)──▶ report
                                                                 model ─────────────┘
"""

from dataclasses import dataclass

import pytest

from datawheel.errors import LineageError
from datawheel.lineage import ArtifactInfo, LineageGraph
from datawheel.workspace import Workspace


@dataclass
class Known:
    graph: LineageGraph
    a: dict[str, ArtifactInfo]
    e: dict[str, int]


@pytest.fixture
def known(workspace: Workspace) -> Known:
    g = workspace.lineage
    a = {
        "raw.csv": g.add_artifact("file", "/data/raw.csv", digest="d1", uri="file:///data/raw.csv"),
        "spam.txt": g.add_artifact("file", "/data/spam.txt", digest="d2"),
        **{
            n: g.add_artifact("dataset_version", n)
            for n in ("raw@1", "spam@1", "joined@1", "train@1", "test@1")
        },
        "model": g.add_artifact("model", "spam-model@1"),
        "report": g.add_artifact("report", "eval@1"),
    }
    steps = {
        "e1": ("ingest", ["raw.csv"], ["raw@1"]),
        "e2": ("ingest", ["spam.txt"], ["spam@1"]),
        "e3": ("join", ["raw@1", "spam@1"], ["joined@1"]),
        "e4": ("split", ["joined@1"], ["train@1", "test@1"]),
        "e5": ("fit", ["train@1"], ["model"]),
        "e6": ("evaluate", ["test@1", "model"], ["report"]),
    }
    e = {}
    for key, (step, ins, outs) in steps.items():
        run = g.start_execution(step, parameters={"key": key})
        for name in ins:
            g.record_event(run.id, a[name].id, "input")
        for name in outs:
            g.record_event(run.id, a[name].id, "output", role="train" if name == "train@1" else "")
        g.finish_execution(run.id)
        e[key] = run.id
    return Known(g, a, e)


def _names(nodes: object) -> set[str]:
    return {n.name for n in nodes}  # type: ignore[attr-defined]


def test_upstream_reaches_every_source(known: Known) -> None:
    graph = known.graph.upstream(known.a["report"].id)
    assert _names(graph.artifacts()) == {
        "/data/raw.csv",
        "/data/spam.txt",
        "raw@1",
        "spam@1",
        "joined@1",
        "train@1",
        "test@1",
        "spam-model@1",
    }
    steps = [n for n in graph.nodes if n.kind == "execution"]
    assert sorted(n.name for n in steps) == ["evaluate", "fit", "ingest", "ingest", "join", "split"]
    # only edges along the walk: the split's output test@1 and train@1 both lead to the report
    assert len(graph.edges) == 2 + 2 + 3 + 3 + 2 + 3


def test_downstream_and_impact(known: Known) -> None:
    graph = known.graph.downstream(known.a["spam.txt"].id)
    assert _names(graph.artifacts()) == {"spam@1", "joined@1", "train@1", "test@1", "spam-model@1", "eval@1"}
    assert "/data/raw.csv" not in _names(graph.nodes)
    impact = known.graph.impact(known.a["train@1"].id)
    assert [x.name for x in impact] == ["spam-model@1", "eval@1"]  # nearest first
    assert known.graph.impact(known.a["report"].id) == []


def test_depth_limits_the_walk(known: Known) -> None:
    one = known.graph.upstream(known.a["model"].id, depth=1)
    assert _names(one.artifacts()) == {"train@1"}
    assert [n.name for n in one.nodes if n.kind == "execution"] == ["fit"]
    two = known.graph.upstream(known.a["model"].id, depth=2)
    assert _names(two.artifacts()) == {"train@1", "joined@1"}
    zero = known.graph.upstream(known.a["model"].id, depth=0)
    assert (len(zero.nodes), len(zero.edges)) == (1, 0)


def test_edges_follow_the_data(known: Known) -> None:
    graph = known.graph.upstream(known.a["train@1"].id, depth=1)
    (out,) = [e for e in graph.edges if e.type == "output"]
    assert (out.source, out.target, out.role) == (f"e{known.e['e4']}", f"a{known.a['train@1'].id}", "train")
    (inp,) = [e for e in graph.edges if e.type == "input"]
    assert (inp.source, inp.target) == (f"a{known.a['joined@1'].id}", f"e{known.e['e4']}")


def test_json_shape(known: Known) -> None:
    shape = known.graph.upstream(known.a["raw@1"].id).to_dict()
    assert set(shape) >= {"nodes", "edges"}
    files = [n for n in shape["nodes"] if n["kind"] == "file"]
    assert files[0]["name"] == "/data/raw.csv"
    assert files[0]["uri"] == "file:///data/raw.csv"
    assert all({"id", "kind", "name"} <= set(n) for n in shape["nodes"])
    assert all({"from", "to"} <= set(e) for e in shape["edges"])


def test_artifacts_are_deduplicated_by_kind_name_digest(known: Known) -> None:
    again = known.graph.add_artifact("file", "/data/raw.csv", digest="d1")
    assert again.id == known.a["raw.csv"].id
    changed = known.graph.add_artifact("file", "/data/raw.csv", digest="d9")
    assert changed.id != again.id
    assert [x.digest for x in known.graph.find_artifacts("file", "/data/raw.csv")] == ["d1", "d9"]


def test_executions_and_contexts(known: Known) -> None:
    run = known.graph.execution(known.e["e3"])
    assert (run.step, run.status, run.parameters) == ("join", "completed", {"key": "e3"})
    assert run.ended_at is not None
    assert run.started_at <= run.ended_at
    ctx = known.graph.add_context("pipeline", "spam")
    assert known.graph.add_context("pipeline", "spam") == ctx
    started = known.graph.start_execution("again", contexts=[ctx])
    known.graph.attribute(ctx, known.a["model"].id)
    known.graph.attribute(ctx, known.a["model"].id)
    assert [x.id for x in known.graph.executions(context_id=ctx)] == [started.id]
    failed = known.graph.finish_execution(started.id, status="failed", error="boom")
    assert (failed.status, failed.error) == ("failed", "boom")


def test_unknown_ids(known: Known) -> None:
    with pytest.raises(LineageError, match="no artifact #999999"):
        known.graph.upstream(999_999)
    with pytest.raises(LineageError, match="no execution #999999"):
        known.graph.finish_execution(999_999)
    with pytest.raises(LineageError, match="neither 'input' nor 'output'"):
        known.graph.record_event(known.e["e1"], known.a["model"].id, "sideways")  # type: ignore[arg-type]
