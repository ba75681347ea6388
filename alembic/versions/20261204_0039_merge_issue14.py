"""Merge the usage log (0035, issue 14 Art. 12), the yearly report (0036, Art. 18), business systems
(0037, Art. 7) and the tasks' initiator (0038, issue 12) into one head.

Revision ID: 0039
Revises: 0035, 0036, 0037, 0038
Create Date: 2026-12-04
"""

from collections.abc import Sequence

revision: str = "0039"
down_revision: tuple[str, ...] = ("0035", "0036", "0037", "0038")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
