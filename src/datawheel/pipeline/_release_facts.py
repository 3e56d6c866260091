"""What a release's datasheet and quality report say beyond ingest and cleaning, read from lineage.

Each gatherer adds to the facts of :func:`datawheel.pipeline._release.gather_facts`: a fresh
profile of each released version, the contracts checked against it, its split balance and
leakage, the labelling done on its data (agreement recomputed from the recorded annotations,
aggregation, weak labels, label issues), and the baselines trained on it. Related work is any
execution that read a version upstream of the release, or what those made.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from datawheel.lineage import ExecutionInfo, Node, VersionInfo
from datawheel.pipeline._replay import without_call
from datawheel.workspace import Workspace

_RELATED_DEPTH = 6
_SAID = {
    "label-aggregate": ("aggregation into", "method {method}, {rows:,} items"),
    "label-weak": ("weak labels in", "{rows:,} rows labelled by labelling functions"),
    "label-issues": ("label issues in", "{rows:,} rows flagged for review"),
    "simulate-annotations": ("labelling round", "{rows:,} labels from simulated annotators (the demo)"),
}


@dataclass(frozen=True)
class Related:
    """Executions related to a release, with the artifacts each read and wrote."""

    executions: list[ExecutionInfo]
    inputs: dict[int, list[Node]]
    outputs: dict[int, list[Node]]


def related_executions(workspace: Workspace, versions: Sequence[VersionInfo]) -> Related:
    """Executions upstream of the versions, and those downstream of anything upstream (by id)."""
    nodes: dict[str, Node] = {}
    edges: set[tuple[str, str, str]] = set()
    upstream = [workspace.lineage.upstream(v.artifact_id) for v in versions]
    for graph in upstream:
        nodes.update({n.id: n for n in graph.nodes})
        edges |= {(e.source, e.target, e.type) for e in graph.edges}
    for node in [n for n in nodes.values() if n.kind == "dataset_version"]:
        graph = workspace.lineage.downstream(int(node.id[1:]), depth=_RELATED_DEPTH)
        nodes.update({n.id: n for n in graph.nodes})
        edges |= {(e.source, e.target, e.type) for e in graph.edges}
    inputs: dict[int, list[Node]] = {}
    outputs: dict[int, list[Node]] = {}
    for source, target, kind in sorted(edges):
        if kind == "input":
            inputs.setdefault(int(target[1:]), []).append(nodes[source])
        else:
            outputs.setdefault(int(source[1:]), []).append(nodes[target])
    ids = sorted(int(n.id[1:]) for n in nodes.values() if n.kind == "execution")
    return Related([workspace.lineage.execution(i) for i in ids], inputs, outputs)


def composition_facts(workspace: Workspace, versions: Sequence[VersionInfo], facts: dict[str, Any]) -> None:
    """A one-pass profile of each released version: type, nulls and distinct values per column."""
    from datawheel.validate import profile

    for entry, version in zip(facts["datasets"], versions, strict=True):
        frame = workspace.read(version).drop(pl.selectors.starts_with("_"))
        columns = profile(frame).columns
        entry["profile"] = [
            [name, c.dtype, f"{c.nulls:,} ({c.nulls / max(c.count, 1):.1%})", f"{c.distinct:,}"]
            for name, c in columns.items()
        ]


def quality_facts(workspace: Workspace, versions: Sequence[VersionInfo], facts: dict[str, Any]) -> None:
    """Contracts checked against each released version; split balance and leakage of split versions."""
    from datawheel.pipeline._artifacts import artifact_versions
    from datawheel.pipeline._validate import CONTRACT
    from datawheel.split import check_leakage
    from datawheel.validate import check_contract, load_contract

    sections: list[dict[str, Any]] = facts.setdefault("quality_sections", [])
    warnings: list[str] = facts.setdefault("warnings", [])
    for version in versions:
        frame = workspace.read(version)
        data = frame.drop(pl.selectors.starts_with("_"))
        for artifact in _contracts(workspace, version, artifact_versions, CONTRACT):
            result = check_contract(data, load_contract(workspace.blobs.path(artifact.digest)))
            lines = [f"Contract `{artifact.name}` checked against `{version.ref}`: "
                     + ("ok" if result.ok else f"{result.errors} errors")
                     + f", {len(result.anomalies)} anomalies."]  # fmt: skip
            lines += [
                f"- {a.severity}: `{a.column}` {a.check}: expected {a.expected}, observed {a.observed}"
                for a in result.anomalies
            ]
            sections.append({"title": f"Validation of {version.ref}", "lines": lines})
            warnings += [
                f"{version.ref}: `{a.column}` fails {a.check}"
                for a in result.anomalies
                if a.severity == "error"
            ]
        if "split" in frame.columns:
            _split_section(frame, version, facts, sections, warnings, check_leakage)


def _contracts(workspace: Workspace, version: VersionInfo, versions: Any, kind: str) -> list[Any]:
    base = version.dataset.split(".")[0]
    found = versions(workspace, kind, version.dataset) or versions(workspace, kind, base)
    return found[-1:] if found else []


def _split_section(
    frame: pl.DataFrame,
    version: VersionInfo,
    facts: dict[str, Any],
    sections: list[dict[str, Any]],
    warnings: list[str],
    check_leakage: Any,
) -> None:
    entry = next(d for d in facts["datasets"] if d["ref"] == version.ref)
    label = entry.get("label")
    lines: list[str] = []
    if label:
        table = frame.group_by("split", label).len().sort("split", label)
        totals = frame.group_by(label).len()
        whole = {str(k): v / frame.height for k, v in totals.iter_rows()}
        lines += ["| split | class | rows | share in split | share overall |", "|---|---|---|---|---|"]
        sizes = dict(frame.group_by("split").len().iter_rows())
        for split, value, count in table.iter_rows():
            share = count / sizes[split]
            lines.append(f"| {split} | {value} | {count:,} | {share:.1%} | {whole[str(value)]:.1%} |")
        lines.append("")
    leakage = check_leakage(frame.drop(pl.selectors.starts_with("_")))
    for leak in leakage.checks:
        lines.append(f"- leakage by {leak.kind}: {leak.rows:,} rows in more than one split")
        if leak.rows:
            warnings.append(f"{version.ref}: {leak.rows:,} rows leak across splits by {leak.kind}")
    sections.append({"title": f"Split balance and leakage of {version.ref}", "lines": lines})


def labelling_facts(workspace: Workspace, related: Related, facts: dict[str, Any]) -> None:
    """Agreement (recomputed from the recorded annotations), aggregation, weak labels, label issues."""
    from datawheel.label import agreement

    labelling: dict[str, Any] = facts.setdefault("labelling", {})
    for execution in related.executions:
        params = without_call(execution.parameters)
        inputs = [n.name for n in related.inputs.get(execution.id, []) if n.kind == "dataset_version"]
        made = workspace.catalog.made_by(execution.id)
        if execution.step == "label-agreement" and inputs:
            frame = workspace.read(inputs[0])
            columns = {k: params.get(k, k) for k in ("item", "annotator", "label")}
            result = agreement(frame, **columns)
            labelling[f"agreement on {inputs[0]}"] = (
                f"{frame[columns['annotator']].n_unique()} annotators, "
                f"{frame[columns['item']].n_unique():,} items, "
                f"{frame.height:,} labels; Fleiss' kappa {result.fleiss_kappa:.3f}, Krippendorff's alpha "
                f"{result.krippendorff_alpha:.3f}, percent agreement {result.percent_agreement:.1%}"
            )
        elif made and execution.step in _SAID:
            what, text = _SAID[execution.step]
            labelling[f"{what} {made[0].ref}"] = text.format(rows=made[0].rows, method=params.get("method"))


def evaluation_facts(workspace: Workspace, related: Related, facts: dict[str, Any]) -> None:
    """The metrics of baselines trained on the released data, per split; fairness checks made on it."""
    from datawheel.pipeline._evaluate import MODEL

    evaluation: dict[str, Any] = facts.setdefault("evaluation", {})
    fairness = [
        f"- `{node.name}`: demographic parity difference {result['demographic_parity_difference']:.3f}, "
        f"equalised odds difference {result['equalized_odds_difference']:.3f}, "
        f"groups: {', '.join(map(str, result.get('groups', {})))}"
        for execution in related.executions
        if execution.step == "fairness"
        for node in related.outputs.get(execution.id, [])
        if node.kind == "fairness"
        for result in [json.loads(workspace.blobs.path(str(node.properties.get("digest", ""))).read_text())]
    ]
    facts.setdefault("quality_sections", []).append(
        {
            "title": "Fairness",
            "lines": fairness or ["No fairness check was run on this data (`datawheel fairness`)."],
        }
    )
    for execution in related.executions:
        if execution.step != "baseline":
            continue
        for node in related.outputs.get(execution.id, []):
            if node.kind != MODEL:
                continue
            for split, metrics in (node.properties.get("metrics") or {}).items():
                shown = {k: v for k, v in metrics.items() if k in ("accuracy", "f1_macro", "roc_auc", "rows")}
                evaluation[f"{node.name} on {split}"] = ", ".join(
                    f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items()
                )
