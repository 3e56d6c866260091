"""Pipelines: caching by fingerprint, status, failure and resume, checks before running."""

from pathlib import Path

import polars as pl
import pytest

from datawheel.errors import PipelineError
from datawheel.pipeline import (
    Pipeline,
    StepSpec,
    build_pipeline,
    ingest,
    load_pipeline,
    pipeline_status,
    rerun_from,
    run_pipeline,
    step,
)
from datawheel.workspace import Workspace


@step(outputs="scored")
def score(users: pl.DataFrame, spam: pl.DataFrame, *, weight: float = 1.0) -> pl.DataFrame:
    flagged = users.join(spam.select("user", pl.lit(True).alias("listed")), on="user", how="left")
    return flagged.with_columns(
        (pl.col("listed").fill_null(False).cast(pl.Float64) * weight).alias("score")
    ).drop("listed")


@step(outputs="clean")
def despam(scored: pl.DataFrame, *, threshold: float = 0.5) -> pl.DataFrame:
    return scored.filter(pl.col("score") < threshold)


@step(outputs="report")
def count(clean: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame({"users": [clean.height]})


def chain(**params: dict[str, object]) -> Pipeline:
    return build_pipeline(
        "spam",
        [
            StepSpec("count", count),
            StepSpec("despam", despam, params=params.get("despam", {})),
            StepSpec("score", score, params=params.get("score", {})),
        ],
    )


@pytest.fixture
def seeded(workspace: Workspace) -> Workspace:
    workspace.commit("users", pl.DataFrame({"user": ["a", "b", "c", "d"]}), key=["user"])
    workspace.commit("spam", pl.DataFrame({"user": ["b"]}))
    return workspace


def test_order_and_unchanged_second_run(seeded: Workspace) -> None:
    pipeline = chain()
    assert [s.name for s in pipeline.steps] == ["score", "despam", "count"]
    first = run_pipeline(seeded, pipeline)
    assert (first.executed, first.skipped) == (["score", "despam", "count"], [])
    assert seeded.read("report")["users"].to_list() == [3]
    second = run_pipeline(seeded, pipeline)
    assert (second.executed, second.skipped) == ([], ["score", "despam", "count"])
    assert [len(seeded.versions(d)) for d in ("scored", "clean", "report")] == [1, 1, 1]
    assert second.to_dict()["executed"] == []


def test_parameter_change_reruns_only_that_step_and_after(seeded: Workspace) -> None:
    run_pipeline(seeded, chain())
    report = run_pipeline(seeded, chain(despam={"threshold": 2.0}))
    assert (report.executed, report.skipped) == (["despam", "count"], ["score"])
    assert seeded.read("report")["users"].to_list() == [4]
    status = pipeline_status(seeded, chain(despam={"threshold": 3.0}))
    assert [(s.name, s.state) for s in status] == [
        ("score", "up to date"),
        ("despam", "stale"),
        ("count", "stale"),
    ]
    assert status[1].reasons == ("parameter threshold changed: 2.0 → 3.0",)
    assert status[2].reasons == ("upstream step 'despam' is stale",)
    back = run_pipeline(seeded, chain())  # the first run's parameters again: its outputs are reused
    assert (back.executed, back.skipped) == ([], ["score", "despam", "count"])


def test_new_input_version_reruns_the_stale_part(seeded: Workspace) -> None:
    run_pipeline(seeded, chain())
    seeded.commit("spam", pl.DataFrame({"user": ["b", "c"]}))
    status = pipeline_status(seeded, chain())
    assert status[0].reasons == ("input spam has a new version: spam@2 (last run read spam@1)",)
    report = run_pipeline(seeded, chain())
    assert report.executed == ["score", "despam", "count"]
    assert seeded.read("report")["users"].to_list() == [2]
    diff = seeded.diff("clean@1", "clean@2")
    assert (diff.removed, diff.added) == (1, 0)


def test_code_change_is_seen(seeded: Workspace) -> None:
    run_pipeline(seeded, chain())

    @step(outputs="report")
    def count(clean: pl.DataFrame) -> pl.DataFrame:  # the same step, edited
        return pl.DataFrame({"users": [clean.height * 10]})

    edited = build_pipeline(
        "spam", [StepSpec("score", score), StepSpec("despam", despam), StepSpec("count", count)]
    )
    assert pipeline_status(seeded, edited)[2].reasons == ("code changed",)
    assert run_pipeline(seeded, edited).executed == ["count"]


def test_failed_step_commits_nothing_and_resumes(seeded: Workspace) -> None:
    calls = {"n": 0}

    @step(outputs="clean")
    def despam(scored: pl.DataFrame, *, threshold: float = 0.5) -> pl.DataFrame:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk full")
        return scored.filter(pl.col("score") < threshold)

    pipeline = build_pipeline(
        "spam", [StepSpec("score", score), StepSpec("despam", despam), StepSpec("count", count)]
    )
    first = run_pipeline(seeded, pipeline)
    assert first.failed is not None
    assert (first.failed.name, first.failed.error) == ("despam", "RuntimeError: disk full")
    assert [s.status for s in first.steps] == ["executed", "failed", "not run"]
    assert {d.name for d in seeded.datasets()} == {"users", "spam", "scored"}
    assert seeded.lineage.execution(first.steps[1].execution_id or 0).status == "failed"
    second = run_pipeline(seeded, pipeline)
    assert (second.executed, second.skipped) == (["despam", "count"], ["score"])


def test_lineage_reaches_the_raw_file(workspace: Workspace, tmp_path: Path) -> None:
    users, spam = tmp_path / "users.csv", tmp_path / "spam.csv"
    users.write_text("user\na\nb\nc\n", encoding="utf-8")
    spam.write_text("user\nb\n", encoding="utf-8")
    ingest(workspace, users, name="users")
    ingest(workspace, spam, name="spam")
    run_pipeline(workspace, chain())
    graph = workspace.lineage.upstream(workspace.resolve("report").artifact_id)
    names = [n.name for n in graph.nodes]
    assert str(spam.resolve()) in names
    assert {"count", "despam", "score", "ingest"} <= set(names)
    impact = [a.name for a in workspace.lineage.impact(workspace.resolve("spam").artifact_id)]
    assert impact == ["scored@1", "clean@1", "report@1"]


def test_rerun_forces_and_pins(seeded: Workspace) -> None:
    run_pipeline(seeded, chain())
    seeded.commit("spam", pl.DataFrame({"user": ["a", "b"]}))
    pinned = run_pipeline(seeded, chain(), pins={"spam": "spam@1"})
    assert pinned.executed == []  # pinned to the version already used: all cached
    forced = run_pipeline(seeded, chain(), pins={"spam": "spam@1"}, force=frozenset(["despam", "count"]))
    assert forced.executed == ["despam", "count"]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (lambda: [StepSpec("score", score), StepSpec("score", score)], "two steps are named 'score'"),
        (
            lambda: [
                StepSpec("a", despam, inputs={"scored": "clean"}),
                StepSpec("b", despam, inputs={"scored": "clean"}),
            ],
            "both write dataset 'clean'",
        ),
        (
            lambda: [StepSpec("despam", despam, inputs={"scored": "clean"})],
            "read each other's outputs in a cycle",
        ),
        (lambda: [StepSpec("despam", despam, params={"treshold": 1})], "has no parameter 'treshold'"),
        (lambda: [StepSpec("despam", despam, inputs={"rows": "x"})], "inputs \\['rows'\\] do not match"),
    ],
)
def test_bad_pipelines_fail_before_running(specs: object, message: str) -> None:
    with pytest.raises(PipelineError, match=message) as info:
        build_pipeline("p", specs())  # type: ignore[operator]
    assert info.value.hint


def test_missing_input_fails_before_anything_runs(workspace: Workspace) -> None:
    workspace.commit("users", pl.DataFrame({"user": ["a"]}))
    with pytest.raises(PipelineError, match="step 'score' reads 'spam', which no step writes"):
        run_pipeline(workspace, chain())
    assert workspace.lineage.executions() == []


def test_wrong_return_type_is_caught_before_running() -> None:
    with pytest.raises(PipelineError, match="step 'bad' is annotated to return int, not a table"):

        @step
        def bad(table: pl.DataFrame) -> int:
            return 1

    @step
    def sneaky(table: pl.DataFrame):  # type: ignore[no-untyped-def]
        return 1

    with pytest.raises(PipelineError, match="step 'sneaky' returned a int for output 'sneaky', not a table"):
        sneaky.run({"table": pl.DataFrame({"a": [1]})}, {})


def test_pipeline_file_with_own_and_built_in_steps(workspace: Workspace, tmp_path: Path) -> None:
    (tmp_path / "mysteps.py").write_text(
        "import polars as pl\nfrom datawheel.pipeline import step\n\n"
        "@step(outputs='tagged')\ndef tag(rows: pl.DataFrame, *, label: str = 'x') -> pl.DataFrame:\n"
        "    return rows.with_columns(pl.lit(label).alias('tag'))\n",
        encoding="utf-8",
    )
    (tmp_path / "pipeline.toml").write_text(
        '[pipeline]\nname = "demo"\n\n'
        '[[step]]\nname = "adults"\nuses = "filter"\ninputs = { table = "people" }\n'
        'outputs = { output = "adults" }\nparams = { where = "age >= 18" }\n\n'
        '[[step]]\nuses = "mysteps:tag"\ninputs = { rows = "adults" }\nparams = { label = "adult" }\n',
        encoding="utf-8",
    )
    workspace.commit("people", pl.DataFrame({"name": ["a", "b"], "age": [12, 40]}))
    pipeline = load_pipeline(tmp_path / "pipeline.toml")
    assert [s.name for s in pipeline.steps] == ["adults", "tag"]
    report = run_pipeline(workspace, pipeline)
    assert report.executed == ["adults", "tag"]
    assert workspace.read("tagged").select("name", "tag").rows() == [("b", "adult")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[step]]\nuses = "nope"\n', "'nope', which is not a built-in step"),
        ('[[step]]\nuses = "missing_module:f"\n', "cannot import module 'missing_module'"),
        ("[pipeline]\nname = 'x'\n", "has no \\[\\[step\\]\\] entries"),
        ("[[step\n", "is not valid TOML"),
    ],
)
def test_bad_pipeline_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PipelineError, match=message):
        load_pipeline(path)


def test_edited_step_module_is_read_again_in_the_same_process(workspace: Workspace, tmp_path: Path) -> None:
    module = tmp_path / "edited_steps.py"
    source = (
        "import polars as pl\nfrom datawheel.pipeline import step\n\n@step(outputs='out')\n"
        "def twice(rows: pl.DataFrame) -> pl.DataFrame:\n    return rows.with_columns(pl.col('n') * {k})\n"
    )
    module.write_text(source.format(k=2), encoding="utf-8")
    (tmp_path / "pipeline.toml").write_text('[[step]]\nuses = "edited_steps:twice"\n', encoding="utf-8")
    workspace.commit("rows", pl.DataFrame({"n": [1, 2]}))
    run_pipeline(workspace, load_pipeline(tmp_path / "pipeline.toml"))
    module.write_text(source.format(k=3), encoding="utf-8")
    again = load_pipeline(tmp_path / "pipeline.toml")
    assert pipeline_status(workspace, again)[0].reasons == ("code changed",)
    assert run_pipeline(workspace, again).executed == ["twice"]
    assert workspace.read("out")["n"].to_list() == [3, 6]


def test_cleaning_steps_in_a_pipeline_file(workspace: Workspace, tmp_path: Path) -> None:
    (tmp_path / "pipeline.toml").write_text(
        '[[step]]\nname = "unique"\nuses = "dedup"\ninputs = { table = "notes" }\n'
        'outputs = { output = "unique_notes", removed = "duplicate_notes" }\n'
        'params = { column = "text", exact = true }\n\n'
        '[[step]]\nname = "private"\nuses = "redact"\ninputs = { table = "unique_notes" }\n'
        'outputs = { output = "safe_notes", findings = "note_findings" }\n'
        'params = { column = "text", mode = "tag" }\n',
        encoding="utf-8",
    )
    notes = ["write to ann@example.com", "Write to  ann@example.com", "nothing here"]
    workspace.commit("notes", pl.DataFrame({"text": notes}))
    report = run_pipeline(workspace, load_pipeline(tmp_path / "pipeline.toml"))
    assert report.executed == ["unique", "private"]
    assert workspace.read("safe_notes")["text"].to_list() == ["write to <EMAIL>", "nothing here"]
    assert workspace.read("duplicate_notes")["reason"].to_list() == ["exact duplicate"]
    assert workspace.read("note_findings")["type"].to_list() == ["EMAIL"]
    assert set(workspace.read("duplicate_notes")["duplicate_of"]) <= set(
        workspace.read("unique_notes")["_row_id"]
    )


def test_rerun_from_recomputes_downstream_reading_that_version(seeded: Workspace) -> None:
    run_pipeline(seeded, chain())
    seeded.commit("spam", pl.DataFrame({"user": ["b", "c"]}))
    report = rerun_from(seeded, chain(), "spam@2")
    assert report.executed == ["score", "despam", "count"]
    assert seeded.read("report")["users"].to_list() == [2]
    back = rerun_from(seeded, chain(), "spam@1")  # forced even though spam@1's outputs exist
    assert back.executed == ["score", "despam", "count"]
    assert seeded.read("report")["users"].to_list() == [3]
