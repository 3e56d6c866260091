"""datawheel: the data side of machine learning, end to end, with lineage across it.

Datasets are versioned tables (Delta Lake) in a workspace; every step that reads or writes
them is recorded in a lineage graph (SQLite or PostgreSQL), so every row traces back to its
file and line, and every version to what made it.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> import polars as pl
    >>> with Workspace.init(Path(tempfile.mkdtemp())) as ws:
    ...     with run_step(ws, "collect") as run:
    ...         v = run.commit("notes", pl.DataFrame({"text": ["hello", "world"]}))
    ...     [n.name for n in ws.lineage.upstream(v.artifact_id).nodes]
    ['notes@1', 'collect']
"""

from datawheel._version import __version__
from datawheel.errors import (
    DatawheelError,
    IngestError,
    LineageError,
    PipelineError,
    RefError,
    SchemaVersionError,
    StoreError,
    TransformError,
    WorkspaceError,
)
from datawheel.ingest import ReadOptions
from datawheel.lineage import ArtifactInfo, DatasetInfo, ExecutionInfo, Graph, VersionInfo
from datawheel.pipeline import (
    IngestReport,
    Pipeline,
    RunReport,
    Step,
    StepRun,
    ingest,
    load_pipeline,
    run_pipeline,
    run_step,
    step,
)
from datawheel.store import DiffResult, Ref, parse_ref
from datawheel.workspace import Workspace

__all__ = [
    "ArtifactInfo",
    "DatasetInfo",
    "DatawheelError",
    "DiffResult",
    "ExecutionInfo",
    "Graph",
    "IngestError",
    "IngestReport",
    "LineageError",
    "Pipeline",
    "PipelineError",
    "ReadOptions",
    "Ref",
    "RefError",
    "RunReport",
    "SchemaVersionError",
    "Step",
    "StepRun",
    "StoreError",
    "TransformError",
    "VersionInfo",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "ingest",
    "load_pipeline",
    "parse_ref",
    "run_pipeline",
    "run_step",
    "step",
]
