"""The dataset catalog: datasets, their numbered versions, and tags."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from datawheel.errors import RefError
from datawheel.lineage._db import by_name, transaction
from datawheel.lineage._graph import add_event, get_or_add_artifact, now
from datawheel.lineage._models import Dataset, DatasetVersion, Tag
from datawheel.lineage._types import DatasetInfo, VersionInfo

DATASET_VERSION = "dataset_version"


class Catalog:
    """Which datasets exist, their versions in order, and the tags that name versions."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add_version(
        self,
        name: str,
        *,
        delta_version: int,
        rows: int,
        columns: dict[str, str],
        key: Sequence[str] = (),
        author: str = "",
        message: str = "",
        execution_id: int | None = None,
    ) -> VersionInfo:
        """Record the next version of ``name`` (creating the dataset on first use).

        The version number is the dataset's highest plus one, assigned under a row lock, so
        concurrent writers get distinct numbers. The version becomes a ``dataset_version``
        artifact; with ``execution_id``, the execution is recorded as its producer.
        """
        for _ in range(5):
            try:
                with transaction(self._sessions, write=True) as session:
                    dataset = _lock_dataset(session, name, key)
                    number = 1 + (
                        session.scalar(
                            select(func.max(DatasetVersion.version)).where(
                                DatasetVersion.dataset_id == dataset.id
                            )
                        )
                        or 0
                    )
                    artifact = get_or_add_artifact(
                        session,
                        DATASET_VERSION,
                        f"{name}@{number}",
                        properties={"dataset": name, "version": number, "rows": rows},
                    )
                    row = DatasetVersion(
                        dataset_id=dataset.id,
                        version=number,
                        delta_version=delta_version,
                        rows=rows,
                        columns=columns,
                        author=author,
                        message=message,
                        execution_id=execution_id,
                        artifact_id=artifact.id,
                        created_at=now(),
                    )
                    session.add(row)
                    if execution_id is not None:
                        add_event(session, execution_id, artifact.id, "output")
                    session.flush()
                    return _version_info(dataset, row, ())
            except IntegrityError:  # another writer took the number or created the dataset first
                continue
        raise RefError(f"cannot record a new version of '{name}' under contention", hint="retry the command")

    def dataset_key(self, name: str) -> tuple[str, ...]:
        """The key columns a dataset was created with (empty if it has none or does not exist)."""
        with transaction(self._sessions, write=False) as session:
            found = session.scalar(select(Dataset).where(Dataset.name == name))
            return tuple(found.key) if found is not None else ()

    def resolve(self, name: str, *, version: int | None = None, tag: str | None = None) -> VersionInfo:
        """The version a ref names: the latest, a number, or a tag."""
        with transaction(self._sessions, write=False) as session:
            dataset = _dataset(session, name)
            query = select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id)
            if tag is not None:
                query = query.join(Tag, Tag.version_id == DatasetVersion.id).where(Tag.tag == tag)
            elif version is not None:
                query = query.where(DatasetVersion.version == version)
            row = session.scalar(query.order_by(DatasetVersion.version.desc()).limit(1))
            if row is None:
                raise _missing_version(session, dataset, version, tag)
            return _version_info(dataset, row, _tags(session, [row.id]).get(row.id, ()))

    def made_by(self, execution_id: int) -> list[VersionInfo]:
        """The versions an execution committed."""
        with transaction(self._sessions, write=False) as session:
            rows = session.execute(
                select(Dataset, DatasetVersion)
                .join(DatasetVersion, DatasetVersion.dataset_id == Dataset.id)
                .where(DatasetVersion.execution_id == execution_id)
                .order_by(DatasetVersion.id)
            ).all()
            tags = _tags(session, [v.id for _, v in rows])
            return [_version_info(d, v, tags.get(v.id, ())) for d, v in rows]

    def versions(self, name: str) -> list[VersionInfo]:
        """Every version of ``name``, oldest first."""
        with transaction(self._sessions, write=False) as session:
            dataset = _dataset(session, name)
            rows = session.scalars(
                select(DatasetVersion)
                .where(DatasetVersion.dataset_id == dataset.id)
                .order_by(DatasetVersion.version)
            ).all()
            tags = _tags(session, [r.id for r in rows])
            return [_version_info(dataset, r, tags.get(r.id, ())) for r in rows]

    def datasets(self) -> list[DatasetInfo]:
        """Every dataset, by name, with its latest version."""
        with transaction(self._sessions, write=False) as session:
            latest = (
                select(DatasetVersion.dataset_id, func.max(DatasetVersion.version).label("v"))
                .group_by(DatasetVersion.dataset_id)
                .subquery()
            )
            query = (
                select(Dataset, latest.c.v, DatasetVersion.rows)
                .outerjoin(latest, latest.c.dataset_id == Dataset.id)
                .outerjoin(
                    DatasetVersion,
                    (DatasetVersion.dataset_id == Dataset.id) & (DatasetVersion.version == latest.c.v),
                )
                .order_by(Dataset.name)
            )
            return [
                DatasetInfo(d.name, tuple(d.key), v or 0, v, rows, d.created_at)
                for d, v, rows in session.execute(query)
            ]

    def tag(self, name: str, version: int, tag: str, *, move: bool = False) -> VersionInfo:
        """Name a version with ``tag``; a tag already in use moves only with ``move=True``."""
        with transaction(self._sessions, write=True) as session:
            dataset = _dataset(session, name)
            row = session.scalar(
                select(DatasetVersion).where(
                    DatasetVersion.dataset_id == dataset.id, DatasetVersion.version == version
                )
            )
            if row is None:
                raise _missing_version(session, dataset, version, None)
            existing = session.scalar(select(Tag).where(Tag.dataset_id == dataset.id, Tag.tag == tag))
            if existing is not None and existing.version_id != row.id:
                if not move:
                    held = session.get(DatasetVersion, existing.version_id)
                    raise RefError(
                        f"tag '{tag}' already names {name}@{held.version if held else '?'}",
                        hint="choose another tag, or pass --move to move it",
                    )
                existing.version_id = row.id
            elif existing is None:
                session.add(Tag(dataset_id=dataset.id, tag=tag, version_id=row.id, created_at=now()))
            session.flush()
            return _version_info(dataset, row, _tags(session, [row.id]).get(row.id, ()))


def _lock_dataset(session: Session, name: str, key: Sequence[str]) -> Dataset:
    query = select(Dataset).where(Dataset.name == name).with_for_update()
    found = session.scalar(query)
    if found is not None:
        return found
    with session.begin_nested():
        session.add(Dataset(name=name, key=list(key), created_at=now()))
    dataset = session.scalar(query)
    assert dataset is not None
    return dataset


def _dataset(session: Session, name: str) -> Dataset:
    found: Dataset = by_name(
        session,
        Dataset,
        name,
        error=RefError,
        what="dataset",
        empty="the workspace has none yet",
        hint="list datasets with `datawheel datasets`, "
        "or create one with `datawheel ingest FILE --name NAME`",
    )
    return found


def _missing_version(session: Session, dataset: Dataset, version: int | None, tag: str | None) -> RefError:
    count = (
        session.scalar(
            select(func.max(DatasetVersion.version)).where(DatasetVersion.dataset_id == dataset.id)
        )
        or 0
    )
    what = f"tag '{tag}'" if tag is not None else f"version {version}" if version is not None else "version"
    return RefError(
        f"dataset '{dataset.name}' has no {what} (it has versions 1..{count})"
        if count
        else f"dataset '{dataset.name}' has no versions yet",
        hint=f"list them with `datawheel versions {dataset.name}`",
    )


def _tags(session: Session, version_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = {}
    if not version_ids:
        return {}
    for tag in session.scalars(select(Tag).where(Tag.version_id.in_(version_ids)).order_by(Tag.tag)):
        out.setdefault(tag.version_id, []).append(tag.tag)
    return {k: tuple(v) for k, v in out.items()}


def _version_info(dataset: Dataset, row: DatasetVersion, tags: tuple[str, ...]) -> VersionInfo:
    return VersionInfo(
        dataset=dataset.name,
        version=row.version,
        delta_version=row.delta_version,
        rows=row.rows,
        columns=dict(row.columns),
        created_at=row.created_at,
        author=row.author,
        message=row.message,
        execution_id=row.execution_id,
        artifact_id=row.artifact_id,
        key=tuple(dataset.key),
        tags=tags,
    )


__all__ = ["DATASET_VERSION", "Catalog", "IntegrityError"]
