"""Designer drafts and four-eyes submissions; a deployed version records its approver; the same file
may be deployed again as a new version (rolling back), so (process_key, content_hash) is no longer unique.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import app.core.types
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The initial schema left the constraint unnamed: PostgreSQL named it itself; on SQLite the batch
# copy names the reflected constraint after this convention so that it can be dropped.
_PG_UNIQUE = "process_definition_process_key_content_hash_key"
_SQLITE_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}
_SQLITE_UNIQUE = "uq_process_definition_process_key_content_hash"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("process_definition",
                              naming_convention=_SQLITE_CONVENTION if sqlite else None) as batch_op:
        batch_op.drop_constraint(_SQLITE_UNIQUE if sqlite else _PG_UNIQUE, type_="unique")
        batch_op.create_index("ix_process_definition_key_hash", ["process_key", "content_hash"], unique=False)
        batch_op.add_column(sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))

    op.create_table(
        "process_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("process_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("bpmn_xml", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("review_comment", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("process_draft") as batch_op:
        batch_op.create_index(batch_op.f("ix_process_draft_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_process_draft_process_key"), ["process_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_process_draft_status"), ["status"], unique=False)

    op.create_table(
        "process_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("process_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("bpmn_xml", sa.LargeBinary(), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_comment", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("deployed_definition_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["deployed_definition_id"], ["process_definition.id"]),
        sa.ForeignKeyConstraint(["draft_id"], ["process_draft.id"]),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("process_submission") as batch_op:
        batch_op.create_index(batch_op.f("ix_process_submission_draft_id"), ["draft_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_process_submission_process_key"), ["process_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_process_submission_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_process_submission_submitted_by_id"), ["submitted_by_id"],
                              unique=False)


def downgrade() -> None:
    op.drop_table("process_submission")
    op.drop_table("process_draft")
    # Fails when a file was deployed twice (a rollback): remove those versions first, by hand.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("process_definition") as batch_op:
        batch_op.drop_column("approved_by")
        batch_op.drop_index("ix_process_definition_key_hash")
        batch_op.create_unique_constraint(_SQLITE_UNIQUE if sqlite else _PG_UNIQUE, ["process_key", "content_hash"])
