"""Labelling projects in the workspace: made from a dataset version, recorded in lineage.

A project copies the rows to label from one version (in its priority order, a pilot sample
set apart), keeps its label set, guidelines (versioned) and members, and is itself an
artifact of the lineage graph: ``source version -> label-project -> project``. Exporting it
(:mod:`datawheel.pipeline._labelling_export`) adds ``project -> label-export -> label versions``.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import polars as pl
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.orm import Session

from datawheel.errors import LabellingError
from datawheel.lineage import now
from datawheel.lineage._db import connection, transaction
from datawheel.lineage._labelling_models import (
    LabelGuideline,
    LabelItem,
    LabelMember,
    LabelProject,
    LabelUser,
)
from datawheel.pipeline._labelling_users import UserInfo, sessions_of
from datawheel.pipeline._record import run_step
from datawheel.store import ROW_ID, check_dataset_name
from datawheel.workspace import Workspace

if sys.platform != "win32":
    import fcntl

TaskType = Literal["single", "multi", "spans", "image"]
Priority = Literal["order", "random", "score", "confidence"]
Round = Literal["pilot", "main"]
TASK_TYPES: tuple[TaskType, ...] = get_args(TaskType)
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
PROJECT_ARTIFACT = "labelling-project"
PROJECT_CONTEXT = "labelling-project"
_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_HOTKEYS = "1234567890qwertyuiopasdfghjklzxcvbnm"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_INSERT_BATCH = 5_000


@dataclass(frozen=True)
class LabelSpec:
    """A label of a project: its name, colour (``#rrggbb``) and hotkey (one key)."""

    name: str
    colour: str
    hotkey: str

    def to_dict(self) -> dict[str, str]:
        """The JSON shape of a label."""
        return {"name": self.name, "colour": self.colour, "hotkey": self.hotkey}


@dataclass(frozen=True)
class ProjectInfo:
    """A labelling project."""

    id: int
    name: str
    source_ref: str
    task_type: TaskType
    column: str
    labels: tuple[LabelSpec, ...]
    overlap: int
    priority: Priority
    round: Round
    guideline_version: int
    guidelines: str
    items: int
    pilot_items: int
    created_by: str
    created_at: datetime
    context_id: int
    artifact_id: int
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def label_names(self) -> tuple[str, ...]:
        """The names of the labels, in order."""
        return tuple(label.name for label in self.labels)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a project."""
        return {
            "id": self.id,
            "name": self.name,
            "source": self.source_ref,
            "task_type": self.task_type,
            "column": self.column,
            "labels": [label.to_dict() for label in self.labels],
            "overlap": self.overlap,
            "priority": self.priority,
            "round": self.round,
            "guideline_version": self.guideline_version,
            "guidelines": self.guidelines,
            "items": self.items,
            "pilot_items": self.pilot_items,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "options": self.options,
        }


def parse_labels(specs: Sequence[str | dict[str, str] | LabelSpec]) -> tuple[LabelSpec, ...]:
    """Labels from names, ``NAME:COLOUR:KEY`` strings or dicts; colours and hotkeys filled in.

    Example:
        >>> [(s.name, s.colour, s.hotkey) for s in parse_labels(["ham", "spam:#ff0000:s"])]
        [('ham', '#1f77b4', '1'), ('spam', '#ff0000', 's')]
    """
    given: list[tuple[str, str, str]] = []
    for spec in specs:
        if isinstance(spec, LabelSpec):
            given.append((spec.name, spec.colour, spec.hotkey))
        elif isinstance(spec, dict):
            given.append((spec.get("name", ""), spec.get("colour", ""), spec.get("hotkey", "")))
        else:
            name, _, rest = spec.partition(":")
            colour, _, key = rest.partition(":")
            given.append((name, colour, key))
    taken = {key for _, _, key in given if key}
    free = iter(k for k in _HOTKEYS if k not in taken)
    out = tuple(
        LabelSpec(name.strip(), colour or _PALETTE[i % len(_PALETTE)], key or next(free, ""))
        for i, (name, colour, key) in enumerate(given)
    )
    _check_labels(out)
    return out


def _check_labels(labels: tuple[LabelSpec, ...]) -> None:
    names = [label.name for label in labels]
    keys = [label.hotkey for label in labels if label.hotkey]
    problem = (
        "a project needs at least one label"
        if not names
        else "a label has an empty name"
        if not all(names)
        else f"labels repeat: {', '.join(sorted({n for n in names if names.count(n) > 1}))}"
        if len(set(names)) != len(names)
        else "hotkeys repeat"
        if len(set(keys)) != len(keys)
        else next(
            (f"'{x.colour}' is not a #rrggbb colour" for x in labels if not _COLOUR.match(x.colour)), ""
        )
    )
    if problem:
        raise LabellingError(problem, hint="give labels as NAME or NAME:#rrggbb:KEY, each name and key once")


def _info(session: Any, row: LabelProject) -> ProjectInfo:
    counts = dict(
        session.execute(
            select(LabelItem.round, func.count())
            .where(LabelItem.project_id == row.id)
            .group_by(LabelItem.round)
        ).all()
    )
    text = session.scalar(
        select(LabelGuideline.text).where(
            LabelGuideline.project_id == row.id, LabelGuideline.version == row.guideline_version
        )
    )
    return ProjectInfo(
        id=row.id,
        name=row.name,
        source_ref=row.source_ref,
        task_type=row.task_type,  # type: ignore[arg-type]  # checked when written
        column=row.column,
        labels=tuple(LabelSpec(**label) for label in row.labels),
        overlap=row.overlap,
        priority=row.priority,  # type: ignore[arg-type]
        round=row.round,  # type: ignore[arg-type]
        guideline_version=row.guideline_version,
        guidelines=text or "",
        items=sum(counts.values()),
        pilot_items=counts.get("pilot", 0),
        created_by=row.created_by,
        created_at=row.created_at,
        context_id=row.context_id,
        artifact_id=row.project_artifact_id,
        options=dict(row.options),
    )


def create_project(
    workspace: Workspace,
    name: str,
    ref: str,
    *,
    task_type: TaskType,
    column: str,
    labels: Sequence[str | dict[str, str] | LabelSpec],
    overlap: int = 1,
    priority: Priority = "order",
    score_column: str | None = None,
    suggestion_column: str | None = None,
    confidence_column: str | None = None,
    pilot: int = 0,
    seed: int = 0,
    guidelines: str = "",
    members: Sequence[str] = (),
) -> ProjectInfo:
    """Make a labelling project from the version ``ref``, recorded in lineage.

    Each row of the version becomes an item, placed in ``priority`` order: as in the version,
    ``random`` (by ``seed``), by ``score`` (an active-learning score column, highest first) or
    by ``confidence`` (the model's confidence column, lowest first). ``pilot`` rows, drawn at
    random, form the pilot round, which runs first. ``suggestion_column`` holds a model's label,
    shown pre-filled. Every item goes to ``overlap`` different annotators.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> with Workspace.init(Path(tempfile.mkdtemp())) as ws:
        ...     _ = ws.commit("sms", pl.DataFrame({"text": ["win cash", "see you", "free prize"]}))
        ...     p = create_project(ws, "triage", "sms", task_type="single", column="text",
        ...                        labels=["ham", "spam"], overlap=2, pilot=1)
        ...     (p.items, p.pilot_items, p.round, p.label_names)
        (3, 1, 'pilot', ('ham', 'spam'))
    """
    check_dataset_name(name)
    _check_options(task_type, overlap, priority, pilot)
    specs = parse_labels(labels)
    version = workspace.resolve(ref)
    options = {
        "score_column": score_column,
        "suggestion_column": suggestion_column,
        "confidence_column": confidence_column,
        "seed": seed,
    }
    with _open(workspace, write=False) as session:
        if session.scalar(select(LabelProject.id).where(LabelProject.name == name)) is not None:
            raise LabellingError(
                f"there is already a project '{name}'", hint="choose another name", status=409
            )
    context = workspace.lineage.add_context(PROJECT_CONTEXT, name, properties={"source": version.ref})
    parameters = {"project": name, "task_type": task_type, "column": column, "overlap": overlap}
    parameters |= {"priority": priority, "pilot": pilot, "labels": [s.name for s in specs], **options}
    with run_step(workspace, "label-project", parameters=parameters, contexts=[context]) as run:
        frame = run.read(version.ref, role="source")
        items = _items(frame, task_type, column, specs, priority, options, pilot, seed)
        artifact = workspace.lineage.add_artifact(
            PROJECT_ARTIFACT, name, digest=f"{version.ref}#{run.execution.id}", properties=parameters
        )
        workspace.lineage.record_event(run.execution.id, artifact.id, "output", role="project")
        workspace.lineage.attribute(context, artifact.id)
        project_id = _insert_project(
            workspace, name, version.ref, artifact.id, context, parameters, specs, items
        )
    set_guidelines(workspace, name, guidelines, author=workspace.user)
    if members:
        add_members(workspace, name, members)
    return get_project(workspace, project_id)


def _check_options(task_type: str, overlap: int, priority: str, pilot: int) -> None:
    if task_type not in TASK_TYPES:
        raise LabellingError(f"'{task_type}' is not a task type", hint=f"use one of: {', '.join(TASK_TYPES)}")
    if priority not in PRIORITIES:
        raise LabellingError(f"'{priority}' is not a priority", hint=f"use one of: {', '.join(PRIORITIES)}")
    if not 1 <= overlap <= 50:
        raise LabellingError(f"overlap {overlap} is out of range", hint="give 1 to 50 annotators per item")
    if pilot < 0:
        raise LabellingError(f"pilot size {pilot} is negative", hint="give 0 (no pilot) or a few dozen items")


def _need(frame: pl.DataFrame, column: str | None, what: str) -> None:
    if column is not None and column not in frame.columns:
        raise LabellingError(
            f"the version has no {what} column '{column}'",
            hint=f"choose one of: {', '.join(c for c in frame.columns if not c.startswith('_'))}",
        )


def _items(
    frame: pl.DataFrame,
    task_type: TaskType,
    column: str,
    specs: tuple[LabelSpec, ...],
    priority: Priority,
    options: dict[str, Any],
    pilot: int,
    seed: int,
) -> list[dict[str, Any]]:
    _need(frame, column, "text" if task_type != "image" else "image (blob)")
    for what in ("score_column", "suggestion_column", "confidence_column"):
        _need(frame, options[what], what.split("_")[0])
    if priority in ("score", "confidence") and options[f"{priority}_column"] is None:
        raise LabellingError(
            f"priority '{priority}' needs --{priority}-column", hint="name the column to sort by"
        )
    rng = np.random.default_rng(seed)
    n = frame.height
    order = _order(frame, priority, options, rng)
    pilot_rows = set(rng.choice(n, size=min(pilot, n), replace=False).tolist()) if pilot else set()
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    media = frame["media_type"].to_list() if task_type == "image" and "media_type" in frame.columns else None
    values = frame[column].to_list()
    suggestions = frame[options["suggestion_column"]].to_list() if options["suggestion_column"] else None
    confidences = frame[options["confidence_column"]].to_list() if options["confidence_column"] else None
    names = {s.name for s in specs}
    items = []
    for i, (row_id, value) in enumerate(zip(frame[ROW_ID].to_list(), values, strict=True)):
        payload: dict[str, Any] = (
            {"blob": value, "media_type": media[i] if media else "image/png"}
            if task_type == "image"
            else {"text": "" if value is None else str(value)}
        )
        items.append(
            {
                "row_id": row_id,
                "position": int(rank[i]),
                "round": "pilot" if i in pilot_rows else "main",
                "payload": payload,
                "suggestion": _suggestion(suggestions[i] if suggestions else None, task_type, names),
                "confidence": None
                if confidences is None or confidences[i] is None
                else float(confidences[i]),
                "flag": None,
                "assigned": 0,
                "full": False,
            }
        )
    return items


def _order(frame: pl.DataFrame, priority: Priority, options: dict[str, Any], rng: np.random.Generator) -> Any:
    n = frame.height
    if priority == "random":
        return rng.permutation(n)
    if priority == "order":
        return np.arange(n)
    column = options[f"{priority}_column"]
    values = frame[column].cast(pl.Float64, strict=False).fill_null(float("nan")).to_numpy()
    keyed = -values if priority == "score" else values
    return np.argsort(np.where(np.isnan(keyed), np.inf, keyed), kind="stable")


def _suggestion(value: Any, task_type: TaskType, names: set[str]) -> Any:
    if value is None:
        return None
    if task_type == "multi":
        parts = value if isinstance(value, list) else str(value).split("|")
        chosen = [str(p).strip() for p in parts if str(p).strip() in names]
        return chosen or None
    if task_type == "spans":
        try:
            spans = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            return None
        return spans if isinstance(spans, list) else None
    return str(value) if str(value) in names else None


def _insert_project(
    workspace: Workspace,
    name: str,
    source_ref: str,
    artifact_id: int,
    context_id: int,
    parameters: dict[str, Any],
    specs: tuple[LabelSpec, ...],
    items: list[dict[str, Any]],
) -> int:
    source_artifact = workspace.resolve(source_ref).artifact_id
    with _open(workspace, write=True) as session:
        row = LabelProject(
            name=name,
            source_ref=source_ref,
            source_artifact_id=source_artifact,
            project_artifact_id=artifact_id,
            context_id=context_id,
            task_type=parameters["task_type"],
            column=parameters["column"],
            labels=[s.to_dict() for s in specs],
            overlap=parameters["overlap"],
            priority=parameters["priority"],
            options={
                k: parameters[k] for k in ("score_column", "suggestion_column", "confidence_column", "seed")
            },
            round="pilot" if any(i["round"] == "pilot" for i in items) else "main",
            guideline_version=0,
            created_by=workspace.user,
            created_at=now(),
        )
        session.add(row)
        session.flush()
        for start in range(0, len(items), _INSERT_BATCH):
            batch = [{"project_id": row.id, **item} for item in items[start : start + _INSERT_BATCH]]
            session.execute(insert(LabelItem), batch)
        return row.id


class WriterBusy(Exception):
    """Another writer has the turn, and the caller said it would rather not wait (see ``no_wait``)."""


_NO_WAIT: ContextVar[bool] = ContextVar("datawheel_no_wait", default=False)


@contextmanager
def no_wait() -> Iterator[None]:
    """Within the block, a SQLite writer whose turn is not free at once raises WriterBusy.

    For a caller that must not block, such as the service's event loop: it tries the work
    in place, and hands it to a thread that may wait only when another writer is busy. The
    error is raised before anything was read or written, so the work can be tried again.
    """
    token = _NO_WAIT.set(True)
    try:
        yield
    finally:
        _NO_WAIT.reset(token)


class _WriterTurns:
    """Writers of one SQLite database take turns: threads on a lock, processes on a file lock.

    SQLite's own wait for its write lock sleeps in steps of up to 100 ms, so two writers that
    meet there wait far longer than either needs. Writers that first queue here are woken the
    moment the one before them commits: the threads of this process on a Python lock, and the
    processes of ``datawheel serve --workers N`` on an advisory lock (``flock``) of a file beside
    the database.
    """

    def __init__(self, engine: Engine) -> None:
        self.lock = threading.Lock()
        database = engine.url.database
        self.file = None
        if sys.platform != "win32" and database and database != ":memory:":
            self.file = Path(f"{database}-writers").open("ab")  # noqa: SIM115  # closed with the engine
            weakref.finalize(self, self.file.close)

    @contextmanager
    def turn(self, *, wait: bool = True) -> Iterator[None]:
        """Wait for this writer's turn (or, with ``wait=False``, raise WriterBusy if it is not free)."""
        if not self.lock.acquire(blocking=wait):
            raise WriterBusy
        try:
            if self.file is None or sys.platform == "win32":
                yield
                return
            try:
                fcntl.flock(self.file, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise WriterBusy from None
            try:
                yield
            finally:
                fcntl.flock(self.file, fcntl.LOCK_UN)
        finally:
            self.lock.release()


_TURNS: weakref.WeakKeyDictionary[Engine, _WriterTurns] = weakref.WeakKeyDictionary()
_TURNS_LOCK = threading.Lock()


@contextmanager
def _writer_turn(engine: Engine, *, write: bool) -> Iterator[None]:
    """Wait for this writer's turn on a SQLite database (no wait for reads, nor on PostgreSQL)."""
    if not write or engine.dialect.name != "sqlite":
        yield
        return
    with _TURNS_LOCK:
        turns = _TURNS.get(engine) or _TURNS.setdefault(engine, _WriterTurns(engine))
    with turns.turn(wait=not _NO_WAIT.get()):
        yield


@contextmanager
def _open(workspace: Workspace, *, write: bool) -> Iterator[Session]:
    """An ORM session in one transaction on the workspace's database, writers taking turns."""
    with (
        _writer_turn(workspace.engine, write=write),
        transaction(sessions_of(workspace), write=write) as session,
    ):
        yield session


@contextmanager
def _connect(workspace: Workspace, *, write: bool) -> Iterator[Connection]:
    """A Core connection in one transaction, writers taking turns: for the service's hot paths."""
    with _writer_turn(workspace.engine, write=write), connection(workspace.engine, write=write) as conn:
        yield conn


def project_row(session: Any, project: str | int) -> LabelProject:
    """The project row named (or numbered) ``project``, or a LabellingError (404)."""
    row = (
        session.get(LabelProject, project)
        if isinstance(project, int)
        else session.scalar(select(LabelProject).where(LabelProject.name == project))
    )
    if row is None:
        raise no_project(project)
    return row  # type: ignore[no-any-return]


def no_project(project: str | int) -> LabellingError:
    """The refusal (404) of a project that does not exist."""
    return LabellingError(
        f"no labelling project '{project}'", hint="list them with `datawheel project list`", status=404
    )


def get_project(workspace: Workspace, project: str | int) -> ProjectInfo:
    """The project named (or numbered) ``project``."""
    with _open(workspace, write=False) as session:
        return _info(session, project_row(session, project))


def list_projects(workspace: Workspace, *, user: UserInfo | None = None) -> list[ProjectInfo]:
    """Every project (an admin's view), or only those ``user`` is a member of."""
    with _open(workspace, write=False) as session:
        query = select(LabelProject).order_by(LabelProject.name)
        if user is not None and user.role != "admin":
            query = query.join(LabelMember, LabelMember.project_id == LabelProject.id).where(
                LabelMember.user_id == user.id
            )
        return [_info(session, row) for row in session.scalars(query)]


def is_member(workspace: Workspace, project_id: int, user: UserInfo) -> bool:
    """Whether ``user`` works on the project (admins work on every project)."""
    if user.role == "admin":
        return True
    with _open(workspace, write=False) as session:
        return session.get(LabelMember, (project_id, user.id)) is not None


def add_members(workspace: Workspace, project: str | int, names: Sequence[str]) -> list[str]:
    """Let the accounts ``names`` work on the project; the names of its members afterwards."""
    with _open(workspace, write=True) as session:
        row = project_row(session, project)
        for name in names:
            user = session.scalar(select(LabelUser).where(LabelUser.name == name))
            if user is None:
                raise LabellingError(
                    f"no account '{name}'", hint="add it with `datawheel users add NAME --role R`", status=404
                )
            if session.get(LabelMember, (row.id, user.id)) is None:
                session.add(LabelMember(project_id=row.id, user_id=user.id))
        session.flush()
        return list(
            session.scalars(
                select(LabelUser.name)
                .join(LabelMember, LabelMember.user_id == LabelUser.id)
                .where(LabelMember.project_id == row.id)
                .order_by(LabelUser.name)
            )
        )


def set_guidelines(workspace: Workspace, project: str | int, text: str, *, author: str) -> int:
    """Record a new version of the project's guidelines (Markdown); its version number."""
    with _open(workspace, write=True) as session:
        row = project_row(session, project)
        row.guideline_version += 1
        session.add(
            LabelGuideline(
                project_id=row.id, version=row.guideline_version, text=text, author=author, created_at=now()
            )
        )
        return row.guideline_version


def guideline_history(workspace: Workspace, project: str | int) -> list[dict[str, Any]]:
    """Every version of the project's guidelines, oldest first."""
    with _open(workspace, write=False) as session:
        row = project_row(session, project)
        rows = session.scalars(
            select(LabelGuideline).where(LabelGuideline.project_id == row.id).order_by(LabelGuideline.version)
        )
        return [
            {"version": g.version, "text": g.text, "author": g.author, "created_at": g.created_at.isoformat()}
            for g in rows
        ]


def start_round(workspace: Workspace, project: str | int, round: Round) -> ProjectInfo:
    """Move the project to ``round`` (``main`` after the pilot); annotators then get its items."""
    if round not in get_args(Round):
        raise LabellingError(f"'{round}' is not a round", hint="use 'pilot' or 'main'")
    with _open(workspace, write=True) as session:
        row = project_row(session, project)
        row.round = round
        return _info(session, row)


def project_access(workspace: Workspace, project: str | int, user: UserInfo) -> tuple[int, bool]:
    """The project's id and whether ``user`` works on it (one query; 404 if there is no project)."""
    with _open(workspace, write=False) as session:
        key = LabelProject.id == project if isinstance(project, int) else LabelProject.name == project
        found = session.execute(
            select(LabelProject.id, LabelMember.user_id)
            .outerjoin(
                LabelMember, (LabelMember.project_id == LabelProject.id) & (LabelMember.user_id == user.id)
            )
            .where(key)
        ).first()
        if found is None:
            raise no_project(project)
        return int(found[0]), user.role == "admin" or found[1] is not None
