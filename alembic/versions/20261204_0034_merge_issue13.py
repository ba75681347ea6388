"""Merge the console's next deadline (0032, issue 12) and the scheduler heartbeat and job status (0033,
issue 13) into one head.

Revision ID: 0034
Revises: 0032, 0033
Create Date: 2026-12-04
"""

from collections.abc import Sequence

revision: str = "0034"
down_revision: tuple[str, ...] = ("0032", "0033")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
