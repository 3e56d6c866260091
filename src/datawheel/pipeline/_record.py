"""Running a step under the lineage record: what it read, what it wrote, how it ended."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from datawheel.lineage import ArtifactInfo, ExecutionInfo, VersionInfo, now
from datawheel.pipeline._replay import CALL, take_call
from datawheel.workspace import Workspace


@dataclass
class StepRun:
    """The handle a running step uses to read inputs and commit outputs.

    Reads and commits made through it are recorded as the execution's input and output
    events; a dataset version read through it also shows up in the execution's lineage.
    """

    workspace: Workspace
    execution: ExecutionInfo
    inputs: list[str] = field(default_factory=list)
    outputs: list[VersionInfo] = field(default_factory=list)

    def read(self, ref: str, *, role: str = "") -> pl.DataFrame:
        """Read a dataset version and record it as an input of this execution."""
        info = self.workspace.resolve(ref)
        self.use(self.workspace.lineage.artifact(info.artifact_id), role=role)
        return self.workspace.read(info)

    def use(self, artifact: ArtifactInfo, *, role: str = "") -> None:
        """Record that this execution read ``artifact``."""
        self.workspace.lineage.record_event(self.execution.id, artifact.id, "input", role=role)
        self.inputs.append(artifact.name)

    def commit(
        self,
        name: str,
        frame: pl.DataFrame | Iterable[pl.DataFrame],
        *,
        key: Sequence[str] | None = None,
        message: str = "",
    ) -> VersionInfo:
        """Commit a new version of ``name`` (a frame, or a stream of batches) as this execution's output."""
        info = self.workspace.commit(name, frame, key=key, message=message, execution_id=self.execution.id)
        self.outputs.append(info)
        return info

    def commit_scan(
        self,
        name: str,
        frame: pl.LazyFrame,
        *,
        key: Sequence[str] | None = None,
        message: str = "",
        counted: Callable[[int], None] | None = None,
        rows: int | None = None,
    ) -> VersionInfo:
        """Commit new rows from a lazy frame, in one streaming pass, as this execution's output.

        See :meth:`Workspace.commit_scan`.
        """
        info = self.workspace.commit_scan(
            name, frame, key=key, message=message, execution_id=self.execution.id, counted=counted, rows=rows
        )
        self.outputs.append(info)
        return info


@contextmanager
def run_step(
    workspace: Workspace,
    step: str,
    *,
    parameters: dict[str, Any] | None = None,
    inputs: Sequence[ArtifactInfo] = (),
    code_fingerprint: str = "",
    engine: str = "local",
    contexts: Sequence[int] = (),
    cache_key: str | None = None,
) -> Iterator[StepRun]:
    """Record an execution of ``step`` around the block, completed or failed.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> with Workspace.init(Path(tempfile.mkdtemp())) as ws:
        ...     with run_step(ws, "make", parameters={"n": 2}) as run:
        ...         v = run.commit("nums", pl.DataFrame({"n": [1, 2]}))
        ...     print(ws.lineage.execution(run.execution.id).status, v.execution_id == run.execution.id)
        completed True
    """
    call = take_call()
    execution = workspace.lineage.start_execution(
        step,
        parameters={**(parameters or {}), **({CALL: call} if call else {})},
        code_fingerprint=code_fingerprint,
        engine=engine,
        user=workspace.user,
        contexts=contexts,
        cache_key=cache_key,
    )
    run = StepRun(workspace, execution)
    for artifact in inputs:
        run.use(artifact)
    _emit(workspace, run, "START")
    try:
        yield run
    except BaseException as exc:
        workspace.lineage.finish_execution(
            execution.id,
            status="failed",
            error="".join(traceback.format_exception_only(exc)).strip(),
        )
        _emit(workspace, run, "FAIL")
        raise
    workspace.lineage.finish_execution(execution.id, status="completed")
    _emit(workspace, run, "COMPLETE")


def _emit(workspace: Workspace, run: StepRun, state: Any) -> None:
    emitter = workspace.openlineage
    if emitter is None:
        return
    emitter.emit(
        state,
        execution_id=run.execution.id,
        step=run.execution.step,
        at=now(),
        inputs=run.inputs,
        outputs=[v.ref for v in run.outputs],
    )
