"""Running a pipeline: only what changed, every execution recorded, a failed step resumable."""

from __future__ import annotations

import json
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import blake3
import polars as pl

from datawheel.errors import DatawheelError, PipelineError
from datawheel.lineage import ExecutionInfo, VersionInfo
from datawheel.pipeline._pipeline import Pipeline, StepSpec
from datawheel.pipeline._record import run_step
from datawheel.pipeline._step import Step
from datawheel.store import parse_ref
from datawheel.workspace import Workspace

Engine = Literal["local", "ray"]
PIPELINE_CONTEXT = "pipeline"
RUN_CONTEXT = "run"


@dataclass(frozen=True)
class StepResult:
    """What happened to one step in a run."""

    name: str
    status: Literal["executed", "skipped", "failed", "not run"]
    execution_id: int | None = None
    outputs: dict[str, str] = field(default_factory=dict)  # dataset -> ref
    error: str | None = None


@dataclass(frozen=True)
class RunReport:
    """A pipeline run: which steps ran, which were up to date, and where it stopped if it did."""

    pipeline: str
    run: str
    steps: tuple[StepResult, ...]

    @property
    def executed(self) -> list[str]:
        """Steps that ran."""
        return [s.name for s in self.steps if s.status == "executed"]

    @property
    def skipped(self) -> list[str]:
        """Steps whose cached outputs were reused."""
        return [s.name for s in self.steps if s.status == "skipped"]

    @property
    def failed(self) -> StepResult | None:
        """The step that failed, if one did."""
        return next((s for s in self.steps if s.status == "failed"), None)

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of a run."""
        failed = self.failed
        return {
            "pipeline": self.pipeline,
            "run": self.run,
            "executed": self.executed,
            "skipped": self.skipped,
            "failed": failed.name if failed else None,
            "error": failed.error if failed else None,
            "steps": [
                {
                    "name": s.name,
                    "status": s.status,
                    "execution": s.execution_id,
                    "outputs": s.outputs,
                    "error": s.error,
                }
                for s in self.steps
            ],
        }


@dataclass(frozen=True)
class StepStatus:
    """Whether a step's outputs are up to date with its code, parameters and inputs, and why not."""

    name: str
    state: Literal["up to date", "stale", "never run"]
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of a step's status."""
        return {"name": self.name, "state": self.state, "reasons": list(self.reasons)}


def cache_key(spec: StepSpec, inputs: Mapping[str, VersionInfo], engine: str = "local") -> str:
    """hash(step name, step code, parameters, exact input versions, output datasets)."""
    payload = {
        "step": spec.name,
        "code": spec.step.fingerprint,
        "params": {**spec.step.defaults, **spec.params},
        "inputs": {k: v.ref for k, v in sorted(inputs.items())},
        "outputs": dict(sorted(spec.outputs.items())),
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    digest: str = blake3.blake3(text.encode()).hexdigest()
    return digest[:32]


def run_pipeline(
    workspace: Workspace,
    pipeline: Pipeline,
    *,
    engine: Engine = "local",
    pins: Mapping[str, str] | None = None,
    force: frozenset[str] = frozenset(),
) -> RunReport:
    """Run the steps whose code, parameters or inputs changed; reuse the outputs of the others.

    ``pins`` maps a dataset name to the ref to read it at (default: its latest version);
    ``force`` names steps to run even when cached. Inputs no step writes must exist before
    anything runs. A step that fails is recorded as failed, commits nothing, and stops the run;
    running again redoes only it and the steps after it.
    """
    sources = _external_versions(workspace, pipeline, pins or {})
    pipe_ctx = workspace.lineage.add_context(
        PIPELINE_CONTEXT, pipeline.name, properties={"path": str(pipeline.path)}
    )
    run_name = f"{pipeline.name}/{uuid.uuid4().hex[:12]}"
    run_ctx = workspace.lineage.add_context(RUN_CONTEXT, run_name, properties={"pipeline": pipeline.name})
    made: dict[str, VersionInfo] = {}
    results: list[StepResult] = []
    for spec in pipeline.steps:
        if any(r.status == "failed" for r in results):
            results.append(StepResult(spec.name, "not run"))
            continue
        inputs = {
            arg: made.get(parse_ref(ref).name) or sources[parse_ref(ref).name]
            for arg, ref in spec.inputs.items()
        }
        key = cache_key(spec, inputs, engine)
        cached = None if spec.name in force else _reusable(workspace, key, spec)
        if cached is not None:
            execution, outputs = cached
            made.update(outputs)
            workspace.lineage.associate(run_ctx, execution.id)
            results.append(
                StepResult(spec.name, "skipped", execution.id, {d: v.ref for d, v in outputs.items()})
            )
            continue
        results.append(_execute(workspace, spec, inputs, key, engine, [pipe_ctx, run_ctx], made))
    return RunReport(pipeline.name, run_name, tuple(results))


def call_step(
    engine: str, step: Step, tables: Mapping[str, pl.DataFrame], params: Mapping[str, Any]
) -> dict[str, pl.DataFrame]:
    """Run one step's function on an engine and return its outputs by name."""
    if engine == "local":
        return step.run(tables, params)
    from datawheel.pipeline._ray import run_on_ray  # the extra datawheel[ray], loaded when asked for

    return run_on_ray(step, tables, params)


def rerun_from(workspace: Workspace, pipeline: Pipeline, ref: str, *, engine: Engine = "local") -> RunReport:
    """Recompute every step downstream of the version ``ref`` names, reading that version.

    The steps that read the dataset, directly or through others, run even if cached; a dataset
    no step writes is pinned to ``ref`` (one a step writes is the step's to make).
    """
    version = workspace.resolve(ref)
    force = frozenset(pipeline.downstream(version.dataset))
    pins = {version.dataset: version.ref} if pipeline.producer(version.dataset) is None else {}
    return run_pipeline(workspace, pipeline, engine=engine, pins=pins, force=force)


def _external_versions(
    workspace: Workspace, pipeline: Pipeline, pins: Mapping[str, str]
) -> dict[str, VersionInfo]:
    found: dict[str, VersionInfo] = {}
    for spec in pipeline.steps:
        for ref in spec.inputs.values():
            name = parse_ref(ref).name
            if pipeline.producer(name) is not None or name in found:
                continue
            try:
                found[name] = workspace.resolve(pins.get(name, ref))
            except DatawheelError as exc:
                raise PipelineError(
                    f"step '{spec.name}' reads '{ref}', which no step writes "
                    f"and the workspace lacks: {exc.message}",
                    hint=f"ingest or commit '{name}' first, or wire the step to a dataset that exists",
                ) from exc
    return found


def _reusable(
    workspace: Workspace, key: str, spec: StepSpec
) -> tuple[ExecutionInfo, dict[str, VersionInfo]] | None:
    execution = workspace.lineage.cached(key)
    if execution is None:
        return None
    versions = {v.dataset: v for v in workspace.catalog.made_by(execution.id)}
    if not set(spec.outputs.values()) <= set(versions):
        return None
    return execution, {d: versions[d] for d in spec.outputs.values()}


def _execute(
    workspace: Workspace,
    spec: StepSpec,
    inputs: Mapping[str, VersionInfo],
    key: str,
    engine: str,
    contexts: list[int],
    made: dict[str, VersionInfo],
) -> StepResult:
    parameters = {
        "params": {**spec.step.defaults, **spec.params},
        "inputs": {arg: v.ref for arg, v in inputs.items()},
        "outputs": dict(spec.outputs),
    }
    execution_id: int | None = None
    try:
        with run_step(
            workspace,
            spec.name,
            parameters=parameters,
            code_fingerprint=spec.step.fingerprint,
            engine=engine,
            contexts=contexts,
            cache_key=key,
        ) as run:
            execution_id = run.execution.id
            tables = {arg: run.read(v.ref, role=arg) for arg, v in inputs.items()}
            produced = call_step(engine, spec.step, tables, spec.params)  # all outputs before any commit
            committed = {
                dataset: run.commit(dataset, produced[output], message=f"step {spec.name}")
                for output, dataset in spec.outputs.items()
            }
    except Exception as exc:  # the step's own code failed: recorded, and the run stops here
        message = "".join(traceback.format_exception_only(exc)).strip()
        return StepResult(spec.name, "failed", execution_id, error=message)
    made.update(committed)
    return StepResult(spec.name, "executed", execution_id, {d: v.ref for d, v in committed.items()})


def pipeline_status(
    workspace: Workspace, pipeline: Pipeline, *, pins: Mapping[str, str] | None = None
) -> list[StepStatus]:
    """For each step, in order: up to date, stale (and why), or never run."""
    sources = _external_versions(workspace, pipeline, pins or {})
    made: dict[str, VersionInfo] = {}
    stale: set[str] = set()
    out: list[StepStatus] = []
    for spec in pipeline.steps:
        upstream = [pipeline.producer(d) for d in spec.reads]
        behind = sorted({u.name for u in upstream if u is not None and u.name in stale})
        if behind:
            stale.add(spec.name)
            out.append(StepStatus(spec.name, "stale", tuple(f"upstream step '{b}' is stale" for b in behind)))
            continue
        inputs = {
            arg: made.get(parse_ref(ref).name) or sources[parse_ref(ref).name]
            for arg, ref in spec.inputs.items()
        }
        cached = _reusable(workspace, cache_key(spec, inputs), spec)
        if cached is not None:
            made.update(cached[1])
            out.append(StepStatus(spec.name, "up to date"))
            continue
        stale.add(spec.name)
        last = workspace.lineage.last_run(spec.name)
        if last is None:
            out.append(StepStatus(spec.name, "never run", ("never run",)))
        else:
            out.append(StepStatus(spec.name, "stale", tuple(_why(spec, inputs, last))))
    return out


def _why(spec: StepSpec, inputs: Mapping[str, VersionInfo], last: ExecutionInfo) -> list[str]:
    reasons = []
    if last.code_fingerprint != spec.step.fingerprint:
        reasons.append("code changed")
    before = last.parameters.get("params", {})
    now = {**spec.step.defaults, **spec.params}
    for name in sorted(set(before) | set(now)):
        if before.get(name) != now.get(name):
            reasons.append(f"parameter {name} changed: {before.get(name)!r} → {now.get(name)!r}")
    read_before = last.parameters.get("inputs", {})
    for arg, version in inputs.items():
        if read_before.get(arg) != version.ref:
            reasons.append(
                f"input {arg} has a new version: {version.ref} (last run read {read_before.get(arg)})"
            )
    return reasons or ["outputs changed since the last run"]
