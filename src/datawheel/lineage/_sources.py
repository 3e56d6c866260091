"""The acquisition plan: sources to collect from, ranked by value, and time-boxed collection rounds.

A *source* is a place data can come from (a crawl, a vendor, a partner's export, an annotation
team), with what collecting it should cost, how long it should take, how many rows it should
yield and how good they should be. :func:`value_score` ranks sources so the best is collected
first. Each source is also a lineage artifact of kind ``source``, so lineage shows
source → ingest execution → dataset version.

A *round* is a time-boxed collection effort (``round start --days N`` … ``round close``). Each
round is a lineage context of kind ``round`` named ``round-N``; the ingest pipeline associates
the executions it starts with the open round's context and names their source in their
parameters (``"source": NAME``), which lets :meth:`SourceCatalog.round_status` say how many rows
each round added, per source and per dataset.
"""

from __future__ import annotations

import builtins
import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal, TypeVar, cast

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from datawheel.errors import LineageError
from datawheel.lineage._db import by_name, transaction
from datawheel.lineage._graph import get_or_add_artifact, now
from datawheel.lineage._models import (
    Artifact,
    Association,
    Context,
    Dataset,
    DatasetVersion,
    Event,
    Execution,
    Round,
    Source,
)
from datawheel.lineage._types import ArtifactInfo

Quality = Literal["low", "medium", "high"]
QUALITY_WEIGHTS: Mapping[str, float] = MappingProxyType({"low": 0.5, "medium": 1.0, "high": 2.0})
SOURCE_ARTIFACT = "source"
ROUND_CONTEXT = "round"
QUARANTINE_SUFFIX = ".quarantine"
"""Datasets named NAME.quarantine hold rows an ingest set aside; they add no data to a round."""

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_MAX_NAME = 256
_MAX_ROUND_DAYS = 36_500.0
_RETRIES = 5
_T = TypeVar("_T")


def value_score(*, expected_rows: int, quality: str, cost: float, days: float) -> float:
    """Useful rows per unit of money and of time: what ``datawheel sources list`` ranks by.

    ``expected_rows * weight(quality) / ((1 + cost) * (1 + days))``, with the quality weights
    low 0.5, medium 1 and high 2. More rows or better quality raise the score; more cost or
    more days lower it. The ``1 +`` keeps a free or same-day source finite, and makes a cost
    or time near zero count about as much as zero.

    Args:
        expected_rows: Rows the source should yield.
        quality: ``low``, ``medium`` or ``high``.
        cost: Money collecting it should cost, in any one currency (0 for free).
        days: Days collecting it should take.

    Returns:
        The score; higher is better.

    Example:
        >>> value_score(expected_rows=30_000, quality="medium", cost=0, days=2)
        10000.0
        >>> value_score(expected_rows=30_000, quality="high", cost=99, days=2)
        200.0
    """
    return expected_rows * _weight(quality) / (1.0 + cost) / (1.0 + days)


def _weight(quality: str) -> float:
    try:
        return QUALITY_WEIGHTS[quality]
    except KeyError:
        raise LineageError(
            f"quality '{quality}' is not one of low, medium, high",
            hint="pass --quality low, medium or high",
        ) from None


# -- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceInfo:
    """A source of the acquisition plan."""

    name: str
    uri: str
    cost: float
    days: float
    expected_rows: int
    quality: Quality
    notes: str
    created_at: datetime
    updated_at: datetime

    @property
    def value_score(self) -> float:
        """The source's :func:`value_score`; higher is better."""
        return value_score(
            expected_rows=self.expected_rows, quality=self.quality, cost=self.cost, days=self.days
        )

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of a source."""
        return {
            "name": self.name,
            "uri": self.uri,
            "cost": self.cost,
            "days": self.days,
            "expected_rows": self.expected_rows,
            "quality": self.quality,
            "value_score": self.value_score,
            "notes": self.notes,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class RoundInfo:
    """A collection round: when it started, its deadline, and whether it is closed."""

    number: int
    name: str
    context_id: int
    started_at: datetime
    days: float
    deadline: datetime
    closed_at: datetime | None
    notes: str = ""

    @property
    def is_open(self) -> bool:
        """Whether the round is still open."""
        return self.closed_at is None

    @property
    def context(self) -> str:
        """The name of the round's lineage context, e.g. ``round-3``."""
        return f"round-{self.number}"

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of a round."""
        return {
            "number": self.number,
            "name": self.name,
            "context": self.context,
            "started_at": self.started_at.isoformat(),
            "days": self.days,
            "deadline": self.deadline.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "open": self.is_open,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class RoundVersion:
    """A dataset version an execution of a round produced, and the rows it added."""

    dataset: str
    version: int
    rows: int
    rows_added: int

    @property
    def ref(self) -> str:
        """The version's ref, e.g. ``sms@2``."""
        return f"{self.dataset}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape: ref, dataset, version, rows, rows_added."""
        return {
            "ref": self.ref,
            "dataset": self.dataset,
            "version": self.version,
            "rows": self.rows,
            "rows_added": self.rows_added,
        }


@dataclass(frozen=True)
class RoundExecution:
    """An execution (usually an ingest) of a round, its source, and the versions it produced."""

    execution_id: int
    step: str
    status: str
    source: str | None
    started_at: datetime
    ended_at: datetime | None
    versions: tuple[RoundVersion, ...]

    @property
    def rows_added(self) -> int:
        """Rows its versions added to their datasets (rows set aside in quarantine do not count)."""
        return sum(v.rows_added for v in self.versions if not v.dataset.endswith(QUARANTINE_SUFFIX))

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of an execution of a round."""
        return {
            "execution": self.execution_id,
            "step": self.step,
            "status": self.status,
            "source": self.source,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "rows_added": self.rows_added,
            "versions": [v.to_dict() for v in self.versions],
        }


@dataclass(frozen=True)
class RoundStatus:
    """Where a round stands: time left, its executions, and the rows it added."""

    round: RoundInfo
    as_of: datetime
    executions: tuple[RoundExecution, ...]

    @property
    def days_left(self) -> float | None:
        """Days until the deadline (negative once past it); ``None`` for a closed round."""
        if not self.round.is_open:
            return None
        return (self.round.deadline - self.as_of) / timedelta(days=1)

    @property
    def overdue(self) -> bool:
        """Whether the round ran past its deadline (still open, or closed late)."""
        return (self.round.closed_at or self.as_of) > self.round.deadline

    @property
    def rows_added(self) -> int:
        """Rows the round's executions added, over all datasets."""
        return sum(e.rows_added for e in self.executions)

    def by_source(self) -> list[tuple[str | None, int, int]]:
        """``(source, executions, rows_added)``, most rows first; ``None`` for unnamed sources."""
        totals: dict[str | None, list[int]] = {}
        for e in self.executions:
            entry = totals.setdefault(e.source, [0, 0])
            entry[0] += 1
            entry[1] += e.rows_added
        rows = [(source, n, added) for source, (n, added) in totals.items()]
        return sorted(rows, key=lambda r: (-r[2], r[0] is None, r[0] or ""))

    def by_dataset(self) -> list[tuple[str, tuple[str, ...], int]]:
        """``(dataset, refs of the versions made, rows_added)``, most rows first."""
        refs: dict[str, list[str]] = {}
        added: dict[str, int] = {}
        for v in (v for e in self.executions for v in e.versions):
            refs.setdefault(v.dataset, []).append(v.ref)
            added[v.dataset] = added.get(v.dataset, 0) + v.rows_added
        return sorted(((d, tuple(refs[d]), added[d]) for d in refs), key=lambda r: (-r[2], r[0]))

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of ``datawheel round status``."""
        days_left = self.days_left
        return {
            "round": self.round.to_dict(),
            "as_of": self.as_of.isoformat(),
            "days_left": None if days_left is None else round(days_left, 3),
            "overdue": self.overdue,
            "rows_added": self.rows_added,
            "by_source": [{"source": s, "executions": n, "rows_added": a} for s, n, a in self.by_source()],
            "by_dataset": [
                {"dataset": d, "versions": list(refs), "rows_added": a} for d, refs, a in self.by_dataset()
            ],
            "executions": [e.to_dict() for e in self.executions],
        }


# -- the catalog -------------------------------------------------------------------------------


class SourceCatalog:
    """The acquisition plan of one workspace: its sources and its collection rounds.

    Every method runs in its own short transaction of the metadata database.

    Example:
        >>> from datawheel.lineage import connect, migrate, session_factory
        >>> engine = connect("sqlite://")
        >>> migrate(engine)
        >>> plan = SourceCatalog(session_factory(engine))
        >>> _ = plan.add("forum", uri="https://forum.example", cost=0, days=2, expected_rows=30_000,
        ...              quality="medium")
        >>> _ = plan.add("vendor", uri="s3://vendor/drop", cost=499, days=1, expected_rows=200_000,
        ...              quality="high")
        >>> [(s.name, s.value_score) for s in plan.list()]
        [('forum', 10000.0), ('vendor', 400.0)]
        >>> plan.start_round(days=7).context
        'round-1'
        >>> plan.close_round().is_open
        False
        >>> engine.dispose()
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # -- sources -----------------------------------------------------------------------------

    def add(
        self,
        name: str,
        *,
        uri: str,
        cost: float,
        days: float,
        expected_rows: int,
        quality: str,
        notes: str = "",
        replace: bool = False,
    ) -> SourceInfo:
        """Add a source to the plan, or change one with ``replace=True``.

        Args:
            name: The source's name: letters, digits, ``_``, ``-`` and ``.``.
            uri: Where the data is (a URL, a path, a bucket, a contact).
            cost: Money collecting it should cost, ``>= 0``, in any one currency.
            days: Days collecting it should take, ``>= 0``.
            expected_rows: Rows it should yield, ``>= 0``.
            quality: ``low``, ``medium`` or ``high``.
            notes: Free text kept with the source.
            replace: Change the source if one of this name exists (else that is an error).

        Returns:
            The source as recorded.

        Raises:
            LineageError: A value is out of range, or the source exists and ``replace`` is off.
        """
        fields = _checked_fields(
            name, uri=uri, cost=cost, days=days, expected_rows=expected_rows, quality=quality, notes=notes
        )

        def work(session: Session) -> SourceInfo:
            row = session.scalar(select(Source).where(Source.name == name).with_for_update())
            if row is not None and not replace:
                raise LineageError(
                    f"source '{name}' already exists",
                    hint="pass --replace to change it, or choose another name",
                )
            stamp = now()
            if row is None:
                row = Source(name=name, created_at=stamp, updated_at=stamp, **fields)
                session.add(row)
            else:
                for field, value in fields.items():
                    setattr(row, field, value)
                row.updated_at = stamp
            session.flush()
            _source_artifact(session, row)
            return _source_info(row)

        return self._write(f"record source '{name}'", work)

    def get(self, name: str) -> SourceInfo:
        """The source called ``name``."""
        with transaction(self._sessions, write=False) as session:
            return _source_info(_source(session, name))

    def list(self) -> builtins.list[SourceInfo]:
        """Every source, best first: by :func:`value_score`, highest first, then by name."""
        with transaction(self._sessions, write=False) as session:
            found = [_source_info(row) for row in session.scalars(select(Source))]
        return sorted(found, key=lambda s: (-s.value_score, s.name))

    def remove(self, name: str) -> SourceInfo:
        """Take a source off the plan; its lineage artifact stays, as the ingests that read it do."""
        with transaction(self._sessions, write=True) as session:
            row = _source(session, name)
            info = _source_info(row)
            session.delete(row)
            return info

    def artifact(self, name: str) -> ArtifactInfo:
        """The lineage artifact of a source, for an ingest to record as its input.

        A source whose URI changes (``add(..., replace=True)``) gets a new artifact, so ingests
        made before the change still show the URI they read.
        """

        def work(session: Session) -> ArtifactInfo:
            row = _source_artifact(session, _source(session, name))
            return ArtifactInfo(row.id, row.kind, row.name, row.uri, row.digest, dict(row.properties))

        return self._write(f"record the artifact of source '{name}'", work)

    # -- rounds ------------------------------------------------------------------------------

    def start_round(self, *, days: float, name: str | None = None, notes: str = "") -> RoundInfo:
        """Open the next collection round, due ``days`` from now.

        Args:
            days: The round's time box, in days (``> 0``).
            name: A label for the round (default: ``round-N``).
            notes: Free text kept with the round.

        Returns:
            The new round; its ``context_id`` groups the executions made during it.

        Raises:
            LineageError: ``days`` is out of range, or a round is already open.
        """
        days = _checked_round_days(days)
        label = _checked_label(name)

        def work(session: Session) -> RoundInfo:
            if session.get_bind().dialect.name == "postgresql":
                # One starter at a time: otherwise two can both see no open round and both open
                # one (SQLite's BEGIN IMMEDIATE already serialises writers).
                session.execute(text("LOCK TABLE rounds IN SHARE ROW EXCLUSIVE MODE"))
            found = _open_round(session)
            if found is not None:
                raise LineageError(
                    f"round {found.number} ('{found.name}') is still open, "
                    f"due {found.deadline:%Y-%m-%d %H:%M} UTC",
                    hint="close it first with `datawheel round close`",
                )
            number = 1 + (session.scalar(select(func.max(Round.number))) or 0)
            stamp = now()
            row = Round(
                number=number,
                name=label or f"round-{number}",
                context_id=_round_context(session, number),
                started_at=stamp,
                days=days,
                deadline=stamp + timedelta(days=days),
                notes=notes,
            )
            session.add(row)
            session.flush()
            return _round_info(row)

        return self._write("start a round", work)

    def current_round(self) -> RoundInfo | None:
        """The open round, or ``None`` when no round is open."""
        with transaction(self._sessions, write=False) as session:
            found = _open_round(session)
            return _round_info(found) if found is not None else None

    def close_round(self) -> RoundInfo:
        """Close the open round."""
        with transaction(self._sessions, write=True) as session:
            found = session.scalar(select(Round).where(Round.closed_at.is_(None)).with_for_update())
            if found is None:
                raise LineageError("no round is open", hint="start one with `datawheel round start --days N`")
            found.closed_at = now()
            return _round_info(found)

    def rounds(self) -> builtins.list[RoundInfo]:
        """Every round, first to last."""
        with transaction(self._sessions, write=False) as session:
            return [_round_info(r) for r in session.scalars(select(Round).order_by(Round.number))]

    def round_status(self, number: int | None = None) -> RoundStatus:
        """Where a round stands: time left, its executions, their sources and the rows they added.

        Args:
            number: The round (default: the open one, else the last one).

        Returns:
            The round's status. The rows a version added are its rows minus those of the
            dataset's previous version (all of its rows for a dataset's first version).
        """
        with transaction(self._sessions, write=False) as session:
            row = _pick_round(session, number)
            as_of = now()
            executions = _round_executions(session, row.context_id)
            return RoundStatus(_round_info(row), as_of, executions)

    def _write(self, what: str, work: Callable[[Session], _T]) -> _T:
        """Run ``work`` in a write transaction, again if a concurrent writer got in first."""
        for _ in range(_RETRIES):
            try:
                with transaction(self._sessions, write=True) as session:
                    return work(session)
            except IntegrityError:  # a concurrent writer took the name or the number: look again
                continue
        raise LineageError(f"cannot {what}: other writers kept getting in first", hint="retry the command")


# -- checks ------------------------------------------------------------------------------------


def _checked_fields(
    name: str,
    *,
    uri: str,
    cost: float,
    days: float,
    expected_rows: int,
    quality: str,
    notes: str,
) -> dict[str, Any]:
    if len(name) > _MAX_NAME or not _NAME_RE.match(name):
        raise LineageError(
            f"'{name}' cannot name a source",
            hint="use letters, digits, '_', '-' and '.', starting with a letter or digit",
        )
    for flag, value in (("cost", cost), ("days", days), ("expected-rows", expected_rows)):
        if not math.isfinite(value) or value < 0:
            fault = "below 0" if math.isfinite(value) else "not a finite number"
            raise LineageError(
                f"--{flag} of source '{name}' is {value}, {fault}", hint=f"give --{flag} as 0 or more"
            )
    if quality not in QUALITY_WEIGHTS:
        raise LineageError(
            f"--quality of source '{name}' is '{quality}', not one of low, medium, high",
            hint="give --quality as low, medium or high",
        )
    return {
        "uri": uri,
        "cost": float(cost),
        "days": float(days),
        "expected_rows": int(expected_rows),
        "quality": quality,
        "notes": notes,
    }


def _checked_round_days(days: float) -> float:
    if not math.isfinite(days) or not 0 < days <= _MAX_ROUND_DAYS:
        raise LineageError(
            f"a round cannot last {days} days",
            hint=f"give --days as a number above 0 (at most {_MAX_ROUND_DAYS:,.0f})",
        )
    return float(days)


def _checked_label(name: str | None) -> str | None:
    if name is None:
        return None
    label = name.strip()
    if not label or len(label) > _MAX_NAME:
        raise LineageError(
            f"'{name}' cannot name a round",
            hint=f"give --name as 1 to {_MAX_NAME} characters, or leave it out",
        )
    return label


# -- queries -----------------------------------------------------------------------------------


def _source(session: Session, name: str) -> Source:
    found: Source = by_name(
        session,
        Source,
        name,
        error=LineageError,
        what="source",
        empty="the plan has none yet",
        hint="list them with `datawheel sources list`, "
        "or add one with `datawheel sources add NAME --uri URI …`",
    )
    return found


def _source_artifact(session: Session, row: Source) -> Artifact:
    """The ``source`` artifact of a source: one per name and URI (its digest is the URI's)."""
    digest = hashlib.blake2b(row.uri.encode("utf-8"), digest_size=16).hexdigest()
    return get_or_add_artifact(session, SOURCE_ARTIFACT, row.name, digest=digest, uri=row.uri or None)


def _source_info(row: Source) -> SourceInfo:
    return SourceInfo(
        name=row.name,
        uri=row.uri,
        cost=row.cost,
        days=row.days,
        expected_rows=row.expected_rows,
        quality=cast(Quality, row.quality),
        notes=row.notes,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _round_info(row: Round) -> RoundInfo:
    return RoundInfo(
        number=row.number,
        name=row.name,
        context_id=row.context_id,
        started_at=row.started_at,
        days=row.days,
        deadline=row.deadline,
        closed_at=row.closed_at,
        notes=row.notes,
    )


def _open_round(session: Session) -> Round | None:
    query = select(Round).where(Round.closed_at.is_(None)).order_by(Round.number.desc()).limit(1)
    return session.scalar(query)


def _round_context(session: Session, number: int) -> int:
    """The id of the context ``round-N`` (kind ``round``), added if it is new."""
    name = f"round-{number}"
    found = session.scalar(select(Context).where(Context.kind == ROUND_CONTEXT, Context.name == name))
    if found is not None:
        return found.id
    row = Context(kind=ROUND_CONTEXT, name=name, properties={"round": number}, created_at=now())
    session.add(row)
    session.flush()
    return row.id


def _pick_round(session: Session, number: int | None) -> Round:
    if number is not None:
        found = session.scalar(select(Round).where(Round.number == number))
    else:
        found = _open_round(session) or session.scalar(select(Round).order_by(Round.number.desc()).limit(1))
    if found is not None:
        return found
    last = session.scalar(select(func.max(Round.number)))
    if last is None:
        raise LineageError(
            "there is no collection round yet", hint="start one with `datawheel round start --days N`"
        )
    raise LineageError(
        f"there is no round {number} (there are rounds 1..{last})",
        hint="list them with `datawheel round list`",
    )


def _round_executions(session: Session, context_id: int) -> tuple[RoundExecution, ...]:
    runs = session.scalars(
        select(Execution)
        .join(Association, Association.execution_id == Execution.id)
        .where(Association.context_id == context_id)
        .order_by(Execution.id)
    ).all()
    versions = _round_versions(session, context_id)
    inputs = _round_source_inputs(session, context_id)
    return tuple(
        RoundExecution(
            execution_id=run.id,
            step=run.step,
            status=run.status,
            source=_named_source(run.parameters) or inputs.get(run.id),
            started_at=run.started_at,
            ended_at=run.ended_at,
            versions=tuple(versions.get(run.id, ())),
        )
        for run in runs
    )


def _named_source(parameters: dict[str, Any]) -> str | None:
    source = parameters.get("source")
    return source if isinstance(source, str) and source else None


def _round_versions(session: Session, context_id: int) -> dict[int, builtins.list[RoundVersion]]:
    """The dataset versions each execution of the context wrote, with the rows each added."""
    previous = aliased(DatasetVersion)
    query = (
        select(Event.execution_id, Dataset.name, DatasetVersion.version, DatasetVersion.rows, previous.rows)
        .select_from(Event)
        .join(Association, Association.execution_id == Event.execution_id)
        .join(DatasetVersion, DatasetVersion.artifact_id == Event.artifact_id)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .outerjoin(
            previous,
            (previous.dataset_id == DatasetVersion.dataset_id)
            & (previous.version == DatasetVersion.version - 1),
        )
        .where(Association.context_id == context_id, Event.type == "output")
        .order_by(Event.id)
    )
    out: dict[int, builtins.list[RoundVersion]] = {}
    for run, dataset, version, rows, before in session.execute(query):
        out.setdefault(run, []).append(RoundVersion(dataset, version, rows, rows - (before or 0)))
    return out


def _round_source_inputs(session: Session, context_id: int) -> dict[int, str]:
    """The first ``source`` artifact each execution of the context read, by execution."""
    query = (
        select(Event.execution_id, Artifact.name)
        .select_from(Event)
        .join(Association, Association.execution_id == Event.execution_id)
        .join(Artifact, Artifact.id == Event.artifact_id)
        .where(Association.context_id == context_id, Event.type == "input", Artifact.kind == SOURCE_ARTIFACT)
        .order_by(Event.id)
    )
    out: dict[int, str] = {}
    for run, name in session.execute(query):
        out.setdefault(run, name)
    return out


__all__ = [
    "QUALITY_WEIGHTS",
    "ROUND_CONTEXT",
    "SOURCE_ARTIFACT",
    "Quality",
    "RoundExecution",
    "RoundInfo",
    "RoundStatus",
    "RoundVersion",
    "SourceCatalog",
    "SourceInfo",
    "value_score",
]
