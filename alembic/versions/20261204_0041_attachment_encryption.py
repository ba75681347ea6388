"""Attachments encrypted at rest (issue 15, Art. 26): the checksum under its algorithm, and for an encrypted
file its cipher, storage name and sealed data key. Every existing row stays a plaintext file, its checksum
the SHA-256 it already has.

Revision ID: 0041
Revises: 0039
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0041"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns, or a constant default: no table rewrite on PostgreSQL.
    op.add_column("attachment", sa.Column("checksum_alg", sqlmodel.sql.sqltypes.AutoString(length=16),
                                          server_default="sha256", nullable=False))
    op.add_column("attachment", sa.Column("checksum", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
    op.add_column("attachment", sa.Column("cipher", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    op.add_column("attachment", sa.Column("storage_name", sqlmodel.sql.sqltypes.AutoString(length=64),
                                          nullable=True))
    op.add_column("attachment", sa.Column("wrapped_key", sqlmodel.sql.sqltypes.AutoString(length=255),
                                          nullable=True))
    op.execute("UPDATE attachment SET checksum = sha256")
    with op.batch_alter_table("attachment") as batch_op:  # SQLite: a table copy; PostgreSQL: SET NOT NULL
        batch_op.alter_column("checksum", existing_type=sqlmodel.sql.sqltypes.AutoString(length=128),
                              nullable=False)
    op.create_index("ix_attachment_storage_name", "attachment", ["storage_name"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_attachment_storage_name", table_name="attachment")
    with op.batch_alter_table("attachment") as batch_op:
        for column in ("wrapped_key", "storage_name", "cipher", "checksum", "checksum_alg"):
            batch_op.drop_column(column)
