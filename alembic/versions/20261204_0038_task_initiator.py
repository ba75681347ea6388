"""我发起的 in the order it shows: tasks carry who started their case (`initiator_id`, copied from the
instance's started_by_id, filled here), with partial indexes (not trial runs) of a person's tasks by case
(newest first), by deadline and by arrival, so a page reads about a page of index entries instead of
sorting all the tasks of every case the person started.

Revision ID: 0038
Revises: 0034
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_TRIAL = {"sqlite_where": sa.text("trial = 0"), "postgresql_where": sa.text("trial = false")}
INDEXES = (("ix_task_initiated", "instance_id"), ("ix_task_initiated_due", "due_at"),
           ("ix_task_initiated_created", "created_at"))


def upgrade() -> None:
    # A nullable column without a default: no table rewrite on PostgreSQL (nor a batch copy on SQLite).
    op.add_column("task", sa.Column("initiator_id", sa.Integer(), nullable=True))
    op.execute("UPDATE task SET initiator_id = (SELECT started_by_id FROM process_instance "
               "WHERE process_instance.id = task.instance_id)")
    for name, column in INDEXES:
        op.create_index(name, "task", ["initiator_id", column, "id"], **NOT_TRIAL)


def downgrade() -> None:
    for name, _ in INDEXES:
        op.drop_index(name, table_name="task")
    with op.batch_alter_table("task") as batch:
        batch.drop_column("initiator_id")
