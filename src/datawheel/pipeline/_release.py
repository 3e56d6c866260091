"""Releases in the workspace: freeze versions into a bundle, check it, rebuild it, move it.

:func:`release` tags the versions, writes their data (split into their splits), the
datasheet, the quality report and the lineage page into a bundle with a manifest of
checksums, and records the release in lineage. :func:`reproduce` replays every recorded call
upstream of the released versions in a new, empty workspace and compares the rebuilt rows
with the release's content checksums.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import blake3
import polars as pl

from datawheel._version import __version__
from datawheel.errors import DatawheelError
from datawheel.lineage import ExecutionInfo, VersionInfo
from datawheel.pipeline._artifacts import artifact_path, artifact_versions, save_artifact
from datawheel.pipeline._record import run_step
from datawheel.pipeline._release_facts import (
    composition_facts,
    evaluation_facts,
    labelling_facts,
    quality_facts,
    related_executions,
)
from datawheel.pipeline._replay import CALL, replay_call, unreplayable, without_call
from datawheel.release import (
    MANIFEST,
    ReleaseError,
    Verification,
    datasheet_markdown,
    lineage_html,
    markdown_html,
    pack_bundle,
    pull_bundle,
    push_bundle,
    read_manifest,
    verify_bundle,
    write_manifest,
)
from datawheel.store import ROW_HASH, ROW_ID, check_tag, write_frame
from datawheel.workspace import Workspace

RELEASE = "release"
SPLIT_COLUMN = "split"
DataFormat = Literal["parquet", "csv", "jsonl"]
#: Steps upstream of a release that are not cleaning: the datasheet shows them elsewhere.
NOT_CLEANING = {"ingest", "split", RELEASE}


@dataclass(frozen=True)
class ReleaseReport:
    """What :func:`release` froze and wrote."""

    name: str
    bundle: Path
    versions: tuple[VersionInfo, ...]
    files: int
    archive: Path | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape: ``bundle`` (the folder) and ``files`` (count), and more."""
        return {
            "release": self.name,
            "bundle": str(self.bundle),
            "files": self.files,
            "archive": str(self.archive) if self.archive else None,
            "datasets": [v.ref for v in self.versions],
        }


@dataclass(frozen=True)
class Rebuilt:
    """One released dataset version as :func:`reproduce` rebuilt it."""

    ref: str
    rows: int
    expected_rows: int
    identical: bool
    rebuilt_ref: str | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of one dataset's comparison."""
        return {
            "ref": self.ref,
            "identical": self.identical,
            "rows": self.rows,
            "expected_rows": self.expected_rows,
            "rebuilt": self.rebuilt_ref,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class ReproduceReport:
    """What :func:`reproduce` replayed and how the rebuilt versions compare."""

    release: str
    steps: tuple[str, ...]
    datasets: tuple[Rebuilt, ...]

    @property
    def identical(self) -> bool:
        """True when every released version was rebuilt with exactly the same rows."""
        return all(d.identical for d in self.datasets)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: ``identical``, the steps replayed, each dataset compared."""
        return {
            "release": self.release,
            "identical": self.identical,
            "steps": list(self.steps),
            "datasets": [d.to_dict() for d in self.datasets],
        }


def content_digest(frame: pl.DataFrame) -> str:
    """A BLAKE3 checksum of a version's rows: their ids and content hashes, in order.

    Provenance (``_source``: execution ids, times) is left out, so the same rows rebuilt by
    another run have the same digest.
    """
    hasher = blake3.blake3()
    hasher.update(frame[ROW_HASH].cast(pl.Int64).to_numpy().tobytes())
    hasher.update("\n".join(frame[ROW_ID].cast(pl.String).to_list()).encode())
    return str(hasher.hexdigest())


def release(
    workspace: Workspace,
    name: str,
    *,
    datasets: Sequence[str],
    notes: Path | None = None,
    output: Path | None = None,
    formats: Sequence[DataFormat] = ("parquet",),
    archive: bool = False,
    label: str | None = None,
) -> ReleaseReport:
    """Freeze the versions ``datasets`` names as the release ``name`` and write its bundle.

    Each version is tagged ``name``; the bundle (``output``, by default
    ``releases/NAME`` in the workspace) holds the data, one file per split when a version has
    a ``split`` column, ``manifest.json`` with every file's BLAKE3 checksum and each version's
    content checksum, ``datasheet.md`` and ``.html``, ``quality.html`` and ``lineage.html``.
    ``label`` names the label column for class balances (found by name when not given).
    """
    check_tag(name)
    if artifact_versions(workspace, RELEASE, name):
        raise ReleaseError(
            f"a release '{name}' exists already", hint="releases never change: pick a new name"
        )
    if not datasets:
        raise ReleaseError("a release needs at least one dataset version", hint="pass --datasets REF")
    versions = _unique([workspace.resolve(ref) for ref in datasets])
    bundle = (output or workspace.root / "releases" / name).resolve()
    if bundle.exists() and any(bundle.iterdir()):
        raise ReleaseError(f"{bundle} is not empty", hint="pass --output with a new folder")
    note_text = notes.read_text(encoding="utf-8") if notes else ""
    with run_step(
        workspace,
        RELEASE,
        parameters={"release": name, "datasets": [v.ref for v in versions], "formats": list(formats)},
        inputs=[workspace.lineage.artifact(v.artifact_id) for v in versions],
    ) as run:
        bundle.mkdir(parents=True, exist_ok=True)
        entries = [_write_data(workspace, v, bundle, formats, label) for v in versions]
        facts = gather_facts(workspace, versions, entries, release=name, notes=note_text)
        facts["files"] = [(p.relative_to(bundle).as_posix(), p.stat().st_size) for p in _files(bundle)]
        _write_reports(workspace, versions, bundle, facts)
        manifest = write_manifest(
            bundle,
            {
                "release": name,
                "created": facts["created"],
                "datawheel_version": __version__,
                "workspace": workspace.config.name,
                "datasets": entries,
            },
        )
        save_artifact(
            run,
            RELEASE,
            name,
            bundle / MANIFEST,
            properties={"bundle": str(bundle), "datasets": [v.ref for v in versions]},
        )
    for version in versions:
        workspace.tag(version.ref, name)
    packed = pack_bundle(bundle) if archive else None
    return ReleaseReport(name, bundle, tuple(versions), len(manifest["files"]) + 1, packed, facts)


def release_manifest(workspace: Workspace, name: str) -> dict[str, Any]:
    """The manifest a release recorded in the workspace (kept in the blob store)."""
    data: dict[str, Any] = json.loads(artifact_path(workspace, RELEASE, name).read_text(encoding="utf-8"))
    return data


def push_release(workspace: Workspace, name: str, remote: str) -> str:
    """Copy the bundle of release ``name`` to ``REMOTE/NAME/``; return where it went."""
    manifest = release_manifest(workspace, name)
    bundle = Path(str(manifest_bundle(workspace, name)))
    if not bundle.is_dir() or read_manifest(bundle) != manifest:
        raise ReleaseError(
            f"the bundle of release '{name}' at {bundle} is gone or its manifest changed",
            hint="releases are pushed from the bundle the release wrote",
        )
    checked = verify_bundle(bundle)
    if not checked.ok:
        first = checked.problems[0]
        raise ReleaseError(
            f"the bundle of release '{name}' fails its manifest: {first.file}: {first.problem}",
            hint=f"run `datawheel verify {bundle}` to see every problem; push only an intact bundle",
        )
    return push_bundle(bundle, remote)


def pull_release(remote: str, name: str, into: Path) -> tuple[Path, Verification]:
    """Copy release ``name`` from ``remote`` into ``into/NAME``, checked against its manifest."""
    return pull_bundle(remote, name, into)


def manifest_bundle(workspace: Workspace, name: str) -> str:
    """The folder the release ``name`` was written to."""
    artifact = artifact_versions(workspace, RELEASE, name)
    if not artifact:
        raise ReleaseError(
            f"no release '{name}'", hint="check the name; a release is made with `datawheel release`"
        )
    return str(artifact[-1].properties.get("bundle", ""))


def reproduce(workspace: Workspace, name: str, *, keep: Path | None = None) -> ReproduceReport:
    """Rebuild the versions of release ``name`` from their recorded inputs, in a new workspace.

    Every execution upstream of the released versions is replayed, oldest first, from its
    recorded call (the same files, parameters and code), in an empty workspace (in ``keep``
    if given, else a temporary folder). Each rebuilt version is compared with the release's
    content checksum: the same rows, in the same order, with the same ids and content.
    """
    manifest = release_manifest(workspace, name)
    released = [workspace.resolve(d["ref"]) for d in manifest["datasets"]]
    executions = _upstream_executions(workspace, released)
    with tempfile.TemporaryDirectory() as tmp:
        root = keep or Path(tmp) / "rebuild"
        with Workspace.init(root, name=f"reproduce-{name}") as scratch:
            for source in workspace.sources.list():
                scratch.sources.add(
                    source.name, uri=source.uri, cost=source.cost, days=source.days,
                    expected_rows=source.expected_rows, quality=source.quality, notes=source.notes,
                )  # fmt: skip
            refs, steps, problem = _replay_all(workspace, scratch, executions)
            compared = tuple(_compare(scratch, d, refs.get(d["ref"]), problem) for d in manifest["datasets"])
    return ReproduceReport(name, tuple(steps), compared)


def _replay_all(
    workspace: Workspace, scratch: Workspace, executions: Sequence[ExecutionInfo]
) -> tuple[dict[str, str], list[str], str | None]:
    refs: dict[str, str] = {}
    steps: list[str] = []
    for execution in executions:
        call = execution.parameters.get(CALL)
        if execution.step == RELEASE:
            continue
        if not call:
            return (
                refs,
                steps,
                f"step '{execution.step}' (execution {execution.id}) recorded no call to replay",
            )
        if unreplayable(call):
            missing = ", ".join(unreplayable(call))
            return refs, steps, f"step '{execution.step}' cannot be replayed: {missing} was not recorded"
        before = _last_execution(scratch)
        try:
            replay_call(scratch, call, refs)
        except DatawheelError as exc:
            return refs, steps, f"step '{execution.step}' failed on replay: {exc}"
        steps.append(execution.step)
        made = {
            v.dataset: v
            for e in scratch.lineage.executions()
            if e.id > before
            for v in scratch.catalog.made_by(e.id)
        }
        for original in workspace.catalog.made_by(execution.id):
            if original.dataset in made:
                refs[original.ref] = made[original.dataset].ref
    return refs, steps, None


def _last_execution(scratch: Workspace) -> int:
    return max((e.id for e in scratch.lineage.executions()), default=0)


def _compare(scratch: Workspace, entry: dict[str, Any], rebuilt: str | None, problem: str | None) -> Rebuilt:
    expected_rows = int(entry["rows"])
    if rebuilt is None:
        return Rebuilt(
            entry["ref"], 0, expected_rows, False, None, problem or "not rebuilt by any replayed step"
        )
    frame = scratch.read(rebuilt)
    same = content_digest(frame) == entry["content_blake3"]
    why = None if same else "the rebuilt rows differ from the released ones"
    return Rebuilt(entry["ref"], frame.height, expected_rows, same, rebuilt, why)


def _upstream_executions(workspace: Workspace, versions: Sequence[VersionInfo]) -> list[ExecutionInfo]:
    ids: set[int] = set()
    for version in versions:
        graph = workspace.lineage.upstream(version.artifact_id)
        ids |= {int(n.id[1:]) for n in graph.nodes if n.kind == "execution"}
    return [workspace.lineage.execution(i) for i in sorted(ids)]


def _unique(versions: list[VersionInfo]) -> list[VersionInfo]:
    seen: dict[str, VersionInfo] = {}
    for version in versions:
        if version.dataset in seen and seen[version.dataset].ref != version.ref:
            raise ReleaseError(
                f"two versions of '{version.dataset}' given ({seen[version.dataset].ref}, {version.ref})",
                hint="a release holds one version of each dataset",
            )
        seen[version.dataset] = version
    return list(seen.values())


def _write_data(
    workspace: Workspace, version: VersionInfo, bundle: Path, formats: Sequence[DataFormat], label: str | None
) -> dict[str, Any]:
    frame = workspace.read(version)
    folder = bundle / "data"
    parts: dict[str, pl.DataFrame]
    if SPLIT_COLUMN in frame.columns:
        parts = {
            str(s): frame.filter(pl.col(SPLIT_COLUMN) == s)
            for s in frame[SPLIT_COLUMN].unique(maintain_order=True)
        }
        files = {s: [folder / version.dataset / f"{s}.{fmt}" for fmt in formats] for s in parts}
    else:
        parts = {"all": frame}
        files = {"all": [folder / f"{version.dataset}.{fmt}" for fmt in formats]}
    for part, paths in files.items():
        for path in paths:
            write_frame(parts[part], path)
    column = label or _label_column(frame)
    return {
        "ref": version.ref,
        "dataset": version.dataset,
        "version": version.version,
        "rows": version.rows,
        "columns": version.columns,
        "key": list(version.key),
        "content_blake3": content_digest(frame),
        "splits": {s: p.height for s, p in parts.items()} if SPLIT_COLUMN in frame.columns else {},
        "label": column,
        "classes": _counts(frame, column),
        "files": sorted(p.relative_to(bundle).as_posix() for paths in files.values() for p in paths),
    }


def _label_column(frame: pl.DataFrame) -> str | None:
    for name in ("label", "labels", "class", "target", "y"):
        if name in frame.columns:
            return name
    return None


def _counts(frame: pl.DataFrame, column: str | None) -> dict[str, int]:
    if column is None or column not in frame.columns:
        return {}
    counts = frame[column].cast(pl.String).fill_null("(none)").value_counts(sort=True)
    return {str(k): int(v) for k, v in counts.iter_rows()}


def _files(bundle: Path) -> list[Path]:
    return sorted(p for p in bundle.rglob("*") if p.is_file())


def gather_facts(
    workspace: Workspace,
    versions: Sequence[VersionInfo],
    entries: Sequence[dict[str, Any]],
    *,
    release: str,
    notes: str = "",
) -> dict[str, Any]:
    """The facts a datasheet and a quality report are written from, read from lineage.

    Sources, ingests (file, rows, quarantined, who, when), cleaning steps (rows in, kept,
    removed, parameters), removed and quarantined rows by reason, composition of each
    version; then a fresh profile, contracts, split balance and leakage, labelling and
    baselines (see ``_release_facts``).
    """
    executions = _upstream_executions(workspace, versions)
    facts: dict[str, Any] = {
        "release": release,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "datawheel_version": __version__,
        "notes": notes,
        "datasets": [dict(e) for e in entries],
        "sources": [s.to_dict() for s in workspace.sources.list()],
        "ingests": [],
        "cleaning": [],
        "set_aside": [],
        "steps": [{"step": e.step, "user": e.user, "time": e.started_at.isoformat()} for e in executions],
    }
    for execution in executions:
        made = workspace.catalog.made_by(execution.id)
        if execution.step == "ingest":
            facts["ingests"].append(_ingest_fact(execution, made))
        elif execution.step not in NOT_CLEANING and made:
            facts["cleaning"].append(_step_fact(workspace, execution, made))
        for version in made:
            if version.dataset.endswith((".removed", ".quarantine")):
                facts["set_aside"].append(_reasons(workspace, version))
    composition_facts(workspace, versions, facts)
    quality_facts(workspace, versions, facts)
    related = related_executions(workspace, versions)
    labelling_facts(workspace, related, facts)
    evaluation_facts(workspace, related, facts)
    return facts


def _ingest_fact(execution: ExecutionInfo, made: Sequence[VersionInfo]) -> dict[str, Any]:
    params = without_call(execution.parameters)
    main = [v for v in made if not v.dataset.endswith(".quarantine")]
    quarantine = [v for v in made if v.dataset.endswith(".quarantine")]
    return {
        "time": execution.started_at.replace(microsecond=0).isoformat(),
        "user": execution.user,
        "file": Path(str(params.get("location", ""))).name,
        "format": params.get("format", ""),
        "rows": main[0].rows if main else 0,
        "version": main[0].ref if main else "",
        "quarantined": quarantine[0].rows if quarantine else 0,
        "source": params.get("source"),
    }


def _step_fact(workspace: Workspace, execution: ExecutionInfo, made: Sequence[VersionInfo]) -> dict[str, Any]:
    kept = [v for v in made if not v.dataset.endswith((".removed", ".quarantine"))]
    removed = [v for v in made if v.dataset.endswith(".removed")]
    inputs = [
        n
        for n in workspace.lineage.upstream(made[0].artifact_id, depth=2).nodes
        if n.kind == "dataset_version"
    ]
    rows_in = next((n.properties.get("rows") for n in inputs if n.id != f"a{made[0].artifact_id}"), "")
    params = without_call(execution.parameters)
    shown = ", ".join(f"{k}={v}" for k, v in params.items() if v not in (None, {}, [], "") and k != "params")
    return {
        "step": execution.step,
        "ref": kept[0].ref if kept else made[0].ref,
        "rows_in": rows_in,
        "kept": kept[0].rows if kept else "",
        "removed": removed[0].rows if removed else 0,
        "parameters": shown[:160],
    }


def _reasons(workspace: Workspace, version: VersionInfo) -> dict[str, Any]:
    frame = workspace.read(version)
    column = "reason" if "reason" in frame.columns else None
    reasons = _counts(frame, column) if column else {}
    return {"ref": version.ref, "rows": version.rows, "reasons": reasons}


def _write_reports(
    workspace: Workspace, versions: Sequence[VersionInfo], bundle: Path, facts: dict[str, Any]
) -> None:
    text = datasheet_markdown(facts)
    (bundle / "datasheet.md").write_text(text, encoding="utf-8")
    (bundle / "datasheet.html").write_text(
        markdown_html(text, title=f"Datasheet: {facts['release']}"), encoding="utf-8"
    )
    (bundle / "quality.html").write_text(
        markdown_html(quality_markdown(facts), title=f"Quality: {facts['release']}"), encoding="utf-8"
    )
    nodes: dict[str, tuple[str, str, str]] = {}
    edges: set[tuple[str, str]] = set()
    for version in versions:
        graph = workspace.lineage.upstream(version.artifact_id)
        nodes.update({n.id: (n.id, n.kind, n.name) for n in graph.nodes})
        edges |= {(e.source, e.target) for e in graph.edges}
    page = lineage_html(list(nodes.values()), sorted(edges), title=f"Lineage of release {facts['release']}")
    (bundle / "lineage.html").write_text(page, encoding="utf-8")


def quality_markdown(facts: dict[str, Any]) -> str:
    """The quality report: problems first, then balance, what was removed and why, and more."""
    lines = [f"# Quality report: {facts['release']}", ""]
    warnings = [str(w) for w in facts.get("warnings", [])]
    lines += (["## What needs attention", "", *[f"- {w}" for w in warnings], ""]) if warnings else [
        "## What needs attention", "", "Nothing was flagged.", ""
    ]  # fmt: skip
    for section in facts.get("quality_sections", []):
        lines += [f"## {section['title']}", "", *section["lines"], ""]
    labelling = facts.get("labelling") or {}
    lines += ["## Label quality", ""]
    lines += [f"- {k}: {v}" for k, v in labelling.items()] or ["No labelling step was recorded on this data."]
    lines.append("")
    lines += ["## Split and class balance", ""]
    for d in facts.get("datasets", []):
        splits = ", ".join(f"{k} {v:,}" for k, v in d.get("splits", {}).items()) or "none"
        classes = ", ".join(f"{k} {v:,}" for k, v in d.get("classes", {}).items()) or "none"
        lines.append(f"- `{d['ref']}`: {d['rows']:,} rows; splits: {splits}; classes: {classes}")
    lines += ["", "## What was removed or set aside, and why", ""]
    aside = facts.get("set_aside", [])
    if not aside:
        lines.append("Nothing was removed or quarantined upstream of this release.")
    for entry in aside:
        reasons = "; ".join(f"{k}: {v:,}" for k, v in entry["reasons"].items()) or "no reason recorded"
        lines.append(f"- `{entry['ref']}`: {entry['rows']:,} rows ({reasons})")
    return "\n".join(lines) + "\n"
