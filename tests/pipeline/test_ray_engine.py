"""The Ray engine: the built-in steps and the user's own give exactly the local engine's outputs.

A local Ray cluster with 2 CPUs is started once for the module and shut down at its end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
import ray
from polars.testing import assert_frame_equal

from datawheel.errors import PipelineError
from datawheel.pipeline import StepSpec, build_pipeline, run_pipeline, step
from datawheel.pipeline import _ray as engine
from datawheel.pipeline._builtins import BUILTINS, batch_function, filter_batch, select_batch
from datawheel.workspace import Workspace

pytestmark = pytest.mark.slow

ROWS = 50_000
BLOCKS = 4


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A local Ray cluster with 2 CPUs, started the way the engine starts one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(engine.ADDRESS_ENV, raising=False)
        patch.setenv(engine.NUM_CPUS_ENV, "2")
        ray.shutdown()  # a session another module left open would not have 2 CPUs
        engine.connect()
    assert ray.cluster_resources()["CPU"] == 2  # type: ignore[no-untyped-call]
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def people() -> pl.DataFrame:
    """Enough rows for several blocks, with the dtypes Arrow does not keep by itself."""
    ids = pl.int_range(ROWS, eager=True)
    return pl.DataFrame(
        {
            "id": ids,
            "name": [f"n{i % 97}" for i in range(ROWS)],
            "age": (ids * 7919) % 90,
            "score": ids.cast(pl.Float64) / 3,
            "tier": pl.Series(
                [("gold", "free")[i % 2] for i in range(ROWS)], dtype=pl.Enum(["free", "gold"])
            ),
            "tags": [[i % 5, i % 7] for i in range(ROWS)],
            "_row_id": [f"{i:032x}" for i in range(ROWS)],
        }
    )


@step(outputs=["summary", "top"])
def summarise(people: pl.DataFrame, *, top: int = 3) -> dict[str, pl.DataFrame]:
    """A user's step over the whole table: an aggregation and a sort."""
    summary = people.group_by("tier", maintain_order=True).agg(pl.len().cast(pl.Int64), pl.col("age").mean())
    return {"summary": summary, "top": people.sort("score", descending=True).head(top)}


@step(outputs="output")
def broken(people: pl.DataFrame) -> pl.DataFrame:
    raise ValueError("bad row 7")


def both(step_: Any, tables: dict[str, pl.DataFrame], params: dict[str, Any]) -> None:
    local = step_.run(tables, params)
    on_ray = engine.run_on_ray(step_, tables, params, blocks=BLOCKS)
    assert list(on_ray) == list(local)
    for name in local:
        assert_frame_equal(on_ray[name], local[name])


@pytest.mark.parametrize(
    "where",
    [
        "age >= 18 AND name LIKE 'n1%'",
        "tier = 'gold' OR score < 100",
        "age IN (3, 5, 8) AND NOT (id % 2 = 0)",
        "age > AVG(age)",  # an aggregate: the whole table, not batches
        "FALSE",
    ],
)
@pytest.mark.usefixtures("cluster")
def test_filter_matches_local(people: pl.DataFrame, where: str) -> None:
    both(BUILTINS["filter"], {"table": people}, {"where": where})


@pytest.mark.parametrize("params", [{"columns": ["score", "tier", "name"]}, {}])
@pytest.mark.usefixtures("cluster")
def test_select_matches_local(people: pl.DataFrame, params: dict[str, Any]) -> None:
    both(BUILTINS["select"], {"table": people}, params)


@pytest.mark.parametrize("how", ["inner", "left", "anti"])
@pytest.mark.usefixtures("cluster")
def test_join_matches_local(people: pl.DataFrame, how: str) -> None:
    scores = pl.DataFrame({"name": [f"n{i}" for i in range(0, 97, 2)], "bonus": range(49), "_row_id": "x"})
    both(BUILTINS["join"], {"left": people, "right": scores}, {"on": ["name"], "how": how})


@pytest.mark.usefixtures("cluster")
def test_no_rows_in_or_out(people: pl.DataFrame) -> None:
    both(BUILTINS["filter"], {"table": people.clear()}, {"where": "age > 1"})
    both(BUILTINS["select"], {"table": people.clear()}, {"columns": ["tier"]})
    both(summarise, {"people": people.clear()}, {})


@pytest.mark.usefixtures("cluster")
def test_user_step_matches_local(people: pl.DataFrame) -> None:
    both(summarise, {"people": people}, {"top": 5})


@pytest.mark.usefixtures("cluster")
def _without_samples(message: str) -> str:
    return re.sub(r"values: \[[^\]]*\]", "values: [...]", message)


def test_errors_are_the_local_engines(people: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match="bad row 7"):
        engine.run_on_ray(broken, {"people": people}, {})
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        engine.run_on_ray(BUILTINS["filter"], {"table": people}, {"where": "nope > 1"})
    where = {"where": "CAST(name AS INT) > 1"}  # fails in the blocks, not on no rows
    with pytest.raises(pl.exceptions.InvalidOperationError) as local:
        BUILTINS["filter"].run({"table": people}, where)
    with pytest.raises(pl.exceptions.InvalidOperationError) as on_ray:
        engine.run_on_ray(BUILTINS["filter"], {"table": people}, where)
    # the same error; Polars lists a sample of the failing values, which varies between runs
    assert _without_samples(str(on_ray.value)) == _without_samples(str(local.value))
    with pytest.raises(PipelineError, match="no parameter 'colums'"):
        engine.run_on_ray(BUILTINS["select"], {"table": people}, {"colums": ["id"]})


@pytest.mark.usefixtures("cluster")
def test_blocks_are_split_and_kept_in_order(people: pl.DataFrame) -> None:
    parts = engine.map_blocks(select_batch, people, {"columns": ["id"]}, blocks=BLOCKS)
    assert [p.num_rows for p in parts] == [ROWS // BLOCKS] * BLOCKS
    assert [p.column("id")[0].as_py() for p in parts] == [i * ROWS // BLOCKS for i in range(BLOCKS)]
    # Each block really is filtered on its own: an aggregate would see only its block.
    alone = engine.map_blocks(filter_batch, people, {"where": "id = MIN(id)"}, blocks=BLOCKS)
    assert [p.column("id").to_pylist() for p in alone] == [[i * ROWS // BLOCKS] for i in range(BLOCKS)]


def test_which_builtins_run_in_batches() -> None:
    assert batch_function(BUILTINS["filter"], {"where": "age >= 18"}) is filter_batch
    assert batch_function(BUILTINS["select"], {}) is select_batch
    assert batch_function(BUILTINS["join"], {}) is None
    assert batch_function(summarise, {}) is None
    for where in (
        "age > AVG(age)",
        "ROW_NUMBER() OVER () < 5",
        "COUNT(*) > 3",
        "age > max(age) OVER (PARTITION BY name)",
    ):
        assert batch_function(BUILTINS["filter"], {"where": where}) is None, where


def test_split_blocks_covers_the_table_in_order() -> None:
    frame = pl.DataFrame({"a": range(10)})
    assert [p["a"].to_list() for p in engine.split_blocks(frame, 3)] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert [p.height for p in engine.split_blocks(frame, 50)] == [1] * 10
    assert [p.height for p in engine.split_blocks(frame.clear(), 4)] == [0]


def pipeline_of_builtins_and_mine() -> Any:
    return build_pipeline(
        "people",
        [
            StepSpec(
                "adults",
                BUILTINS["filter"],
                {"table": "people"},
                {"output": "adults"},
                {"where": "age >= 18"},
            ),
            StepSpec(
                "slim",
                BUILTINS["select"],
                {"table": "adults"},
                {"output": "slim"},
                {"columns": ["name", "age", "score", "tier"]},
            ),
            StepSpec(
                "scored",
                BUILTINS["join"],
                {"left": "slim", "right": "bonus"},
                {"output": "scored"},
                {"on": ["name"]},
            ),
            StepSpec("summary", summarise, {"people": "scored"}, {"summary": "summary", "top": "top"}),
        ],
    )


@pytest.mark.usefixtures("cluster")
def test_pipeline_on_ray_matches_local(workspace: Workspace, people: pl.DataFrame) -> None:
    # The store cannot read back an Enum column yet: the tier is stored as text.
    workspace.commit(
        "people", people.drop("_row_id").with_columns(pl.col("tier").cast(pl.String)), key=["id"]
    )
    workspace.commit("bonus", pl.DataFrame({"name": [f"n{i}" for i in range(0, 97, 3)], "bonus": range(33)}))
    pipeline = pipeline_of_builtins_and_mine()
    on_ray = run_pipeline(workspace, pipeline, engine="ray")
    assert on_ray.failed is None, on_ray.failed
    assert on_ray.executed == ["adults", "slim", "scored", "summary"]
    # The cache key does not name the engine: the local run is forced, to make its own versions.
    local = run_pipeline(workspace, pipeline, engine="local", force=frozenset(on_ray.executed))
    assert local.executed == on_ray.executed
    for dataset in ("adults", "slim", "scored", "summary", "top"):
        assert [v.version for v in workspace.versions(dataset)] == [1, 2]
        assert_frame_equal(workspace.read(f"{dataset}@1"), workspace.read(f"{dataset}@2"))
    assert workspace.read("adults@1").height > 0
    engines = {r.name: workspace.lineage.execution(r.execution_id or 0).engine for r in on_ray.steps}
    assert set(engines.values()) == {"ray"}
    assert {workspace.lineage.execution(r.execution_id or 0).engine for r in local.steps} == {"local"}


def test_bad_address_fails_fast_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # as in a fresh process
    for address in ("ray://127.0.0.1:1", "127.0.0.1:1"):
        monkeypatch.setenv(engine.ADDRESS_ENV, address)
        with pytest.raises(PipelineError, match=f"no Ray cluster answers at {address}") as caught:
            engine.connect()
        assert engine.ADDRESS_ENV in str(caught.value.hint)
    monkeypatch.setenv(engine.ADDRESS_ENV, "ray://head:port")
    with pytest.raises(PipelineError, match="is not a Ray address"):
        engine.connect()


def test_bad_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.delenv(engine.ADDRESS_ENV, raising=False)
    monkeypatch.setenv(engine.NUM_CPUS_ENV, "two")
    with pytest.raises(PipelineError, match="not a number of CPUs"):
        engine.connect()


def test_ray_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_MISSING", ImportError("No module named 'ray'"))
    with pytest.raises(PipelineError, match="not installed") as caught:
        engine.run_on_ray(BUILTINS["select"], {"table": pl.DataFrame({"a": [1]})}, {})
    assert caught.value.hint == "install the Ray engine with: pip install 'datawheel[ray]'"
