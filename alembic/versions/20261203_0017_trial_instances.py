"""Trial runs: a flag on process instances and on their tasks (denormalised for the inbox and sweeps).

Backfill: until this revision a trial run was an instance started through
POST /api/processes/{process_key}/instances, which gives it the subject "试运行：<process_key>" and no
business object; every area's flow starts its instances with a business_ref. Only instances matching
both marks are flagged: an instance without a business object but with another subject (none is known)
stays a real one, since hiding real work would be worse than showing a stray trial.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite supports it with a default): a batch "move and copy" of process_instance
    # would drop a table that task rows reference, which SQLite refuses once instances exist.
    op.add_column("process_instance", sa.Column("trial", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("task", sa.Column("trial", sa.Boolean(), server_default=sa.false(), nullable=False))
    instance = sa.table("process_instance", sa.column("id", sa.Integer()), sa.column("subject", sa.String()),
                        sa.column("business_ref", sa.String()), sa.column("trial", sa.Boolean()))
    task = sa.table("task", sa.column("instance_id", sa.Integer()), sa.column("trial", sa.Boolean()))
    conn = op.get_bind()
    conn.execute(instance.update().where(instance.c.business_ref.is_(None),
                                         instance.c.subject.like("试运行：%"))
                 .values(trial=sa.true()))
    conn.execute(task.update().where(task.c.instance_id.in_(
        sa.select(instance.c.id).where(instance.c.trial.is_(sa.true())))).values(trial=sa.true()))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Native DROP COLUMN (SQLite 3.35+): a batch copy would drop tables other rows reference.
        op.execute("ALTER TABLE task DROP COLUMN trial")
        op.execute("ALTER TABLE process_instance DROP COLUMN trial")
    else:
        op.drop_column("task", "trial")
        op.drop_column("process_instance", "trial")
