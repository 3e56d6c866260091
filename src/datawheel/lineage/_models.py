"""Tables of the metadata database: the dataset catalog and the lineage graph.

The graph follows the ML-Metadata model: artifacts, executions, events (an execution read or
wrote an artifact, with a role) and contexts (pipeline, run, labelling project) that group
them through attributions and associations.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that reads back in UTC on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to a timestamp the database returned without a zone."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Declarative base with stable constraint names, so migrations can refer to them."""

    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map = {datetime: UTCDateTime}  # noqa: RUF012


class Artifact(Base):
    """Anything a step reads or writes: a dataset version, a file, a model, a report..."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("kind", "name", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(2048))
    digest: Mapped[str] = mapped_column(String(128), default="")
    uri: Mapped[str | None] = mapped_column(String(4096))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column()


class Execution(Base):
    """One run of one step."""

    __tablename__ = "executions"

    id: Mapped[int] = mapped_column(primary_key=True)
    step: Mapped[str] = mapped_column(String(256), index=True)
    code_fingerprint: Mapped[str] = mapped_column(String(128), default="")
    cache_key: Mapped[str | None] = mapped_column(String(128), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    engine: Mapped[str] = mapped_column(String(32), default="local")
    user: Mapped[str] = mapped_column(String(256), default="")
    status: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()


class Event(Base):
    """An execution read (``input``) or wrote (``output``) an artifact."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_artifact_walk", "artifact_id", "type", "execution_id"),
        Index("ix_events_execution_walk", "execution_id", "type", "artifact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"))
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(8))
    role: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column()


class Context(Base):
    """A group of artifacts and executions: a pipeline, a run, a labelling project..."""

    __tablename__ = "contexts"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(1024))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column()


class Attribution(Base):
    """An artifact belongs to a context."""

    __tablename__ = "attributions"

    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), primary_key=True)
    artifact_id: Mapped[int] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Association(Base):
    """An execution belongs to a context."""

    __tablename__ = "associations"

    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), primary_key=True)
    execution_id: Mapped[int] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Dataset(Base):
    """A named table whose history is a list of versions."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    key: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column()


class DatasetVersion(Base):
    """One immutable version of a dataset, and the Delta version that holds its rows."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column()
    delta_version: Mapped[int] = mapped_column()
    rows: Mapped[int] = mapped_column()
    columns: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    author: Mapped[str] = mapped_column(String(256), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("executions.id", ondelete="SET NULL"))
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"))
    created_at: Mapped[datetime] = mapped_column()


class Tag(Base):
    """A name for one version of a dataset."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("dataset_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(256))
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column()


class Source(Base):
    """A place data can be collected from, with what collecting it should cost and yield."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    uri: Mapped[str] = mapped_column(String(4096), default="")
    cost: Mapped[float] = mapped_column(Float)
    days: Mapped[float] = mapped_column(Float)
    expected_rows: Mapped[int] = mapped_column(BigInteger)
    quality: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class Round(Base):
    """A time-boxed collection round; its ingests are grouped by its lineage context."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(256))
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"))
    started_at: Mapped[datetime] = mapped_column()
    days: Mapped[float] = mapped_column(Float)
    deadline: Mapped[datetime] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    notes: Mapped[str] = mapped_column(Text, default="")
