"""External tasks (issue 16): Camunda 7-style service tasks done by other systems' workers, fetched by topic
and locked by one worker; failures retried with a back-off, exhausted retries opening an incident.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0044"
down_revision: str | None = "0043"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "external_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("process_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("spiff_task_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("element_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("business_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("trial", sa.Boolean(), nullable=False),
        sa.Column("worker_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("locked_by_client_id", sa.Integer(), nullable=True),
        sa.Column("locked_until", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("error_message", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("error_details", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("incident_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("incident_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("resolved_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.ForeignKeyConstraint(["locked_by_client_id"], ["system_client.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "spiff_task_id", name="uq_external_task_engine_task"),
    )
    op.create_index("ix_external_task_instance_id", "external_task", ["instance_id"])
    op.create_index("ix_external_task_fetch", "external_task", ["topic", "status", "id"])
    op.create_index("ix_external_task_status", "external_task", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_external_task_status", table_name="external_task")
    op.drop_index("ix_external_task_fetch", table_name="external_task")
    op.drop_index("ix_external_task_instance_id", table_name="external_task")
    op.drop_table("external_task")
