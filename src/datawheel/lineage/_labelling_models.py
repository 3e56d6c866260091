"""Tables of the labelling service: accounts, sessions, projects, items, assignments, annotations.

They live in the workspace's metadata database (SQLite or PostgreSQL) beside the lineage graph,
and migrate with it (revision ``0003``). A project points at the lineage context and artifact
that tie its exports to the dataset version it was made from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datawheel.lineage._models import Base


class LabelUser(Base):
    """An account of the labelling service: an annotator, a reviewer or an admin."""

    __tablename__ = "label_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column()


class LabelSession(Base):
    """A signed-in browser or client: the hash of its cookie token and its CSRF token."""

    __tablename__ = "label_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("label_users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()


class LabelProject(Base):
    """A labelling project made from one dataset version."""

    __tablename__ = "label_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    source_ref: Mapped[str] = mapped_column(String(512))
    source_artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"))
    project_artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"))
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"))
    task_type: Mapped[str] = mapped_column(String(16))
    column: Mapped[str] = mapped_column(String(256))
    labels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    overlap: Mapped[int] = mapped_column()
    priority: Mapped[str] = mapped_column(String(16))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    round: Mapped[str] = mapped_column(String(16))
    guideline_version: Mapped[int] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column()


class LabelGuideline(Base):
    """One version of a project's guidelines (Markdown)."""

    __tablename__ = "label_guidelines"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("label_projects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column()
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column()


class LabelMember(Base):
    """An account that works on a project."""

    __tablename__ = "label_members"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("label_projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("label_users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class LabelItem(Base):
    """One row of the source version to label, in the project's priority order."""

    __tablename__ = "label_items"
    __table_args__ = (
        UniqueConstraint("project_id", "row_id"),
        Index("ix_label_items_queue", "project_id", "round", "full", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("label_projects.id", ondelete="CASCADE"))
    row_id: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column()
    round: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    suggestion: Mapped[Any | None] = mapped_column(JSON)
    confidence: Mapped[float | None] = mapped_column(Float)
    flag: Mapped[str | None] = mapped_column(Text)
    assigned: Mapped[int] = mapped_column(default=0)
    full: Mapped[bool] = mapped_column(Boolean, default=False)


class LabelAssignment(Base):
    """An item given to one annotator: ``open``, then ``done`` or ``skipped``."""

    __tablename__ = "label_assignments"
    __table_args__ = (
        UniqueConstraint("item_id", "user_id"),
        Index("ix_label_assignments_mine", "user_id", "project_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("label_projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("label_items.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("label_users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    skip_reason: Mapped[str | None] = mapped_column(Text)
    assigned_at: Mapped[datetime] = mapped_column()
    done_at: Mapped[datetime | None] = mapped_column()


class LabelAnnotation(Base):
    """One label an annotator gave an item; an undone one keeps its record with ``undone_at``."""

    __tablename__ = "label_annotations"
    __table_args__ = (
        Index("ix_label_annotations_item", "project_id", "item_id"),
        Index("ix_label_annotations_user", "user_id", "project_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("label_projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("label_items.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("label_users.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("label_assignments.id", ondelete="CASCADE"))
    value: Mapped[Any] = mapped_column(JSON)
    label: Mapped[str] = mapped_column(Text)
    guideline_version: Mapped[int] = mapped_column()
    round: Mapped[str] = mapped_column(String(16))
    suggestion_used: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_ms: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    undone_at: Mapped[datetime | None] = mapped_column()


class LabelReview(Base):
    """A reviewer's decision on an item, kept apart from the annotations."""

    __tablename__ = "label_reviews"
    __table_args__ = (Index("ix_label_reviews_item", "project_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("label_projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("label_items.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("label_users.id", ondelete="CASCADE"))
    value: Mapped[Any] = mapped_column(JSON)
    label: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column()
