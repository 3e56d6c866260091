"""The demo: ingest the SMS Spam Collection, clean it into a second version, show the trail."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from datawheel.errors import WorkspaceError
from datawheel.lineage import Graph, VersionInfo
from datawheel.pipeline import IngestReport, code_fingerprint, ingest_file, run_step
from datawheel.store import DiffResult
from datawheel.workspace import Workspace

DEMO_DATA = Path(__file__).parent / "data" / "SMSSpamCollection"
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&amp;": "&"}


@dataclass(frozen=True)
class DemoResult:
    """Everything the demo made, for the command line to show."""

    root: Path
    ingest: IngestReport
    cleaned: VersionInfo
    versions: tuple[VersionInfo, ...]
    diff: DiffResult
    lineage: Graph


def unescape_entities(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Turn the HTML entities the SMS corpus carries (``&lt;#&gt;``) back into characters.

    Example:
        >>> unescape_entities(pl.DataFrame({"t": ["a &lt;#&gt; b &amp;c"]}), "t")["t"][0]
        'a <#> b &c'
    """
    return frame.with_columns(pl.col(column).str.replace_many(list(_ENTITIES), list(_ENTITIES.values())))


def run_demo(folder: Path | None = None) -> DemoResult:
    """Make a workspace in ``folder`` (a new temporary folder by default) and turn the wheel once.

    1. ingest the SMS Spam Collection (TSV, no header, no quoting) as ``sms@1``;
    2. a cleaning step unescapes HTML entities into ``sms@2``, tagged ``demo-clean``;
    3. the diff of the two versions and the lineage of ``sms@2`` show what happened.
    """
    root = _fresh_folder(folder)
    with Workspace.init(root, name="datawheel-demo") as ws:
        data = root / "data" / DEMO_DATA.name
        data.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DEMO_DATA, data)
        shutil.copyfile(
            DEMO_DATA.with_name(f"{DEMO_DATA.name}.SOURCE.txt"),
            data.with_name(f"{DEMO_DATA.name}.SOURCE.txt"),
        )
        report = ingest_file(ws, data, name="sms", format="tsv", has_header=False, columns=["label", "text"])
        with run_step(
            ws,
            "unescape-entities",
            parameters={"column": "text"},
            code_fingerprint=code_fingerprint(unescape_entities),
        ) as run:
            cleaned = run.commit(
                "sms",
                unescape_entities(run.read(report.ref), "text"),
                message="unescape HTML entities in text",
            )
        ws.tag(cleaned.ref, "demo-clean")
        return DemoResult(
            root=root,
            ingest=report,
            cleaned=cleaned,
            versions=tuple(ws.versions("sms")),
            diff=ws.diff(report.ref, cleaned.ref, sample=3),
            lineage=ws.lineage.upstream(cleaned.artifact_id),
        )


def _fresh_folder(folder: Path | None) -> Path:
    if folder is None:
        return Path(tempfile.mkdtemp(prefix="datawheel-demo-"))
    folder = folder.resolve()
    if folder.exists() and any(folder.iterdir()):
        raise WorkspaceError(
            f"{folder} is not empty",
            hint="give the demo a new or empty folder, or none for a temporary one",
        )
    folder.mkdir(parents=True, exist_ok=True)
    return folder
