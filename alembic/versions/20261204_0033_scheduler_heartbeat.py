"""Scheduler heartbeat (one row per scheduler process) and job run status (one row per job), read by
/readyz and /metrics (issue 13).

Revision ID: 0033
Revises: 0031
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0033"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduler_heartbeat",
        sa.Column("process_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("started_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("beat_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("jobs_run", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("process_id"),
    )
    op.create_index("ix_scheduler_heartbeat_beat_at", "scheduler_heartbeat", ["beat_at"])
    op.create_table(
        "job_status",
        sa.Column("job_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("last_started_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("last_duration_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("job_id"),
    )


def downgrade() -> None:
    op.drop_table("job_status")
    op.drop_index("ix_scheduler_heartbeat_beat_at", table_name="scheduler_heartbeat")
    op.drop_table("scheduler_heartbeat")
