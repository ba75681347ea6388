"""Merge the branches of issue 10 (designer drafts and submissions, trial runs) into one head.

Revision ID: 0018
Revises: 0016, 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

revision: str = "0018"
down_revision: tuple[str, ...] = ("0016", "0017")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
