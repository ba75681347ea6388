"""Merge the branches of issue 9 (keyed audit chain, sessions and throttling, one demo clock, the Art. 9
trigger date) into one head.

Revision ID: 0015
Revises: 0011_audit_keyed, 0012_auth_sessions, 0013_service_clock, 0014_catalog_trigger_date
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0015"
down_revision: tuple[str, ...] = ("0011_audit_keyed", "0012_auth_sessions", "0013_service_clock",
                                  "0014_catalog_trigger_date")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
