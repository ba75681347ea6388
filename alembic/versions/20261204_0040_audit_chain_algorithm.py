"""Audit chain under a named algorithm (issue 15, Art. 26): the head remembers the algorithm of the last
event, so an appender under another crypto suite (HMAC-SM3 instead of HMAC-SHA256, or back) starts a new
segment with an `audit.algorithm_changed` event, without an extra query on the append path.

Existing heads take the algorithm of their last event ("sha256" for a chain whose events all predate the
keyed chain), or HMAC-SHA256 when there is none. No event is touched.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-04
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_head", sa.Column("hash_alg", sqlmodel.sql.sqltypes.AutoString(length=16),
                                          server_default="hmac-sha256", nullable=False))
    # The head only moves forward (0011's trigger): an UPDATE that keeps seq and chain_id passes.
    op.execute("UPDATE audit_head SET hash_alg = COALESCE((SELECT e.hash_alg FROM audit_event e "
               "WHERE e.seq = audit_head.seq), 'hmac-sha256')")


def downgrade() -> None:
    op.drop_column("audit_head", "hash_alg")
