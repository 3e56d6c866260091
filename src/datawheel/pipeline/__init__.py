"""Steps under the lineage record: capabilities read versions, commit versions, leave a trace."""

from datawheel.pipeline._fingerprint import code_fingerprint
from datawheel.pipeline._ingest import FILE, IngestReport, file_digest, ingest_file
from datawheel.pipeline._record import StepRun, run_step

__all__ = [
    "FILE",
    "IngestReport",
    "StepRun",
    "code_fingerprint",
    "file_digest",
    "ingest_file",
    "run_step",
]
