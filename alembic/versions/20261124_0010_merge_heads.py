"""Merge the branches of issues 4 and 5 (catalog/open lists, disputes, rectification) into one head.

Revision ID: 0010
Revises: 0006, 0008, 0009
Create Date: 2026-11-24
"""

from collections.abc import Sequence

revision: str = "0010"
down_revision: tuple[str, ...] = ("0006", "0008", "0009")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
