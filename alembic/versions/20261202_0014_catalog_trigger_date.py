"""Art. 9 counts from the day of the revision: the trigger records it, a task may count from a given day.

Revision ID: 0014_catalog_trigger_date
Revises: 0010
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types
from app.core.clock import SHANGHAI

revision: str = "0014_catalog_trigger_date"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_update_trigger") as batch_op:
        batch_op.add_column(sa.Column("effective_on", sa.Date(), nullable=True))
    # Triggers recorded before this revision: their tasks' deadlines were counted from the day they were
    # recorded (Beijing date), so that is the day they keep (their tasks keep due_from empty).
    trigger = sa.table("catalog_update_trigger", sa.column("id", sa.Integer()),
                       sa.column("recorded_at", app.core.types.UTCDateTime(timezone=True)),
                       sa.column("effective_on", sa.Date()))
    conn = op.get_bind()
    for trigger_id, recorded_at in conn.execute(sa.select(trigger.c.id, trigger.c.recorded_at)).all():
        conn.execute(trigger.update().where(trigger.c.id == trigger_id)
                     .values(effective_on=recorded_at.astimezone(SHANGHAI).date()))
    with op.batch_alter_table("catalog_update_trigger") as batch_op:
        batch_op.alter_column("effective_on", existing_type=sa.Date(), nullable=False)
    with op.batch_alter_table("task") as batch_op:
        batch_op.add_column(sa.Column("due_from", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task") as batch_op:
        batch_op.drop_column("due_from")
    with op.batch_alter_table("catalog_update_trigger") as batch_op:
        batch_op.drop_column("effective_on")
