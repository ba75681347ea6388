"""Merge the external tasks (0044) and stuck instances (0045) heads, and give each system client the
external-task topics it may fetch (issue 16, security: a worker reads only its own topics' variables).

Revision ID: 0046
Revises: 0044, 0045
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0046"
down_revision: tuple[str, ...] = ("0044", "0045")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing worker clients get no topics: they fetch nothing until an administrator names their topics.
    with op.batch_alter_table("system_client") as batch:
        batch.add_column(sa.Column("topics", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("system_client") as batch:
        batch.drop_column("topics")
