"""The stuck-instance report (issue 16): running instances nothing can move on, and where the sweep goes on from.

Revision ID: 0045
Revises: 0043
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0045"
down_revision: str | None = "0043"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stuck_instance",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("process_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("elements", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("since", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("found_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("instance_id"),
    )
    op.create_table(
        "stuck_scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("after_id", sa.BigInteger(), nullable=False),
        sa.Column("pass_completed_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("stuck_scan")
    op.drop_table("stuck_instance")
