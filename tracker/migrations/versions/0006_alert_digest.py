"""Alerts: a digest (rescans compare one short column) and a severity rank (the alerts page reads in index order)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 23:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

UNRESOLVED = sa.text("status != 'resolved'")


def upgrade() -> None:
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('digest', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('severity_rank', sa.SmallInteger(), nullable=False, server_default='0'))
    op.execute("UPDATE alerts SET severity_rank = CASE severity WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END")
    with op.batch_alter_table('alerts') as batch:
        batch.alter_column('severity_rank', server_default=None)
    op.create_index('ix_alerts_unresolved_order', 'alerts', ['severity_rank', 'opened_at', 'id'],
                    sqlite_where=UNRESOLVED, postgresql_where=UNRESOLVED)


def downgrade() -> None:
    op.drop_index('ix_alerts_unresolved_order', table_name='alerts')
    with op.batch_alter_table('alerts') as batch:
        batch.drop_column('severity_rank')
        batch.drop_column('digest')
