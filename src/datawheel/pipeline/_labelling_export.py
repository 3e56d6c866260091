"""Progress, agreement and export of labelling projects.

Agreement and aggregation come from the label-quality capability (:mod:`datawheel.label`).
Export commits two dataset versions under one ``label-export`` execution whose inputs are the
project and its source version: ``PROJECT.annotations`` (one row per annotation) and
``PROJECT.labels`` (one row per item, the final label and how it was decided).
"""

from __future__ import annotations

import csv
import json
import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, get_args

import polars as pl
from sqlalchemy import func, select

from datawheel.errors import LabellingError
from datawheel.lineage import VersionInfo, now
from datawheel.lineage._labelling_models import (
    LabelAnnotation,
    LabelAssignment,
    LabelItem,
    LabelReview,
    LabelUser,
)
from datawheel.pipeline._labelling import _open, get_project, project_row
from datawheel.pipeline._record import run_step
from datawheel.workspace import Workspace

Method = Literal["majority", "dawid-skene"]
FileFormat = Literal["jsonl", "csv", "label-studio", "conll"]
What = Literal["annotations", "labels"]
_SUFFIXES: dict[str, FileFormat] = {
    ".jsonl": "jsonl",
    ".csv": "csv",
    ".json": "label-studio",
    ".conll": "conll",
}


@dataclass(frozen=True)
class LabelExport:
    """The two versions an export committed, and how many items each rule decided."""

    project: str
    annotations: VersionInfo
    labels: VersionInfo
    execution: int
    decided: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of an export."""
        return {
            "project": self.project,
            "annotations": self.annotations.ref,
            "labels": self.labels.ref,
            "annotation_rows": self.annotations.rows,
            "label_rows": self.labels.rows,
            "execution": self.execution,
            "decided": self.decided,
        }


def annotations_frame(workspace: Workspace, project: str | int) -> pl.DataFrame:
    """One row per active annotation: item, annotator, label, time, duration, guideline version."""
    with _open(workspace, write=False) as session:
        row = project_row(session, project)
        rows = session.execute(
            select(
                LabelAnnotation.id,
                LabelItem.row_id,
                LabelUser.name,
                LabelAnnotation.label,
                LabelAnnotation.value,
                LabelAnnotation.created_at,
                LabelAnnotation.duration_ms,
                LabelAnnotation.guideline_version,
                LabelAnnotation.round,
                LabelAnnotation.suggestion_used,
            )
            .join(LabelItem, LabelItem.id == LabelAnnotation.item_id)
            .join(LabelUser, LabelUser.id == LabelAnnotation.user_id)
            .where(LabelAnnotation.project_id == row.id, LabelAnnotation.undone_at.is_(None))
            .order_by(LabelAnnotation.id)
        ).all()
    schema: dict[str, Any] = {
        "annotation": pl.Int64,
        "item": pl.String,
        "annotator": pl.String,
        "label": pl.String,
        "value": pl.String,
        "time": pl.Datetime("us", "UTC"),
        "duration_ms": pl.Int64,
        "guideline_version": pl.Int64,
        "round": pl.String,
        "suggestion_used": pl.Boolean,
    }
    data = [(a, i, n, lb, json.dumps(v), t, d, g, r, s) for a, i, n, lb, v, t, d, g, r, s in rows]
    return pl.DataFrame(data, schema=schema, orient="row")


def _reviews(workspace: Workspace, project_id: int) -> dict[str, tuple[str, str]]:
    with _open(workspace, write=False) as session:
        rows = session.execute(
            select(LabelItem.row_id, LabelReview.label, LabelReview.value)
            .join(LabelItem, LabelItem.id == LabelReview.item_id)
            .where(LabelReview.project_id == project_id)
            .order_by(LabelReview.id)
        ).all()
    return {row_id: (label, json.dumps(value)) for row_id, label, value in rows}  # the last decision wins


def final_labels(workspace: Workspace, project: str | int, *, method: Method = "majority") -> pl.DataFrame:
    """One row per labelled item: the final label and how it was decided.

    A reviewer's decision wins (``reviewer``); else a label all annotators gave
    (``unanimous``); else the label-quality capability's aggregate (``majority`` or
    ``dawid-skene``), with its confidence.
    """
    from datawheel.label import LabelWarning, aggregate

    info = get_project(workspace, project)
    notes = annotations_frame(workspace, info.id)
    reviews = _reviews(workspace, info.id)
    values = dict(zip(notes["label"], notes["value"], strict=True))
    per_item = notes.group_by("item", maintain_order=True).agg(
        pl.col("label").n_unique().alias("distinct"), pl.col("label").first(), pl.len().alias("annotations")
    )
    contested = per_item.filter(pl.col("distinct") > 1)
    voted: dict[str, tuple[str, float]] = {}
    if contested.height:
        with warnings.catch_warnings():  # Dawid-Skene short of convergence still gives its best labels
            warnings.simplefilter("ignore", LabelWarning)
            result = aggregate(notes.select("item", "annotator", "label"), method=method)
        voted = {
            r["item"]: (str(r["label"]), float(r["confidence"])) for r in result.labels.iter_rows(named=True)
        }
    rows = []
    for item, distinct, label, count in per_item.iter_rows():
        how, confidence = "unanimous", 1.0
        if item in reviews:
            label, how = reviews[item][0], "reviewer"
            values.setdefault(label, reviews[item][1])
        elif distinct > 1:
            label, confidence = voted[item]
            how = method
        rows.append((item, label, values.get(label, json.dumps(label)), how, confidence, count))
    for item, (label, value) in reviews.items():  # decided without annotations (a flagged item)
        if item not in set(per_item["item"]):
            rows.append((item, label, value, "reviewer", 1.0, 0))
    schema: dict[str, Any] = {
        "item": pl.String,
        "label": pl.String,
        "value": pl.String,
        "how": pl.String,
        "confidence": pl.Float64,
        "annotations": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def export_project(workspace: Workspace, project: str | int, *, method: Method = "majority") -> LabelExport:
    """Commit the annotations and final labels as dataset versions, with lineage.

    The ``label-export`` execution reads the project artifact and its source version and
    writes ``PROJECT.annotations`` and ``PROJECT.labels``, so ``datawheel lineage`` walks from
    the label versions through the project back to the rows that were labelled.
    """
    if method not in get_args(Method):
        raise LabellingError(f"'{method}' is not an aggregation method", hint="use majority or dawid-skene")
    info = get_project(workspace, project)
    source = workspace.resolve(info.source_ref)
    inputs = [workspace.lineage.artifact(info.artifact_id), workspace.lineage.artifact(source.artifact_id)]
    with run_step(
        workspace,
        "label-export",
        parameters={"project": info.name, "method": method},
        inputs=inputs,
        contexts=[info.context_id],
    ) as run:
        notes = annotations_frame(workspace, info.id).with_columns(pl.lit(info.name).alias("project"))
        labels = final_labels(workspace, info.id, method=method)
        a = run.commit(
            f"{info.name}.annotations", notes, key=["annotation"], message=f"annotations of {info.name}"
        )
        b = run.commit(
            f"{info.name}.labels", labels, key=["item"], message=f"final labels of {info.name} ({method})"
        )
    for version in (a, b):
        workspace.lineage.attribute(info.context_id, version.artifact_id)
    decided = dict(labels.group_by("how").len().sort("how").iter_rows())
    return LabelExport(info.name, a, b, run.execution.id, {str(k): int(v) for k, v in decided.items()})


def suffix_format(path: Path) -> FileFormat:
    """The file format a path's suffix names: ``.jsonl``, ``.csv``, ``.json`` (Label Studio), ``.conll``."""
    chosen = _SUFFIXES.get(path.suffix.lower())
    if chosen is None:
        raise LabellingError(f"cannot tell the format of {path}", hint="use .jsonl, .csv, .json or .conll")
    return chosen


def write_labels(
    workspace: Workspace,
    project: str | int,
    path: Path,
    *,
    what: What = "labels",
    format: FileFormat | None = None,
    method: Method = "majority",
) -> int:
    """Write annotations or final labels, with the item's text, to a file; the rows written.

    The format comes from ``format`` or the suffix: ``.jsonl``, ``.csv``, ``.json`` (Label
    Studio tasks) or ``.conll`` (BIO tags per whitespace token; span projects only).
    """
    chosen = format or suffix_format(path)
    info = get_project(workspace, project)
    frame = (
        annotations_frame(workspace, info.id)
        if what == "annotations"
        else final_labels(workspace, info.id, method=method)
    )
    texts = _payloads(workspace, info.id)
    try:
        if chosen == "jsonl":
            with path.open("w", encoding="utf-8") as out:
                for row in frame.iter_rows(named=True):
                    out.write(json.dumps(_plain(row, texts), ensure_ascii=False, default=str) + "\n")
        elif chosen == "csv":
            _write_csv(path, [_plain(row, texts) for row in frame.iter_rows(named=True)])
        elif chosen == "label-studio":
            path.write_text(
                json.dumps(_label_studio(frame, texts, info.task_type), ensure_ascii=False, indent=1)
            )
        else:
            if info.task_type != "spans":
                raise LabellingError("CoNLL export is for span projects", hint="use .jsonl, .csv or .json")
            path.write_text(_conll(frame, texts), encoding="utf-8")
    except OSError as exc:
        raise LabellingError(f"cannot write {path}: {exc.strerror}", hint="choose a writable path") from exc
    return frame.height


def _payloads(workspace: Workspace, project_id: int) -> dict[str, dict[str, Any]]:
    with _open(workspace, write=False) as session:
        return dict(
            session.execute(
                select(LabelItem.row_id, LabelItem.payload).where(LabelItem.project_id == project_id)
            ).all()
        )


def _plain(row: dict[str, Any], payloads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "value"}
    out["value"] = json.loads(row["value"])
    return {**out, **payloads.get(row["item"], {})}


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        fields = list(rows[0]) if rows else ["item", "label"]
        writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in row.items()})


def _label_studio(
    frame: pl.DataFrame, payloads: dict[str, dict[str, Any]], task_type: str
) -> list[dict[str, Any]]:
    tasks: dict[str, dict[str, Any]] = {}
    for row in frame.iter_rows(named=True):
        payload = payloads.get(row["item"], {})
        data = (
            {"image": f"/api/blobs/{payload.get('blob')}"}
            if task_type == "image"
            else {"text": payload.get("text")}
        )
        task = tasks.setdefault(
            row["item"], {"id": len(tasks) + 1, "data": {**data, "row_id": row["item"]}, "annotations": []}
        )
        result = _ls_result(json.loads(row["value"]), task_type, payload.get("text", ""))
        task["annotations"].append({"completed_by": row.get("annotator", row.get("how")), "result": result})
    return list(tasks.values())


def _ls_result(value: Any, task_type: str, text: str) -> list[dict[str, Any]]:
    target = "image" if task_type == "image" else "text"
    if task_type == "spans":
        return [
            {
                "from_name": "label",
                "to_name": "text",
                "type": "labels",
                "value": {
                    "start": s["start"],
                    "end": s["end"],
                    "text": text[s["start"] : s["end"]],
                    "labels": [s["label"]],
                },
            }
            for s in value
        ]
    choices = value if isinstance(value, list) else [value]
    return [{"from_name": "label", "to_name": target, "type": "choices", "value": {"choices": choices}}]


def _conll(frame: pl.DataFrame, payloads: dict[str, dict[str, Any]]) -> str:
    blocks = []
    for row in frame.iter_rows(named=True):
        text = payloads.get(row["item"], {}).get("text", "")
        spans = json.loads(row["value"])
        lines = [f"# item = {row['item']}"]
        offset = 0
        for token in text.split():
            start = text.index(token, offset)
            end = offset = start + len(token)
            tag = "O"
            for span in spans:
                if span["start"] <= start and end <= span["end"]:
                    tag = (
                        "B-" if start == span["start"] or not text[span["start"] : start].strip() else "I-"
                    ) + span["label"]
                    break
            lines.append(f"{token}\t{tag}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


@dataclass(frozen=True)
class ProjectStats:
    """Progress, pace and agreement of a project, for the dashboard."""

    project: str
    round: str
    items: int
    items_done: int
    annotations: int
    skipped: int
    items_per_hour: float
    to_review: int
    per_annotator: list[dict[str, Any]]
    per_label: list[dict[str, Any]]
    agreement: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of the dashboard's figures."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def project_stats(workspace: Workspace, project: str | int) -> ProjectStats:
    """Progress per annotator and per label, pace, time per task, agreement and review backlog."""
    from datawheel.pipeline._labelling_tasks import review_queue

    info = get_project(workspace, project)
    notes = annotations_frame(workspace, info.id)
    with _open(workspace, write=False) as session:
        skipped = dict(
            session.execute(
                select(LabelUser.name, func.count())
                .join(LabelAssignment, LabelAssignment.user_id == LabelUser.id)
                .where(LabelAssignment.project_id == info.id, LabelAssignment.status == "skipped")
                .group_by(LabelUser.name)
            ).all()
        )
    counts = notes.group_by("item").len()
    done = counts.filter(pl.col("len") >= info.overlap).height
    recent = notes.filter(pl.col("time") >= now() - timedelta(hours=1)).height
    agreement = _agreement(notes)
    per_annotator = _per_annotator(notes, skipped, agreement)
    per_label = _per_label(notes, info.label_names, info.task_type, agreement)
    return ProjectStats(
        info.name,
        info.round,
        info.items,
        done,
        notes.height,
        sum(skipped.values()),
        float(recent),
        len(review_queue(workspace, info.id, limit=10_000)),
        per_annotator,
        per_label,
        None if agreement is None else agreement["overall"],
    )


def _agreement(notes: pl.DataFrame) -> dict[str, Any] | None:
    shared = notes.filter(pl.len().over("item") >= 2)
    if shared.height == 0 or shared["annotator"].n_unique() < 2:
        return None
    from datawheel.label import agreement

    found = agreement(shared.select("item", "annotator", "label")).to_dict()
    overall = {k: found[k] for k in ("fleiss_kappa", "krippendorff_alpha", "percent_agreement", "items")}
    return {"overall": overall, "per_label": found["per_label"], "per_annotator": found["per_annotator"]}


def _number(value: float) -> float | None:
    return None if value != value else round(float(value), 4)  # NaN -> None for JSON


def _per_annotator(
    notes: pl.DataFrame, skipped: dict[str, int], agreement: dict[str, Any] | None
) -> list[dict[str, Any]]:
    scored = {row.get("annotator"): row for row in (agreement or {}).get("per_annotator", [])}
    table = notes.group_by("annotator").agg(
        pl.len().alias("done"),
        (pl.col("duration_ms").mean() / 1000).alias("seconds_per_task"),
        pl.col("time").min().alias("first"),
        pl.col("time").max().alias("last"),
    )
    out = []
    for row in table.sort("annotator").iter_rows(named=True):
        hours = max((row["last"] - row["first"]).total_seconds() / 3600, 1 / 60)
        extra = {k: v for k, v in scored.get(row["annotator"], {}).items() if k in ("agreement", "pairs")}
        out.append(
            {
                "annotator": row["annotator"],
                "done": row["done"],
                "skipped": skipped.get(row["annotator"], 0),
                "seconds_per_task": round(row["seconds_per_task"] or 0.0, 2),
                "items_per_hour": round(row["done"] / hours, 1),
                **{k: _number(v) if isinstance(v, float) else v for k, v in extra.items()},
            }
        )
    return out


def _per_label(
    notes: pl.DataFrame, names: tuple[str, ...], task_type: str, agreement: dict[str, Any] | None
) -> list[dict[str, Any]]:
    scored = {str(row.get("label")): row for row in (agreement or {}).get("per_label", [])}
    if task_type in ("single", "image"):
        used = notes["label"].to_list()
    else:
        used = [_names_in(json.loads(v)) for v in notes["value"]]
        used = [n for group in used for n in group]
    total = max(len(used), 1)
    out = []
    for name in names:
        count = used.count(name)
        extra = {k: v for k, v in scored.get(name, {}).items() if k in ("specific_agreement", "kappa")}
        out.append(
            {
                "label": name,
                "count": count,
                "share": round(count / total, 4),
                **{k: _number(v) if isinstance(v, float) else v for k, v in extra.items()},
            }
        )
    return out


def _names_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v["label"] if isinstance(v, dict) else str(v) for v in value]


def pilot_disagreements(workspace: Workspace, project: str | int) -> list[dict[str, Any]]:
    """The pilot round's items whose annotators disagree, with every label given."""
    from datawheel.pipeline._labelling_tasks import review_queue

    return [item for item in review_queue(workspace, project, limit=10_000) if item["round"] == "pilot"]
