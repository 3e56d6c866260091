"""Steps under the lineage record: capabilities read versions, commit versions, leave a trace."""

from datawheel.pipeline._fingerprint import code_fingerprint
from datawheel.pipeline._ingest import (
    QUARANTINE_SUFFIX,
    IngestReport,
    Progress,
    QuarantineError,
    ingest,
    quarantine_name,
)
from datawheel.pipeline._record import StepRun, run_step

__all__ = [
    "QUARANTINE_SUFFIX",
    "IngestReport",
    "Progress",
    "QuarantineError",
    "StepRun",
    "code_fingerprint",
    "ingest",
    "quarantine_name",
    "run_step",
]
