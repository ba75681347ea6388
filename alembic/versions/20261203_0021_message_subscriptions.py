"""Message subscriptions: the messages running instances wait for, kept by the runner at every step.

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.types import UTCDateTime

revision: str = "0021"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No instance waited for a message before this revision (message events were refused at deploy).
    op.create_table(
        "message_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("message_name", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "message_name"),
    )
    op.create_index("ix_message_subscription_name", "message_subscription", ["message_name", "instance_id"])


def downgrade() -> None:
    op.drop_index("ix_message_subscription_name", table_name="message_subscription")
    op.drop_table("message_subscription")
