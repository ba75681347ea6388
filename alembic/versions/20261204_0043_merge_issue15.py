"""Merge issue 15's migrations (Art. 26): the audit chain's algorithm (0040), encrypted attachments (0041)
and signed documents (0042) into one head.

Revision ID: 0043
Revises: 0040, 0041, 0042
Create Date: 2026-12-04
"""

from collections.abc import Sequence

revision: str = "0043"
down_revision: tuple[str, ...] = ("0040", "0041", "0042")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
