"""The deployment's one demo clock: a single row every worker and scheduler replica reads

Revision ID: 0013_service_clock
Revises: 0010
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0013_service_clock"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "service_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offset_us", sa.BigInteger(), nullable=False),
        sa.Column("moved_to", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("moved_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("moved_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # The row exists from the start: moving the clock is always an UPDATE of a locked row, so two
    # administrators moving it at once serialise instead of racing to insert it.
    op.bulk_insert(table, [{"id": 1, "offset_us": 0}])


def downgrade() -> None:
    op.drop_table("service_clock")
