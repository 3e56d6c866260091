"""The demo: plan sources, ingest two collection rounds, quarantine a bad row, clean, trace it all."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from datawheel.errors import WorkspaceError
from datawheel.ingest import ReadOptions
from datawheel.lineage import Graph, RoundStatus, SourceInfo, VersionInfo
from datawheel.pipeline import IngestReport, code_fingerprint, ingest, run_step
from datawheel.store import DiffResult
from datawheel.workspace import Workspace

DATA = Path(__file__).parent / "data"
DEMO_DATA = DATA / "SMSSpamCollection"
PARTNER_ROUND = DATA / "partner_round.tsv"
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&amp;": "&"}
_SMS = ReadOptions(has_header=False, columns=("label", "text"))


@dataclass(frozen=True)
class DemoResult:
    """Everything the demo made, for the command line to show."""

    root: Path
    sources: tuple[SourceInfo, ...]
    first: IngestReport
    second: IngestReport
    round: RoundStatus
    quarantine: tuple[dict[str, object], ...]
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

    1. plan two acquisition sources, ranked by value, and open a collection round;
    2. ingest the SMS Spam Collection (TSV, no header, no quoting) as ``sms@1``;
    3. append a partner's round (``--append``, with ``collector`` metadata) as ``sms@2``: its
       broken line goes to ``sms.quarantine`` with its line number and reason;
    4. a cleaning step unescapes HTML entities into ``sms@3``, tagged ``demo-clean``;
    5. the diff and the lineage of ``sms@3`` show what happened, back to the files.
    """
    root = _fresh_folder(folder)
    with Workspace.init(root, name="datawheel-demo") as ws:
        data = root / "data"
        data.mkdir(parents=True, exist_ok=True)
        for name in (DEMO_DATA.name, PARTNER_ROUND.name):
            shutil.copyfile(DATA / name, data / name)
            shutil.copyfile(DATA / f"{name}.SOURCE.txt", data / f"{name}.SOURCE.txt")
        ws.sources.add(
            "uci-sms",
            uri="https://archive.ics.uci.edu/dataset/228",
            cost=0,
            days=0,
            expected_rows=5574,
            quality="high",
            notes="public corpus, CC BY 4.0",
        )
        ws.sources.add(
            "partner-feed",
            uri="sftp://partner.example/sms",
            cost=200,
            days=7,
            expected_rows=500,
            quality="medium",
            notes="weekly export from a partner",
        )
        ws.sources.start_round(days=7, name="first collection")
        first = ingest(ws, data / DEMO_DATA.name, name="sms", format="tsv", options=_SMS, source="uci-sms")
        second = ingest(
            ws,
            data / PARTNER_ROUND.name,
            name="sms",
            format="tsv",
            options=_SMS,
            append=True,
            source="partner-feed",
            meta={"collector": "partner-a"},
        )
        status = ws.sources.round_status()
        ws.sources.close_round()
        fingerprint = code_fingerprint(unescape_entities)
        with run_step(
            ws, "unescape-entities", parameters={"column": "text"}, code_fingerprint=fingerprint
        ) as run:
            cleaned = run.commit(
                "sms",
                unescape_entities(run.read(second.ref), "text"),
                message="unescape HTML entities in text",
            )
        ws.tag(cleaned.ref, "demo-clean")
        quarantine = ws.read("sms.quarantine").select("line", "file", "raw", "reason").to_dicts()
        return DemoResult(
            root=root,
            sources=tuple(ws.sources.list()),
            first=first,
            second=second,
            round=status,
            quarantine=tuple(quarantine),
            cleaned=cleaned,
            versions=tuple(ws.versions("sms")),
            diff=ws.diff(second.ref, cleaned.ref, sample=3),
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
