"""Merge the branches of issue 11 (message subscriptions, task side actions, the approval desk, the user's language) into one head.

Revision ID: 0026
Revises: 0021, 0022, 0023, 0025
Create Date: 2026-12-03
"""

from collections.abc import Sequence

revision: str = "0026"
down_revision: tuple[str, ...] = ("0021", "0022", "0023", "0025")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
