"""The approval desk: copies (抄送), urges (催办), saved phrases (常用意见), saved filters, comments;
an index on process_instance.started_by_id for 我发起的 and its count.

Revision ID: 0023
Revises: 0018
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import app.core.types
from alembic import op

revision: str = "0023"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = app.core.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "case_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("note", _STR(length=500), nullable=True),
        sa.Column("created_at", _TIME(timezone=True), nullable=False),
        sa.Column("read_at", _TIME(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["sent_by_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "user_id", name="uq_case_copy_instance_user"),
    )
    op.create_index("ix_case_copy_instance_id", "case_copy", ["instance_id"])
    op.create_index("ix_case_copy_user_read", "case_copy", ["user_id", "read_at"])
    op.create_table(
        "task_urge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("working_day", sa.Date(), nullable=False),
        sa.Column("created_at", _TIME(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "working_day", name="uq_task_urge_task_day"),
    )
    op.create_index("ix_task_urge_task_id", "task_urge", ["task_id"])
    op.create_table(
        "phrase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("text", _STR(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_phrase_owner_id", "phrase", ["owner_id"])
    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("name", _STR(length=50), nullable=False),
        sa.Column("query", _STR(length=1000), nullable=False),
        sa.Column("created_at", _TIME(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_saved_filter_owner_id", "saved_filter", ["owner_id"])
    op.create_index("ix_saved_filter_department_id", "saved_filter", ["department_id"])
    op.create_table(
        "task_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", _STR(length=2000), nullable=False),
        sa.Column("created_at", _TIME(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.ForeignKeyConstraint(["author_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_task_comment_instance_id", "task_comment", ["instance_id"])
    op.create_index("ix_process_instance_started_by_id", "process_instance", ["started_by_id"])


def downgrade() -> None:
    op.drop_index("ix_process_instance_started_by_id", table_name="process_instance")
    op.drop_table("task_comment")
    op.drop_table("saved_filter")
    op.drop_table("phrase")
    op.drop_table("task_urge")
    op.drop_table("case_copy")
