"""Electronic signatures on decisions (Art. 26, issue 15): departments' signing keys (the private key sealed
under a master key from settings), the documents signed when issued with their verification codes, and
the counters numbering share replies and adjudications.

Revision ID: 0042
Revises: 0039
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0042"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = {"sqlite_where": sa.text("status = 'active'"), "postgresql_where": sa.text("status = 'active'")}


def upgrade() -> None:
    op.create_table(
        "signing_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("alg", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("private_key_sealed", sa.Text(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("retired_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint"),
    )
    op.create_index("uq_signing_key_active", "signing_key", ["department_id"], unique=True, **ACTIVE)
    op.create_index("ix_signing_key_department_id", "signing_key", ["department_id", "id"])
    op.create_table(
        "signed_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("entity_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("digest_alg", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("signature_alg", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("signing_key_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("issued_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("issued_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("verification_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.ForeignKeyConstraint(["signing_key_id"], ["signing_key.id"]),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("doc_type", "entity_id", name="uq_signed_document_entity"),
        sa.UniqueConstraint("verification_code"),
    )
    op.create_index("ix_signed_document_number", "signed_document", ["number"])
    op.create_index("ix_signed_document_signing_key_id", "signed_document", ["signing_key_id"])
    op.create_table(
        "signed_document_counter",
        sa.Column("department_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("doc_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.PrimaryKeyConstraint("department_id", "doc_type", "year"),
    )


def downgrade() -> None:
    op.drop_table("signed_document_counter")
    op.drop_index("ix_signed_document_signing_key_id", table_name="signed_document")
    op.drop_index("ix_signed_document_number", table_name="signed_document")
    op.drop_table("signed_document")
    op.drop_index("ix_signing_key_department_id", table_name="signing_key")
    op.drop_index("uq_signing_key_active", table_name="signing_key")
    op.drop_table("signing_key")
