"""New business systems (Art. 7, issue 14): a department's planned system, the data it will collect, and
its project approval (立项), which waits for a reviewed catalog listing that data.

Revision ID: 0037
Revises: 0034
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0037"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_system",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("authority_department_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("data_items", sa.JSON(), nullable=False),
        sa.Column("contact_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("contact_phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("approval_number", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("approval_date", sa.Date(), nullable=True),
        sa.Column("approving_body", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("catalog_version_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("withdrawn_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["authority_department_id"], ["department.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.ForeignKeyConstraint(["catalog_version_id"], ["catalog_version.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_business_system_department_id_id", "business_system", ["department_id", "id"])
    op.create_index("ix_business_system_authority_id", "business_system", ["authority_department_id", "id"])
    op.create_index("ix_business_system_status", "business_system", ["status"])
    op.create_index("ix_business_system_instance_id", "business_system", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_business_system_instance_id", table_name="business_system")
    op.drop_index("ix_business_system_status", table_name="business_system")
    op.drop_index("ix_business_system_authority_id", table_name="business_system")
    op.drop_index("ix_business_system_department_id_id", table_name="business_system")
    op.drop_table("business_system")
