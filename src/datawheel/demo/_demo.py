"""The demo: plan sources, ingest two collection rounds, quarantine a bad row, clean, trace it all."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from datawheel.demo._flywheel import Stage, turn
from datawheel.errors import WorkspaceError
from datawheel.ingest import ReadOptions
from datawheel.lineage import Graph, RoundStatus, SourceInfo, VersionInfo
from datawheel.pipeline import IngestReport, code_fingerprint, ingest, run_step
from datawheel.pipeline._replay import replayable
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
    stages: tuple[Stage, ...] = ()
    reports: dict[str, Path] = field(default_factory=dict)


def unescape_entities(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Turn the HTML entities the SMS corpus carries (``&lt;#&gt;``) back into characters.

    Example:
        >>> unescape_entities(pl.DataFrame({"t": ["a &lt;#&gt; b &amp;c"]}), "t")["t"][0]
        'a <#> b &c'
    """
    return frame.with_columns(pl.col(column).str.replace_many(list(_ENTITIES), list(_ENTITIES.values())))


@replayable()
def unescape_dataset(workspace: Workspace, ref: str, *, column: str) -> VersionInfo:
    """Unescape the HTML entities of ``column`` (:func:`unescape_entities`) into the next version."""
    fingerprint = code_fingerprint(unescape_entities)
    with run_step(
        workspace, "unescape-entities", parameters={"column": column}, code_fingerprint=fingerprint
    ) as run:
        frame = unescape_entities(run.read(ref), column)
        return run.commit(workspace.resolve(ref).dataset, frame, message="unescape HTML entities in text")


def run_demo(folder: Path | None = None, *, say: Callable[[Stage], None] | None = None) -> DemoResult:
    """Make a workspace in ``folder`` (a new temporary folder by default) and turn the wheel once.

    1. plan two acquisition sources, ranked by value, and open a collection round;
    2. ingest the SMS Spam Collection (TSV, no header, no quoting) as ``sms@1``;
    3. append a partner's round (``--append``, with ``collector`` metadata) as ``sms@2``: its
       broken line goes to ``sms.quarantine`` with its line number and reason;
    4. a cleaning step unescapes HTML entities into ``sms@3``, tagged ``demo-clean``;
    5. the diff and the lineage of ``sms@3`` show what happened, back to the files;
    6. then the rest of the flywheel (:func:`datawheel.demo._flywheel.turn`): dedup, PII
       redaction, profile and contract, weak labels, a simulated labelling round with agreement
       and aggregation, label issues, a balanced split with leakage check, a baseline with
       evaluation, slices and a learning curve, the release ``v1``, and a production batch whose
       drift raises an alert and opens a labelling project. ``say`` hears each stage as it ends.
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
        cleaned = unescape_dataset(ws, second.ref, column="text")
        ws.tag(cleaned.ref, "demo-clean")
        quarantine = ws.read("sms.quarantine").select("line", "file", "raw", "reason").to_dicts()
        early = _early_stages(tuple(ws.sources.list()), first, second, status, quarantine, cleaned)
        for stage in early:
            (say or _quiet)(stage)
        diff = ws.diff(second.ref, cleaned.ref, sample=3)
        lineage = ws.lineage.upstream(cleaned.artifact_id)
        versions = tuple(ws.versions("sms"))[:3]
        stages, reports = turn(ws, root, say or _quiet)
        return DemoResult(
            root=root,
            sources=tuple(ws.sources.list()),
            first=first,
            second=second,
            round=status,
            quarantine=tuple(quarantine),
            cleaned=cleaned,
            versions=versions,
            diff=diff,
            lineage=lineage,
            stages=(*early, *stages),
            reports=reports,
        )


def _quiet(stage: Stage) -> None:
    """Hear nothing."""


def _early_stages(
    sources: tuple[SourceInfo, ...],
    first: IngestReport,
    second: IngestReport,
    status: RoundStatus,
    quarantine: list[dict[str, object]],
    cleaned: VersionInfo,
) -> list[Stage]:
    plan = "; ".join(f"{s.name} (value score {s.value_score:,.1f})" for s in sources)
    ingests = [
        f"Ingested {Path(r.location).name} from source '{r.source}' as {r.ref}: rows read {r.rows_read:,} "
        f"= committed {r.rows:,} + quarantined {r.quarantined:,}"
        for r in (first, second)
    ]
    bad = [f"  quarantined line {row['line']}: {row['reason']} — {row['raw']!r}" for row in quarantine]
    return [
        Stage("plan", (f"Plan: sources ranked by value: {plan}; collection round 1 opened for 7 days",)),
        Stage("ingest", (*ingests, *bad, f"Round 1 added {status.rows_added:,} rows")),
        Stage("unescape", (f"Unescaped HTML entities into {cleaned.ref} (tagged demo-clean)",)),
    ]


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
