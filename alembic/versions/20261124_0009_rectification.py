"""Rectification notices (Art. 29–30): numbering per authority and year, notices, reports and claims;
the supervisor's decision on a supervision item.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-24
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rectification_authority",
        sa.Column("department_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("number_prefix", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.PrimaryKeyConstraint("department_id"),
    )
    op.create_table(
        "rectification_number_counter",
        sa.Column("authority_department_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["authority_department_id"], ["department.id"]),
        sa.PrimaryKeyConstraint("authority_department_id", "year"),
    )
    op.create_table(
        "rectification_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("authority_department_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("article_item", sa.Integer(), nullable=False),
        sa.Column("facts", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
        sa.Column("requirements", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
        sa.Column("deadline_working_days", sa.Integer(), nullable=False),
        sa.Column("issued_due_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("round_working_days", sa.Integer(), nullable=False),
        sa.Column("due_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_provisional", sa.Boolean(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("issued_by_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["authority_department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.ForeignKeyConstraint(["issued_by_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("authority_department_id", "year", "seq", name="uq_rectification_notice_number"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("rectification_notice") as batch_op:
        batch_op.create_index(batch_op.f("ix_rectification_notice_authority_department_id"),
                              ["authority_department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rectification_notice_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rectification_notice_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rectification_notice_issued_at"), ["issued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_rectification_notice_status"), ["status"], unique=False)
    op.create_table(
        "rectification_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
        sa.Column("ground", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("attachment_ids", sa.JSON(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("decision_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("new_deadline_working_days", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["decided_by_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["notice_id"], ["rectification_notice.id"]),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rectification_submission") as batch_op:
        batch_op.create_index(batch_op.f("ix_rectification_submission_notice_id"), ["notice_id"], unique=False)
    with op.batch_alter_table("supervision_item") as batch_op:
        batch_op.add_column(sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column("decision_note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.add_column(sa.Column("decided_at", app.core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("supervision_item") as batch_op:
        batch_op.drop_column("decided_by")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decision_note")
        batch_op.drop_column("decision")
    op.drop_table("rectification_submission")
    op.drop_table("rectification_notice")
    op.drop_table("rectification_number_counter")
    op.drop_table("rectification_authority")
