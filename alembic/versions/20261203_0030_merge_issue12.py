"""Merge the branches of issue 12 (task-list, case-list and case-history indexes) into one head; open tasks
of an instance by (instance_id, status), so an instance's open steps are found directly however many rounds
its history holds (replaces the index on instance_id alone).

Revision ID: 0030
Revises: 0027, 0028, 0029
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: tuple[str, ...] = ("0027", "0028", "0029")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_task_instance_status", "task", ["instance_id", "status"])
    op.drop_index("ix_task_instance_id", table_name="task")


def downgrade() -> None:
    op.create_index("ix_task_instance_id", "task", ["instance_id"])
    op.drop_index("ix_task_instance_status", table_name="task")
