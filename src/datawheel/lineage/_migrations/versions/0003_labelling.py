"""The labelling service: accounts, sessions, projects, items, assignments, annotations, reviews.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 07:38:36.875202
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "label_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_users")),
        sa.UniqueConstraint("name", name=op.f("uq_label_users_name")),
    )
    op.create_table(
        "label_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("source_ref", sa.String(length=512), nullable=False),
        sa.Column("source_artifact_id", sa.Integer(), nullable=False),
        sa.Column("project_artifact_id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.Column("task_type", sa.String(length=16), nullable=False),
        sa.Column("column", sa.String(length=256), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("overlap", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("round", sa.String(length=16), nullable=False),
        sa.Column("guideline_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["context_id"], ["contexts.id"], name=op.f("fk_label_projects_context_id_contexts")
        ),
        sa.ForeignKeyConstraint(
            ["project_artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_label_projects_project_artifact_id_artifacts"),
        ),
        sa.ForeignKeyConstraint(
            ["source_artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_label_projects_source_artifact_id_artifacts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_projects")),
        sa.UniqueConstraint("name", name=op.f("uq_label_projects_name")),
    )
    op.create_table(
        "label_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["label_users.id"],
            name=op.f("fk_label_sessions_user_id_label_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_label_sessions_token_hash")),
    )
    with op.batch_alter_table("label_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "label_guidelines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["label_projects.id"],
            name=op.f("fk_label_guidelines_project_id_label_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_guidelines")),
        sa.UniqueConstraint("project_id", "version", name=op.f("uq_label_guidelines_project_id_version")),
    )
    op.create_table(
        "label_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("row_id", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("round", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("suggestion", sa.JSON(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("flag", sa.Text(), nullable=True),
        sa.Column("assigned", sa.Integer(), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["label_projects.id"],
            name=op.f("fk_label_items_project_id_label_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_items")),
        sa.UniqueConstraint("project_id", "row_id", name=op.f("uq_label_items_project_id_row_id")),
    )
    with op.batch_alter_table("label_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_label_items_queue", ["project_id", "round", "full", "position"], unique=False
        )

    op.create_table(
        "label_members",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["label_projects.id"],
            name=op.f("fk_label_members_project_id_label_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["label_users.id"],
            name=op.f("fk_label_members_user_id_label_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("pk_label_members")),
    )
    with op.batch_alter_table("label_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "label_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("skip_reason", sa.Text(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["label_items.id"],
            name=op.f("fk_label_assignments_item_id_label_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["label_projects.id"],
            name=op.f("fk_label_assignments_project_id_label_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["label_users.id"],
            name=op.f("fk_label_assignments_user_id_label_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_assignments")),
        sa.UniqueConstraint("item_id", "user_id", name=op.f("uq_label_assignments_item_id_user_id")),
    )
    with op.batch_alter_table("label_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_label_assignments_mine", ["user_id", "project_id", "status"], unique=False)

    op.create_table(
        "label_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["label_items.id"],
            name=op.f("fk_label_reviews_item_id_label_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["label_projects.id"],
            name=op.f("fk_label_reviews_project_id_label_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["label_users.id"],
            name=op.f("fk_label_reviews_reviewer_id_label_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_reviews")),
    )
    with op.batch_alter_table("label_reviews", schema=None) as batch_op:
        batch_op.create_index("ix_label_reviews_item", ["project_id", "item_id"], unique=False)

    op.create_table(
        "label_annotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("guideline_version", sa.Integer(), nullable=False),
        sa.Column("round", sa.String(length=16), nullable=False),
        sa.Column("suggestion_used", sa.Boolean(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["label_assignments.id"],
            name=op.f("fk_label_annotations_assignment_id_label_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["label_items.id"],
            name=op.f("fk_label_annotations_item_id_label_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["label_projects.id"],
            name=op.f("fk_label_annotations_project_id_label_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["label_users.id"],
            name=op.f("fk_label_annotations_user_id_label_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_annotations")),
    )
    with op.batch_alter_table("label_annotations", schema=None) as batch_op:
        batch_op.create_index("ix_label_annotations_item", ["project_id", "item_id"], unique=False)
        batch_op.create_index("ix_label_annotations_user", ["user_id", "project_id", "id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("label_annotations", schema=None) as batch_op:
        batch_op.drop_index("ix_label_annotations_user")
        batch_op.drop_index("ix_label_annotations_item")

    op.drop_table("label_annotations")
    with op.batch_alter_table("label_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_label_reviews_item")

    op.drop_table("label_reviews")
    with op.batch_alter_table("label_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_label_assignments_mine")

    op.drop_table("label_assignments")
    with op.batch_alter_table("label_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_members_user_id"))

    op.drop_table("label_members")
    with op.batch_alter_table("label_items", schema=None) as batch_op:
        batch_op.drop_index("ix_label_items_queue")

    op.drop_table("label_items")
    op.drop_table("label_guidelines")
    with op.batch_alter_table("label_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_sessions_user_id"))

    op.drop_table("label_sessions")
    op.drop_table("label_projects")
    op.drop_table("label_users")
