"""catalog versions and their review, catalog update duty (Art. 8, 9)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 21:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import app.core.types
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('draft', 'under_review', 'returned')"


def upgrade() -> None:
    op.create_table('catalog_update_trigger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('document_number', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('document_date', sa.Date(), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('catalog_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('base_version_id', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('authority_department_id', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('review_round', sa.Integer(), nullable=False),
    sa.Column('review_comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('snapshot', sa.JSON(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', app.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_at', app.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['authority_department_id'], ['department.id'], ),
    sa.ForeignKeyConstraint(['base_version_id'], ['catalog_version.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], ),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('department_id', 'number')
    )
    op.create_index(op.f('ix_catalog_version_department_id'), 'catalog_version', ['department_id'], unique=False)
    op.create_index(op.f('ix_catalog_version_instance_id'), 'catalog_version', ['instance_id'], unique=False)
    op.create_index(op.f('ix_catalog_version_status'), 'catalog_version', ['status'], unique=False)
    # One version in the works per department at a time.
    op.create_index('uq_catalog_version_open', 'catalog_version', ['department_id'], unique=True,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_table('catalog_update_duty',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trigger_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fulfilled_at', app.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('fulfilled_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], ),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.ForeignKeyConstraint(['trigger_id'], ['catalog_update_trigger.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['catalog_version.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('trigger_id', 'department_id')
    )
    op.create_index(op.f('ix_catalog_update_duty_department_id'), 'catalog_update_duty', ['department_id'], unique=False)
    op.create_index(op.f('ix_catalog_update_duty_instance_id'), 'catalog_update_duty', ['instance_id'], unique=False)
    op.create_index(op.f('ix_catalog_update_duty_status'), 'catalog_update_duty', ['status'], unique=False)
    op.create_index(op.f('ix_catalog_update_duty_trigger_id'), 'catalog_update_duty', ['trigger_id'], unique=False)
    op.create_table('catalog_version_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('change', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('base', sa.JSON(), nullable=True),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('decided_round', sa.Integer(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('decided_at', app.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['catalog_entry.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['catalog_version.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version_id', 'code')
    )
    op.create_index(op.f('ix_catalog_version_entry_code'), 'catalog_version_entry', ['code'], unique=False)
    op.create_index(op.f('ix_catalog_version_entry_version_id'), 'catalog_version_entry', ['version_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_catalog_version_entry_version_id'), table_name='catalog_version_entry')
    op.drop_index(op.f('ix_catalog_version_entry_code'), table_name='catalog_version_entry')
    op.drop_table('catalog_version_entry')
    op.drop_index(op.f('ix_catalog_update_duty_trigger_id'), table_name='catalog_update_duty')
    op.drop_index(op.f('ix_catalog_update_duty_status'), table_name='catalog_update_duty')
    op.drop_index(op.f('ix_catalog_update_duty_instance_id'), table_name='catalog_update_duty')
    op.drop_index(op.f('ix_catalog_update_duty_department_id'), table_name='catalog_update_duty')
    op.drop_table('catalog_update_duty')
    op.drop_index('uq_catalog_version_open', table_name='catalog_version',
                  sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.drop_index(op.f('ix_catalog_version_status'), table_name='catalog_version')
    op.drop_index(op.f('ix_catalog_version_instance_id'), table_name='catalog_version')
    op.drop_index(op.f('ix_catalog_version_department_id'), table_name='catalog_version')
    op.drop_table('catalog_version')
    op.drop_table('catalog_update_trigger')
