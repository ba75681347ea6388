"""A person's notifications newest first from one index (user, created_at, id), replacing the index on the
user alone: the list and its pages read a page, not every notification of the person; the unread badge
from a partial index of the unread ones (counted up to 100, "99+").

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_notification_user_created", "notification", ["user_id", "created_at", "id"])
    op.create_index("ix_notification_user_unread", "notification", ["user_id", "id"],
                    sqlite_where=sa.text("read_at IS NULL"), postgresql_where=sa.text("read_at IS NULL"))
    op.drop_index("ix_notification_user_id", table_name="notification")


def downgrade() -> None:
    op.create_index("ix_notification_user_id", "notification", ["user_id"])
    op.drop_index("ix_notification_user_unread", table_name="notification")
    op.drop_index("ix_notification_user_created", table_name="notification")
