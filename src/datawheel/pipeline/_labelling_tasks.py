"""Annotating and reviewing: the next task, submit, skip, undo, the review queue and decisions.

Assignment is pulled: an annotator who asks for work gets the first item, in the project's
priority order and current round, that fewer than ``overlap`` annotators hold and that they
never held. Work is thereby balanced by pace, an item never reaches one person twice (a unique
index on item and annotator), and a skipped item goes back to the pool for someone else.
Every write is one short transaction (``BEGIN IMMEDIATE`` on SQLite; ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so concurrent annotators never wait on the same item).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, and_, bindparam, exists, func, insert, select, update

from datawheel.errors import LabellingError
from datawheel.lineage import now
from datawheel.lineage._labelling_models import (
    LabelAnnotation,
    LabelAssignment,
    LabelItem,
    LabelMember,
    LabelProject,
    LabelReview,
    LabelUser,
)
from datawheel.pipeline._labelling import _connect, _open, no_project, project_row
from datawheel.pipeline._labelling_users import UserInfo
from datawheel.workspace import Workspace

_MAX_DURATION_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TaskInfo:
    """One item given to one annotator."""

    assignment: int
    project: str
    item: int
    row_id: str
    payload: dict[str, Any]
    suggestion: Any
    confidence: float | None
    round: str
    status: str
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a task."""
        return {
            "assignment": self.assignment,
            "project": self.project,
            "item": self.item,
            "row_id": self.row_id,
            "payload": self.payload,
            "suggestion": self.suggestion,
            "confidence": self.confidence,
            "round": self.round,
            "status": self.status,
            "value": self.value,
        }


@dataclass(frozen=True)
class AnnotationInfo:
    """A label one annotator gave one item."""

    id: int
    assignment: int
    item: int
    annotator: str
    value: Any
    label: str
    guideline_version: int
    suggestion_used: bool
    duration_ms: int
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of an annotation."""
        return {
            "id": self.id,
            "assignment": self.assignment,
            "item": self.item,
            "annotator": self.annotator,
            "value": self.value,
            "label": self.label,
            "guideline_version": self.guideline_version,
            "suggestion_used": self.suggestion_used,
            "duration_ms": self.duration_ms,
            "created_at": self.created_at.isoformat(),
        }


def canonical_label(value: Any) -> str:
    """One string per distinct answer, for counting agreement: a name, ``a|b``, or spans as JSON.

    Example:
        >>> canonical_label("spam"), canonical_label(["b", "a"])
        ('spam', 'a|b')
        >>> canonical_label([{"start": 0, "end": 3, "label": "PER"}])
        '[[0,3,"PER"]]'
    """
    if isinstance(value, str):
        return value
    if value and all(isinstance(v, dict) for v in value):
        spans = sorted((int(v["start"]), int(v["end"]), str(v["label"])) for v in value)
        return json.dumps(spans, separators=(",", ":"))
    return "|".join(sorted(str(v) for v in value))


def check_value(task_type: str, labels: list[dict[str, Any]], text: str, value: Any) -> Any:
    """``value`` as stored, if it is a valid answer for the task type and labels; else a 400.

    Example:
        >>> check_value("multi", [{"name": "a"}, {"name": "b"}], "", ["b", "a"])
        ['a', 'b']
    """
    names = {label["name"] for label in labels}
    kind = task_type
    if kind in ("single", "image") and isinstance(value, str) and value in names:
        return value
    if kind == "multi" and isinstance(value, list) and all(isinstance(v, str) and v in names for v in value):
        return sorted(set(value))
    if kind == "spans" and isinstance(value, list):
        return _check_spans(value, len(text), names)
    raise LabellingError(
        f"{json.dumps(value)[:80]} is not an answer for a '{kind}' task",
        hint=f"give {_expected(kind)} using the labels {', '.join(sorted(names))}",
    )


def _expected(kind: str) -> str:
    return {
        "single": "one label name",
        "image": "one label name",
        "multi": "a list of label names",
        "spans": 'a list of {"start", "end", "label"} spans',
    }[kind]


def _check_spans(value: list[Any], length: int, names: set[str]) -> list[dict[str, Any]]:
    spans = []
    for span in value:
        ok = (
            isinstance(span, dict) and isinstance(span.get("start"), int) and isinstance(span.get("end"), int)
        )
        if not ok or not 0 <= span["start"] < span["end"] <= length or span.get("label") not in names:
            raise LabellingError(
                f"span {json.dumps(span)[:80]} is not valid",
                hint=f"give 0 <= start < end <= {length} (characters) and a label of the project",
            )
        spans.append({"start": span["start"], "end": span["end"], "label": span["label"]})
    return sorted(spans, key=lambda s: (s["start"], s["end"]))


def _task(project: str, assignment: LabelAssignment, item: LabelItem, value: Any = None) -> TaskInfo:
    return TaskInfo(
        assignment.id,
        project,
        item.id,
        item.row_id,
        item.payload,
        item.suggestion,
        item.confidence,
        item.round,
        assignment.status,
        value,
    )


_PROJECTS = cast(Table, LabelProject.__table__)
_MEMBERS = cast(Table, LabelMember.__table__)
_ITEMS = cast(Table, LabelItem.__table__)
_ASSIGNMENTS = cast(Table, LabelAssignment.__table__)
_ANNOTATIONS = cast(Table, LabelAnnotation.__table__)
_P, _M, _I, _A = _PROJECTS.c, _MEMBERS.c, _ITEMS.c, _ASSIGNMENTS.c
_TASK_COLUMNS = (_I.id, _I.row_id, _I.payload, _I.suggestion, _I.confidence, _I.round)

# The statements of the two hottest requests, built once: SQLAlchemy compiles each once and
# takes it from its cache after; only the bound values change from request to request. The
# service's own SQLite path (``_labelling_sqlite``) runs the same statements, compiled once.
_MINE = _ASSIGNMENTS.alias("mine")
_FIRST_OPEN = (  # the user's oldest open task in the project, if any
    select(func.min(_MINE.c.id))
    .where(_MINE.c.user_id == bindparam("user"), _MINE.c.project_id == _P.id, _MINE.c.status == "open")
    .scalar_subquery()
)
_HEAD = (  # the project, whether the user is a member, and the user's open task there
    select(_P.id, _P.name, _P.round, _P.overlap, _M.user_id, _A.id, *_TASK_COLUMNS)
    .select_from(
        _PROJECTS.outerjoin(_MEMBERS, (_M.project_id == _P.id) & (_M.user_id == bindparam("user")))
        .outerjoin(_ASSIGNMENTS, _A.id == _FIRST_OPEN)
        .outerjoin(_ITEMS, _I.id == _A.item_id)
    )
    .limit(1)
)
HEAD_BY_NAME = _HEAD.where(_P.name == bindparam("project"))
HEAD_BY_ID = _HEAD.where(_P.id == bindparam("project"))
_FREE = _ITEMS.alias("free")
_FIRST_FREE = (
    select(_FREE.c.id)
    .where(
        _FREE.c.project_id == bindparam("in_project"),
        _FREE.c.round == bindparam("in_round"),
        _FREE.c.full.is_(False),
        ~exists().where(_A.item_id == _FREE.c.id, _A.user_id == bindparam("user")),
    )
    .order_by(_FREE.c.position)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
TAKE_FREE_ITEM = (  # find and take in one statement: the first item fewer than `overlap` hold
    update(_ITEMS)
    .where(_I.id == _FIRST_FREE)
    .values(assigned=_I.assigned + 1, full=_I.assigned + 1 >= bindparam("overlap"))
    .returning(*_TASK_COLUMNS)
)
ASSIGN = insert(_ASSIGNMENTS).returning(_A.id)
SUBMITTED = (
    select(
        _A.user_id,
        _A.status,
        _A.assigned_at,
        _A.item_id,
        _A.project_id,
        _I.payload,
        _I.suggestion,
        _I.round,
        _P.task_type,
        _P.labels,
        _P.guideline_version,
    )
    .join_from(_ASSIGNMENTS, _ITEMS, _I.id == _A.item_id)
    .join(_PROJECTS, _P.id == _A.project_id)
    .where(_A.id == bindparam("assignment"))
)
CLOSE = (
    update(_ASSIGNMENTS)
    .where(_A.id == bindparam("assignment"), _A.user_id == bindparam("user"), _A.status == "open")
    .values(status="done", done_at=bindparam("at"))
)
ANNOTATE = insert(_ANNOTATIONS).returning(_ANNOTATIONS.c.id)


def next_task(workspace: Workspace, project: str | int, user: UserInfo) -> TaskInfo | None:
    """The task ``user`` should do next in the project: an open one, else a newly assigned one.

    None when the current round holds nothing more for them; refused (403) unless ``user``
    works on the project (admins work on all). One short write transaction.
    """
    by = HEAD_BY_ID if isinstance(project, int) else HEAD_BY_NAME
    with _connect(workspace, write=True) as conn:
        head = conn.execute(by, {"project": project, "user": user.id}).first()
        if head is None:
            raise no_project(project)
        project_id, name, round, overlap, member, open_id = head[:6]
        if member is None and user.role != "admin":
            raise not_member(user, project)
        if open_id is not None:
            return open_task(open_id, name, tuple(head[6:]))
        free = {"user": user.id, "in_project": project_id, "in_round": round, "overlap": overlap}
        item = conn.execute(TAKE_FREE_ITEM, free).first()
        if item is None:
            return None
        assignment = conn.execute(
            ASSIGN,
            {
                "project_id": project_id,
                "user_id": user.id,
                "item_id": item[0],
                "status": "open",
                "assigned_at": now(),
            },
        ).scalar_one()
        return open_task(assignment, name, tuple(item))


def not_member(user: UserInfo, project: str | int) -> LabellingError:
    """The refusal (403) of an account that does not work on the project."""
    return LabellingError(f"{user.name} does not work on project '{project}'", hint="", status=403)


def open_task(assignment: int, project: str, item: tuple[Any, ...]) -> TaskInfo:
    """Open task ``assignment`` of an item: (id, row_id, payload, suggestion, confidence, round)."""
    item_id, row_id, payload, suggestion, confidence, round = item
    return TaskInfo(assignment, project, item_id, row_id, payload, suggestion, confidence, round, "open")


def _own_assignment(session: Any, assignment_id: int, user: UserInfo) -> LabelAssignment:
    row = session.get(LabelAssignment, assignment_id)
    if row is None or row.user_id != user.id:
        raise not_yours(assignment_id)
    return row  # type: ignore[no-any-return]


def not_yours(assignment_id: int) -> LabellingError:
    """The refusal (404) of a task that is not the asking account's."""
    return LabellingError(
        f"task {assignment_id} is not one of yours",
        hint="ask for your next task with GET /api/projects/{project}/next",
        status=404,
    )


def submit(
    workspace: Workspace,
    assignment_id: int,
    user: UserInfo,
    value: Any,
    *,
    duration_ms: int | None = None,
    suggestion_used: bool | None = None,
) -> AnnotationInfo:
    """Record ``user``'s answer to their open task ``assignment_id``.

    ``duration_ms`` is the time the task was on screen (else the time since it was assigned);
    ``suggestion_used`` defaults to whether the answer equals the model's suggestion.
    """
    with _connect(workspace, write=True) as conn:
        row = conn.execute(SUBMITTED, {"assignment": assignment_id}).first()
        if row is None or row.user_id != user.id:
            raise not_yours(assignment_id)
        values = annotation_values(row, assignment_id, user, value, duration_ms, suggestion_used)
        closing = {"assignment": assignment_id, "user": user.id, "at": values["created_at"]}
        closed = conn.execute(CLOSE, closing)
        if closed.rowcount != 1:
            raise already_closed(assignment_id, row.status)
        return annotation_info(conn.execute(ANNOTATE, values).scalar_one(), user, values)


def annotation_values(
    task: Any,
    assignment_id: int,
    user: UserInfo,
    value: Any,
    duration_ms: int | None,
    suggestion_used: bool | None,
) -> dict[str, Any]:
    """The annotation row for ``user``'s answer ``value`` to an open task (a 400 if invalid).

    ``task`` holds the task's ``task_type``, ``labels``, ``payload``, ``suggestion``,
    ``assigned_at``, ``project_id``, ``item_id``, ``guideline_version`` and ``round``.
    """
    stored = check_value(task.task_type, task.labels, task.payload.get("text", ""), value)
    at = now()
    assigned_at = task.assigned_at if task.assigned_at.tzinfo else task.assigned_at.replace(tzinfo=at.tzinfo)
    spent = duration_ms if duration_ms is not None else int((at - assigned_at).total_seconds() * 1000)
    used = (
        suggestion_used
        if suggestion_used is not None
        else task.suggestion is not None and (canonical_label(task.suggestion) == canonical_label(stored))
    )
    return {
        "project_id": task.project_id,
        "item_id": task.item_id,
        "user_id": user.id,
        "assignment_id": assignment_id,
        "value": stored,
        "label": canonical_label(stored),
        "guideline_version": task.guideline_version,
        "round": task.round,
        "suggestion_used": bool(used),
        "duration_ms": max(0, min(int(spent), _MAX_DURATION_MS)),
        "created_at": at,
    }


def annotation_info(annotation_id: int, user: UserInfo, values: dict[str, Any]) -> AnnotationInfo:
    """The annotation just stored from :func:`annotation_values`."""
    return AnnotationInfo(
        annotation_id,
        values["assignment_id"],
        values["item_id"],
        user.name,
        values["value"],
        values["label"],
        values["guideline_version"],
        values["suggestion_used"],
        values["duration_ms"],
        values["created_at"],
    )


def already_closed(assignment_id: int, status: str) -> LabellingError:
    """The refusal (409) of an answer to a task that is no longer open."""
    return LabellingError(
        f"task {assignment_id} is already {status if status != 'open' else 'done'}",
        hint="undo the last submission to change it, or ask for the next task",
        status=409,
    )


def skip(workspace: Workspace, assignment_id: int, user: UserInfo, *, reason: str) -> TaskInfo:
    """Give back an open task with a reason; the item goes to someone else, never back to ``user``."""
    if not reason.strip():
        raise LabellingError("a skip needs a reason", hint="say why (unclear, offensive, not my language…)")
    with _open(workspace, write=True) as session:
        assignment = _own_assignment(session, assignment_id, user)
        if assignment.status != "open":
            raise LabellingError(f"task {assignment_id} is already {assignment.status}", hint="", status=409)
        assignment.status, assignment.skip_reason, assignment.done_at = (
            "skipped",
            reason.strip()[:1000],
            now(),
        )
        session.execute(
            update(LabelItem)
            .where(LabelItem.id == assignment.item_id)
            .values(assigned=LabelItem.assigned - 1, full=False)
        )
        item = session.get(LabelItem, assignment.item_id)
        project = session.get(LabelProject, assignment.project_id)
        assert item is not None
        assert project is not None
        return _task(project.name, assignment, item)


def undo_last(workspace: Workspace, project: str | int, user: UserInfo) -> TaskInfo:
    """Take back ``user``'s last submission in the project; its task is open again, answer shown."""
    with _open(workspace, write=True) as session:
        row = project_row(session, project)
        last = session.scalar(
            select(LabelAnnotation)
            .where(LabelAnnotation.user_id == user.id, LabelAnnotation.project_id == row.id)
            .order_by(LabelAnnotation.id.desc())
            .limit(1)
        )
        if last is None or last.undone_at is not None:
            raise LabellingError(
                "there is no submission to undo", hint="only your last submission can be undone", status=409
            )
        last.undone_at = now()
        assignment = session.get(LabelAssignment, last.assignment_id)
        item = session.get(LabelItem, last.item_id)
        assert assignment is not None
        assert item is not None
        assignment.status, assignment.done_at = "open", None
        return _task(row.name, assignment, item, last.value)


def my_tasks(workspace: Workspace, project: str | int, user: UserInfo, *, limit: int = 100) -> list[TaskInfo]:
    """``user``'s own tasks in the project, newest first, with their current answers."""
    with _open(workspace, write=False) as session:
        row = project_row(session, project)
        found = session.execute(
            select(LabelAssignment, LabelItem, LabelAnnotation.value)
            .join(LabelItem, LabelItem.id == LabelAssignment.item_id)
            .outerjoin(
                LabelAnnotation,
                and_(
                    LabelAnnotation.assignment_id == LabelAssignment.id, LabelAnnotation.undone_at.is_(None)
                ),
            )
            .where(LabelAssignment.user_id == user.id, LabelAssignment.project_id == row.id)
            .order_by(LabelAssignment.id.desc())
            .limit(limit)
        ).all()
        return [_task(row.name, a, i, v) for a, i, v in found]


def flag_items(workspace: Workspace, project: str | int, row_ids: list[str], *, reason: str) -> int:
    """Send items to review (e.g. found by label-issue detection); how many were flagged."""
    with _open(workspace, write=True) as session:
        row = project_row(session, project)
        done: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(LabelItem)
            .where(LabelItem.project_id == row.id, LabelItem.row_id.in_(row_ids))
            .values(flag=reason or "flagged")
        )
        return int(done.rowcount)


def review_queue(workspace: Workspace, project: str | int, *, limit: int = 50) -> list[dict[str, Any]]:
    """Items to review: annotators disagree, or flagged; not yet decided. With all their labels."""
    with _open(workspace, write=False) as session:
        row = project_row(session, project)
        active = and_(LabelAnnotation.project_id == row.id, LabelAnnotation.undone_at.is_(None))
        disagreeing = (
            select(LabelAnnotation.item_id)
            .where(active)
            .group_by(LabelAnnotation.item_id)
            .having(func.count(func.distinct(LabelAnnotation.label)) > 1)
        )
        reviewed = select(LabelReview.item_id).where(LabelReview.project_id == row.id)
        items = session.scalars(
            select(LabelItem)
            .where(
                LabelItem.project_id == row.id,
                (LabelItem.id.in_(disagreeing)) | (LabelItem.flag.is_not(None)),
                LabelItem.id.not_in(reviewed),
            )
            .order_by(LabelItem.position)
            .limit(limit)
        ).all()
        return [_review_item(session, item) for item in items]


def _review_item(session: Any, item: LabelItem) -> dict[str, Any]:
    labels = session.execute(
        select(LabelUser.name, LabelAnnotation.value, LabelAnnotation.label, LabelAnnotation.round)
        .join(LabelUser, LabelUser.id == LabelAnnotation.user_id)
        .where(LabelAnnotation.item_id == item.id, LabelAnnotation.undone_at.is_(None))
        .order_by(LabelAnnotation.id)
    ).all()
    return {
        "item": item.id,
        "row_id": item.row_id,
        "payload": item.payload,
        "suggestion": item.suggestion,
        "flag": item.flag,
        "round": item.round,
        "annotations": [{"annotator": n, "value": v, "label": lb, "round": r} for n, v, lb, r in labels],
    }


def decide(
    workspace: Workspace, item_id: int, reviewer: UserInfo, value: Any, *, note: str = ""
) -> dict[str, Any]:
    """Record a reviewer's decision on an item (kept apart from the annotations)."""
    with _open(workspace, write=True) as session:
        item = session.get(LabelItem, item_id)
        if item is None:
            raise LabellingError(f"no item {item_id}", hint="take item ids from the review queue", status=404)
        project = session.get(LabelProject, item.project_id)
        assert project is not None
        stored = check_value(project.task_type, project.labels, item.payload.get("text", ""), value)
        row = LabelReview(
            project_id=project.id,
            item_id=item.id,
            reviewer_id=reviewer.id,
            value=stored,
            label=canonical_label(stored),
            note=note[:2000],
            created_at=now(),
        )
        session.add(row)
        session.flush()
        return {
            "id": row.id,
            "item": item.id,
            "row_id": item.row_id,
            "value": stored,
            "reviewer": reviewer.name,
        }


def item_project(workspace: Workspace, item_id: int) -> int:
    """The id of the project an item belongs to (404 when there is no such item)."""
    with _open(workspace, write=False) as session:
        found = session.scalar(select(LabelItem.project_id).where(LabelItem.id == item_id))
        if found is None:
            raise LabellingError(f"no item {item_id}", hint="check the item id", status=404)
        return int(found)


def may_see_item(workspace: Workspace, item_id: int, user: UserInfo) -> dict[str, Any]:
    """The payload of an item ``user`` may see: one of their tasks, or (reviewers) of their projects."""
    from datawheel.pipeline._labelling import is_member

    with _open(workspace, write=False) as session:
        item = session.get(LabelItem, item_id)
        if item is None:
            raise LabellingError(f"no item {item_id}", hint="check the item id", status=404)
        if user.at_least("reviewer"):
            allowed = is_member(workspace, item.project_id, user)
        else:
            allowed = (
                session.scalar(
                    select(LabelAssignment.id).where(
                        LabelAssignment.item_id == item_id, LabelAssignment.user_id == user.id
                    )
                )
                is not None
            )
        if not allowed:
            raise LabellingError(f"item {item_id} is not one of your tasks", hint="", status=403)
        return dict(item.payload)
