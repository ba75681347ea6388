"""Side tasks beside the engine's tasks (补正, 加签, 委派) and standing deputies (代理).

Revision ID: 0022
Revises: 0018
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.types import UTCDateTime

revision: str = "0022"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_side",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("task.id"), nullable=False),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instance.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("assignee_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_task_side_assignee_status", "task_side", ["assignee_id", "status"])
    op.create_index("ix_task_side_task_status", "task_side", ["task_id", "status"])
    op.create_index("ix_task_side_instance_id", "task_side", ["instance_id"])
    op.create_table(
        "task_deputy",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False, unique=True),
        sa.Column("deputy_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_task_deputy_deputy_id", "task_deputy", ["deputy_id"])


def downgrade() -> None:
    op.drop_table("task_deputy")
    op.drop_table("task_side")
