"""Art. 12 (issue 14): system clients (machine credentials), the log of data provided and obtained
(usage_event: partitioned by month on PostgreSQL, append-only for 24 months) and its flags.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Partitions made here: the 24 months the log must keep, the current month and two ahead; the
# create-usage-partitions job keeps making the months ahead.
MONTHS_BACK, MONTHS_AHEAD = 24, 2


def _month(first: date, delta: int) -> date:
    index = first.year * 12 + first.month - 1 + delta
    return date(index // 12, index % 12 + 1, 1)


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "system_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deactivated_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_system_client_department_id", "system_client", ["department_id"])
    op.create_table(
        "usage_event",
        sa.Column("system_client_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("occurred_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("provider_department_id", sa.Integer(), nullable=False),
        sa.Column("consumer_department_id", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("call_count", sa.BigInteger(), nullable=True),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("requesting_system", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("requesting_user", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("flags", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("received_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("system_client_id", "event_id", "occurred_at"),
        postgresql_partition_by="RANGE (occurred_at)",
    )
    op.create_index("ix_usage_event_grant", "usage_event", ["grant_id", "occurred_at"])
    op.create_index("ix_usage_event_provider", "usage_event", ["provider_department_id", "occurred_at"])
    op.create_index("ix_usage_event_consumer", "usage_event", ["consumer_department_id", "occurred_at"])
    op.create_table(
        "usage_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider_department_id", sa.Integer(), nullable=False),
        sa.Column("consumer_department_id", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("first_event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("first_occurred_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("system_client_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rectification_notice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["share_grant.id"]),
        sa.ForeignKeyConstraint(["provider_department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["consumer_department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["system_client_id"], ["system_client.id"]),
        sa.ForeignKeyConstraint(["rectification_notice_id"], ["rectification_notice.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("grant_id", "day", name="uq_usage_flag_grant_day"),
    )
    op.create_index("ix_usage_flag_provider", "usage_flag", ["provider_department_id", "id"])
    op.create_index("ix_usage_flag_consumer", "usage_flag", ["consumer_department_id", "id"])
    # Art. 12: the log is kept at least 24 months. Updates are never allowed; deletes only of events used
    # more than 24 months ago (the archive-usage-events job removes those, after writing them to a file).
    if pg:
        first = datetime.now().date().replace(day=1)
        for delta in range(-MONTHS_BACK, MONTHS_AHEAD + 1):
            start, end = _month(first, delta), _month(first, delta + 1)
            op.execute(f"CREATE TABLE IF NOT EXISTS usage_event_p{start:%Y%m} PARTITION OF usage_event "
                       f"FOR VALUES FROM ('{start} 00:00:00+08') TO ('{end} 00:00:00+08')")
        op.execute("CREATE TABLE usage_event_default PARTITION OF usage_event DEFAULT")
        op.execute("""
            CREATE FUNCTION usage_event_guard() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'UPDATE' THEN
                RAISE EXCEPTION 'usage_event is append-only';
              END IF;
              IF OLD.occurred_at > now() - interval '24 months' THEN
                RAISE EXCEPTION 'usage events younger than 24 months may not be deleted';
              END IF;
              RETURN OLD;
            END $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER usage_event_append_only BEFORE UPDATE OR DELETE ON usage_event
            FOR EACH ROW EXECUTE FUNCTION usage_event_guard()
        """)
    else:
        op.execute("""
            CREATE TRIGGER usage_event_no_update BEFORE UPDATE ON usage_event
            BEGIN SELECT RAISE(ABORT, 'usage_event is append-only'); END
        """)
        op.execute("""
            CREATE TRIGGER usage_event_no_young_delete BEFORE DELETE ON usage_event
            WHEN OLD.occurred_at > datetime('now', '-24 months')
            BEGIN SELECT RAISE(ABORT, 'usage events younger than 24 months may not be deleted'); END
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE usage_event CASCADE")  # its partitions and trigger with it
        op.execute("DROP FUNCTION IF EXISTS usage_event_guard()")
    else:
        op.execute("DROP TRIGGER IF EXISTS usage_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS usage_event_no_young_delete")
        op.drop_table("usage_event")
    op.drop_index("ix_usage_flag_consumer", table_name="usage_flag")
    op.drop_index("ix_usage_flag_provider", table_name="usage_flag")
    op.drop_table("usage_flag")
    op.drop_index("ix_system_client_department_id", table_name="system_client")
    op.drop_table("system_client")
