"""Case history pages read from (owner, sequence) indexes: the latest lines and the ones before a cursor.

The 流转记录 of a case is read by (entity_type, entity_id) and by instance_id, newest first by seq; a
dispute's file by dispute_id, newest first by id. The old one- and two-column indexes are prefixes of the
new ones, so they are replaced (one index fewer to write per audit event).

Revision ID: 0029
Revises: 0026
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_event_entity_seq", "audit_event", ["entity_type", "entity_id", "seq"])
    op.drop_index("ix_audit_event_entity", table_name="audit_event")
    op.create_index("ix_audit_event_instance_seq", "audit_event", ["instance_id", "seq"])
    op.drop_index("ix_audit_event_instance_id", table_name="audit_event")
    op.create_index("ix_dispute_record_dispute", "dispute_record", ["dispute_id", "id"])
    op.drop_index("ix_dispute_record_dispute_id", table_name="dispute_record")


def downgrade() -> None:
    op.create_index("ix_dispute_record_dispute_id", "dispute_record", ["dispute_id"])
    op.drop_index("ix_dispute_record_dispute", table_name="dispute_record")
    op.create_index("ix_audit_event_instance_id", "audit_event", ["instance_id"])
    op.drop_index("ix_audit_event_instance_seq", table_name="audit_event")
    op.create_index("ix_audit_event_entity", "audit_event", ["entity_type", "entity_id"])
    op.drop_index("ix_audit_event_entity_seq", table_name="audit_event")
