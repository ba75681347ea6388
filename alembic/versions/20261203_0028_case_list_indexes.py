"""Case lists served from indexes in the order shown: the supervision queue by (office, state, due_at, id),
share requests, disputes and rectification notices by (each side's department, id).

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_supervision_item_office_state", table_name="supervision_item")
    op.create_index("ix_supervision_item_office_queue", "supervision_item",
                    ["office_department_id", "state", "due_at", "id"])
    op.create_index("ix_supervision_item_queue", "supervision_item", ["state", "due_at", "id"])
    op.drop_index("ix_share_request_requester_department_id", table_name="share_request")
    op.drop_index("ix_share_request_provider_department_id", table_name="share_request")
    op.create_index("ix_share_request_requester_id", "share_request", ["requester_department_id", "id"])
    op.create_index("ix_share_request_provider_id", "share_request", ["provider_department_id", "id"])
    for side in ("requester", "provider", "authority"):
        op.drop_index(f"ix_dispute_{side}_department_id", table_name="dispute")
        op.create_index(f"ix_dispute_{side}_id", "dispute", [f"{side}_department_id", "id"])
    op.drop_index("ix_rectification_notice_department_id", table_name="rectification_notice")
    op.drop_index("ix_rectification_notice_authority_department_id", table_name="rectification_notice")
    op.create_index("ix_rectification_notice_department_id_id", "rectification_notice", ["department_id", "id"])
    op.create_index("ix_rectification_notice_authority_id", "rectification_notice",
                    ["authority_department_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_rectification_notice_authority_id", table_name="rectification_notice")
    op.drop_index("ix_rectification_notice_department_id_id", table_name="rectification_notice")
    op.create_index("ix_rectification_notice_authority_department_id", "rectification_notice",
                    ["authority_department_id"])
    op.create_index("ix_rectification_notice_department_id", "rectification_notice", ["department_id"])
    for side in ("authority", "provider", "requester"):
        op.drop_index(f"ix_dispute_{side}_id", table_name="dispute")
        op.create_index(f"ix_dispute_{side}_department_id", "dispute", [f"{side}_department_id"])
    op.drop_index("ix_share_request_provider_id", table_name="share_request")
    op.drop_index("ix_share_request_requester_id", table_name="share_request")
    op.create_index("ix_share_request_provider_department_id", "share_request", ["provider_department_id"])
    op.create_index("ix_share_request_requester_department_id", "share_request", ["requester_department_id"])
    op.drop_index("ix_supervision_item_queue", table_name="supervision_item")
    op.drop_index("ix_supervision_item_office_queue", table_name="supervision_item")
    op.create_index("ix_supervision_item_office_state", "supervision_item", ["office_department_id", "state"])
