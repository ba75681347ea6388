"""Keyed audit chain: each event names its hash algorithm, the head names its chain; TRUNCATE and
moving the head back are refused.

Events already written keep their plain SHA-256 hashes: updates are forbidden, and rewriting history
is what the chain exists to prevent. The column's constant default labels them without an UPDATE (it
is stored as metadata on PostgreSQL 11+ and SQLite: no row is rewritten, no row trigger fires); the
service writes every new event keyed, and the verifier refuses an unkeyed event after a keyed one.

Revision ID: 0011_audit_keyed
Revises: 0010
Create Date: 2026-12-02
"""
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011_audit_keyed"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_event", sa.Column("hash_alg", sqlmodel.sql.sqltypes.AutoString(length=16),
                                           server_default="sha256", nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        # Rows already written keep their label; from now on an insert must name its algorithm, so a
        # worker still running the code before this revision (a rolling deploy) fails to append instead
        # of adding unkeyed events the verifier would refuse for ever. (SQLite runs one embedded
        # process and cannot drop a column default without rebuilding the table: it keeps it.)
        op.execute("ALTER TABLE audit_event ALTER COLUMN hash_alg DROP DEFAULT")
    op.add_column("audit_head", sa.Column("chain_id", sqlmodel.sql.sqltypes.AutoString(length=32),
                                          server_default="", nullable=False))
    op.execute(sa.text("UPDATE audit_head SET chain_id = :chain_id").bindparams(chain_id=uuid.uuid4().hex))
    if op.get_bind().dialect.name == "postgresql":
        # TRUNCATE fires no row trigger, so the append-only guard of 0002 never saw it.
        op.execute("""
            CREATE FUNCTION audit_no_truncate() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'the audit trail (%) may not be truncated', TG_TABLE_NAME;
            END $$ LANGUAGE plpgsql
        """)
        for table in ("audit_event", "audit_head"):
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION audit_no_truncate()")
        # The head only moves forward, and stays one row naming one chain.
        op.execute("""
            CREATE FUNCTION audit_head_guard() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' OR TG_OP = 'INSERT' THEN
                RAISE EXCEPTION 'audit_head is a single row that may not be deleted or added';
              END IF;
              IF NEW.id <> OLD.id OR NEW.seq < OLD.seq OR NEW.chain_id <> OLD.chain_id THEN
                RAISE EXCEPTION 'audit_head may only move forward';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql
        """)
        op.execute("CREATE TRIGGER audit_head_forward_only BEFORE INSERT OR UPDATE OR DELETE ON audit_head "
                   "FOR EACH ROW EXECUTE FUNCTION audit_head_guard()")
    else:
        # SQLite has no TRUNCATE: `DELETE FROM audit_event` with no WHERE is its nearest, and the
        # truncate optimisation is off on a table with a DELETE trigger, so 0002's row trigger sees it.
        op.execute("""
            CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
            BEGIN SELECT RAISE(ABORT, 'audit_head is a single row that may not be deleted'); END
        """)
        op.execute("""
            CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
            WHEN NEW.id <> OLD.id OR NEW.seq < OLD.seq OR NEW.chain_id <> OLD.chain_id
            BEGIN SELECT RAISE(ABORT, 'audit_head may only move forward'); END
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_head")
        op.execute("DROP FUNCTION IF EXISTS audit_head_guard()")
        for table in ("audit_event", "audit_head"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_no_truncate()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_head_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_head_forward_only")
    op.drop_column("audit_head", "chain_id")
    op.drop_column("audit_event", "hash_alg")
