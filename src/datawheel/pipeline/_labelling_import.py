"""Labels from files as a project's suggestions: JSONL, CSV, Label Studio JSON, CoNLL.

A model's predictions, or labels made in another tool, become the pre-filled suggestions
annotators correct instead of typing. Items are matched by row id (``item`` or ``row_id``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select, update

from datawheel.errors import LabellingError
from datawheel.lineage._labelling_models import LabelItem
from datawheel.pipeline._labelling import _open, project_row
from datawheel.pipeline._labelling_export import FileFormat, suffix_format
from datawheel.pipeline._labelling_tasks import check_value
from datawheel.workspace import Workspace


def read_labels(path: Path, *, format: FileFormat | None = None) -> list[tuple[str, Any, float | None]]:
    r"""(row id, value, confidence) for each labelled item of a file.

    Example:
        >>> import tempfile
        >>> f = Path(tempfile.mkdtemp()) / "p.jsonl"
        >>> _ = f.write_text('{"item": "r1", "label": "spam", "confidence": 0.9}\n')
        >>> read_labels(f)
        [('r1', 'spam', 0.9)]
    """
    chosen = format or suffix_format(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabellingError(f"cannot read {path}: {exc.strerror}", hint="check the path") from exc
    try:
        if chosen == "jsonl":
            return [_record(json.loads(line), path) for line in text.splitlines() if line.strip()]
        if chosen == "csv":
            return [_record(row, path) for row in csv.DictReader(text.splitlines())]
        if chosen == "label-studio":
            return [_studio(task, path) for task in json.loads(text)]
        return _conll(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise LabellingError(f"{path} is not valid {chosen}: {exc}", hint="check the file's format") from exc


def _record(row: dict[str, Any], path: Path) -> tuple[str, Any, float | None]:
    item = row.get("item") or row.get("row_id")
    value = row.get("value", row.get("label"))
    if not item or value in (None, ""):
        raise LabellingError(
            f"a row of {path} lacks item (or row_id) or label", hint="give both on every row"
        )
    if isinstance(value, str) and value[:1] in "[{":
        value = json.loads(value)
    confidence = row.get("confidence")
    return str(item), value, None if confidence in (None, "") else float(confidence)


def _studio(task: dict[str, Any], path: Path) -> tuple[str, Any, float | None]:
    item = task["data"].get("row_id")
    if not item:
        raise LabellingError(f"a task of {path} has no data.row_id", hint="export the tasks from datawheel")
    found = (task.get("predictions") or []) + (task.get("annotations") or [])
    if not found:
        raise LabellingError(f"task {item} of {path} has no predictions or annotations", hint="")
    result = found[0]["result"]
    score = found[0].get("score")
    if result and result[0]["type"] == "labels":
        spans = [
            {"start": r["value"]["start"], "end": r["value"]["end"], "label": r["value"]["labels"][0]}
            for r in result
        ]
        return str(item), spans, score
    choices = result[0]["value"]["choices"] if result else []
    return str(item), choices[0] if len(choices) == 1 else choices, score


def _conll(text: str) -> list[tuple[str, Any, float | None]]:
    out: list[tuple[str, Any, float | None]] = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        if not lines or not lines[0].startswith("# item = "):
            raise ValueError("each block must start with '# item = ROW_ID'")
        item, offset = lines[0].removeprefix("# item = ").strip(), 0
        spans: list[dict[str, Any]] = []
        for line in lines[1:]:
            token, tag = line.split("\t")
            if tag.startswith("B-") or (tag.startswith("I-") and not spans):
                spans.append({"start": offset, "end": offset + len(token), "label": tag[2:]})
            elif tag.startswith("I-"):
                spans[-1]["end"] = offset + len(token)
            offset += len(token) + 1
        out.append((item, spans, None))
    return out


def import_suggestions(
    workspace: Workspace, project: str | int, path: Path, *, format: FileFormat | None = None
) -> int:
    """Set the suggestions of a project's items from a file; how many items got one.

    CoNLL offsets assume tokens separated by one space, as datawheel writes them.
    """
    rows = read_labels(path, format=format)
    with _open(workspace, write=True) as session:
        row = project_row(session, project)
        items: dict[str, dict[str, Any]] = dict(
            session.execute(
                select(LabelItem.row_id, LabelItem.payload).where(
                    LabelItem.project_id == row.id, LabelItem.row_id.in_([r[0] for r in rows])
                )
            ).all()
        )
        unknown = [r[0] for r in rows if r[0] not in items]
        if unknown:
            raise LabellingError(
                f"{len(unknown)} row(s) of {path} name no item of project '{row.name}', e.g. {unknown[0]}",
                hint="match items by the row id (the `item` column of datawheel's exports)",
            )
        changes = [
            {
                "key": item,
                "suggestion": check_value(row.task_type, row.labels, items[item].get("text", ""), value),
                "confidence": confidence,
            }
            for item, value, confidence in rows
        ]
        if changes:
            session.connection().execute(
                update(LabelItem.__table__)  # type: ignore[arg-type]
                .where(LabelItem.project_id == row.id, LabelItem.row_id == bindparam("key"))
                .values(suggestion=bindparam("suggestion"), confidence=bindparam("confidence")),
                changes,
            )
        return len(changes)
