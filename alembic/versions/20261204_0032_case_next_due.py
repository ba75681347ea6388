"""The authority console ordered from an index: disputes and rectification notices carry `next_due_at`, the
earliest running deadline among their open tasks (kept by the flush that changes the tasks), filled here from
the open tasks; partial indexes of the open cases in the console's order (next deadline, newest first, id),
for the whole service and per authority; and one authority's cases by their opening.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.types import UTCDateTime

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("closed_at IS NULL")
UNDATED = sa.text("closed_at IS NULL AND next_due_at IS NULL")
CASES = (("dispute", "created_at"), ("rectification_notice", "issued_at"))

# The same rule as app/authority/next_due.py: open tasks with a deadline that is not paused.
BACKFILL = """
UPDATE {table} SET next_due_at = (
    SELECT min(task.due_at) FROM task
    WHERE task.instance_id = {table}.instance_id AND task.status = 'open'
      AND task.due_at IS NOT NULL AND task.paused_at IS NULL)
WHERE instance_id IS NOT NULL
"""


def upgrade() -> None:
    for table, opened in CASES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("next_due_at", UTCDateTime(timezone=True), nullable=True))
        op.execute(BACKFILL.format(table=table))
        op.create_index(f"ix_{table}_console_due", table, ["next_due_at", sa.desc(sa.column(opened)), "id"],
                        sqlite_where=OPEN, postgresql_where=OPEN)
        op.create_index(f"ix_{table}_console_authority_due", table,
                        ["authority_department_id", "next_due_at", sa.desc(sa.column(opened)), "id"],
                        sqlite_where=OPEN, postgresql_where=OPEN)
        # The open cases without a running deadline, newest first (PostgreSQL does not order by the index above
        # after "next_due_at IS NULL").
        op.create_index(f"ix_{table}_console_undated", table, [sa.desc(sa.column(opened)), "id"],
                        sqlite_where=UNDATED, postgresql_where=UNDATED)
        # One authority's cases by their opening: the closed part of the deadline order, the opened-at orders.
        op.create_index(f"ix_{table}_authority_opened", table, ["authority_department_id", opened, "id"])


def downgrade() -> None:
    for table, _ in CASES:
        op.drop_index(f"ix_{table}_authority_opened", table_name=table)
        op.drop_index(f"ix_{table}_console_undated", table_name=table)
        op.drop_index(f"ix_{table}_console_authority_due", table_name=table)
        op.drop_index(f"ix_{table}_console_due", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("next_due_at")
