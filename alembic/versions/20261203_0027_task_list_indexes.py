"""Indexes the task lists read in the order they show: 待办, 已办, 我发起的, 抄送我的 and side tasks (issue 12).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = dict(sqlite_where=sa.text("status = 'open' AND trial = 0"),
             postgresql_where=sa.text("status = 'open' AND trial = false"))
_COMPLETED = dict(sqlite_where=sa.text("status = 'completed' AND trial = 0"),
                  postgresql_where=sa.text("status = 'completed' AND trial = false"))


def upgrade() -> None:
    op.create_index("ix_task_todo_due", "task", ["department_id", "role", "due_at", "id"], **_OPEN)
    op.create_index("ix_task_todo_created", "task", ["department_id", "role", "created_at", "id"], **_OPEN)
    op.create_index("ix_task_done", "task", ["completed_by_id", "completed_at", "id"], **_COMPLETED)
    op.create_index("ix_task_done_due", "task", ["completed_by_id", "due_at", "id"], **_COMPLETED)
    op.create_index("ix_task_done_created", "task", ["completed_by_id", "created_at", "id"], **_COMPLETED)
    # The 待办 index above serves what this one did (open tasks by department and role), in deadline order.
    op.drop_index("ix_task_inbox", table_name="task")
    op.create_index("ix_process_instance_started_by", "process_instance", ["started_by_id", "id"])
    op.drop_index("ix_process_instance_started_by_id", table_name="process_instance")
    op.create_index("ix_case_copy_user_id", "case_copy", ["user_id", "id"])
    op.create_index("ix_task_side_open_assignee", "task_side", ["assignee_id", "created_at", "id"],
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index("ix_task_side_open_assignee", table_name="task_side")
    op.drop_index("ix_case_copy_user_id", table_name="case_copy")
    op.create_index("ix_process_instance_started_by_id", "process_instance", ["started_by_id"])
    op.drop_index("ix_process_instance_started_by", table_name="process_instance")
    op.create_index("ix_task_inbox", "task", ["status", "department_id", "role"])
    op.drop_index("ix_task_done_created", table_name="task")
    op.drop_index("ix_task_done_due", table_name="task")
    op.drop_index("ix_task_done", table_name="task")
    op.drop_index("ix_task_todo_created", table_name="task")
    op.drop_index("ix_task_todo_due", table_name="task")
