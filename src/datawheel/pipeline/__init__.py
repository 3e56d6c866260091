"""Steps under the lineage record: capabilities read versions, commit versions, leave a trace.

A step is a function over tables (:func:`step`); a pipeline wires steps by dataset name
(:func:`load_pipeline`, :func:`build_pipeline`); :func:`run_pipeline` runs only what changed.
"""

from datawheel.pipeline._artifacts import artifact_path, artifact_versions, resolve_artifact, save_artifact
from datawheel.pipeline._fingerprint import code_fingerprint
from datawheel.pipeline._ingest import (
    QUARANTINE_SUFFIX,
    IngestReport,
    Progress,
    QuarantineError,
    ingest,
    quarantine_name,
)
from datawheel.pipeline._pipeline import DEFAULT_FILE, Pipeline, StepSpec, build_pipeline, load_pipeline
from datawheel.pipeline._record import StepRun, run_step
from datawheel.pipeline._runner import (
    PIPELINE_CONTEXT,
    RUN_CONTEXT,
    RunReport,
    StepResult,
    StepStatus,
    cache_key,
    pipeline_status,
    rerun_from,
    run_pipeline,
)
from datawheel.pipeline._step import Step, step
from datawheel.pipeline._transforms import TRANSFORM, fit_transform, load_transform, transform_path

__all__ = [
    "DEFAULT_FILE",
    "PIPELINE_CONTEXT",
    "QUARANTINE_SUFFIX",
    "RUN_CONTEXT",
    "TRANSFORM",
    "IngestReport",
    "Pipeline",
    "Progress",
    "QuarantineError",
    "RunReport",
    "Step",
    "StepResult",
    "StepRun",
    "StepSpec",
    "StepStatus",
    "artifact_path",
    "artifact_versions",
    "build_pipeline",
    "cache_key",
    "code_fingerprint",
    "fit_transform",
    "ingest",
    "load_pipeline",
    "load_transform",
    "pipeline_status",
    "quarantine_name",
    "rerun_from",
    "resolve_artifact",
    "run_pipeline",
    "run_step",
    "save_artifact",
    "step",
    "transform_path",
]
