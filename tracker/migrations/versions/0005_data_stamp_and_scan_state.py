"""Data stamp (page caches) and scan state (incremental scans)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 22:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    stamps = op.create_table('data_stamps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_stamps'))
    )
    op.bulk_insert(stamps, [{'id': 1, 'version': 0}])
    op.create_table('scan_states',
    sa.Column('scan', sa.String(length=24), nullable=False),
    sa.Column('project_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('fingerprint', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('scan', 'project_id', name=op.f('pk_scan_states'))
    )


def downgrade() -> None:
    op.drop_table('scan_states')
    op.drop_table('data_stamps')
