"""Share disputes and their records (Art. 16 para 3, Art. 17).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "closed_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "dispute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("share_request_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("requester_department_id", sa.Integer(), nullable=False),
        sa.Column("provider_department_id", sa.Integer(), nullable=False),
        sa.Column("authority_department_id", sa.Integer(), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("duties", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("need", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("negotiation_due_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("negotiation_rounds", sa.Integer(), nullable=False),
        sa.Column("escalation_reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("escalated_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("outcome_items", sa.JSON(), nullable=True),
        sa.Column("terms", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("reasons", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column("basis", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("resolved_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("compliance_note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("complied_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["authority_department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["catalog_entry.id"]),
        sa.ForeignKeyConstraint(["grant_id"], ["share_grant.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.ForeignKeyConstraint(["opened_by_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["provider_department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["requester_department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["share_request_id"], ["share_request.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dispute") as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_authority_department_id"), ["authority_department_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_provider_department_id"), ["provider_department_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_requester_department_id"), ["requester_department_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_share_request_id"), ["share_request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_status"), ["status"], unique=False)
        batch_op.create_index("uq_dispute_open_request", ["share_request_id"], unique=True,
                              sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))

    op.create_table(
        "dispute_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("round", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["dispute_id"], ["dispute.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id"),
    )
    with op.batch_alter_table("dispute_record") as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_record_dispute_id"), ["dispute_id"], unique=False)


def downgrade() -> None:
    op.drop_table("dispute_record")
    op.drop_table("dispute")
