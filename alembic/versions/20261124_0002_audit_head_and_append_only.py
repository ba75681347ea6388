"""Audit chain head row, and triggers that keep the audit trail append-only.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.execute(f"INSERT INTO audit_head (id, seq, last_hash) VALUES (1, 0, '{GENESIS}')")
    # Art. 12: records are kept at least 24 months. Updates are never allowed; deletes only of
    # rows older than 24 months (an archiving job may remove those).
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION audit_event_guard() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'UPDATE' THEN
                RAISE EXCEPTION 'audit_event is append-only';
              END IF;
              IF OLD.at > now() - interval '24 months' THEN
                RAISE EXCEPTION 'audit events younger than 24 months may not be deleted';
              END IF;
              RETURN OLD;
            END $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
            FOR EACH ROW EXECUTE FUNCTION audit_event_guard()
        """)
    else:
        op.execute("""
            CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
            BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END
        """)
        op.execute("""
            CREATE TRIGGER audit_event_no_young_delete BEFORE DELETE ON audit_event
            WHEN OLD.at > datetime('now', '-24 months')
            BEGIN SELECT RAISE(ABORT, 'audit events younger than 24 months may not be deleted'); END
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_guard()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_young_delete")
    op.execute("DELETE FROM audit_head")
