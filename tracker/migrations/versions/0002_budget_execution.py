"""budget execution: budgets, month-end figures, alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 11:31:54.424741
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('budgets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('year_roc', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('original', sa.BigInteger(), nullable=False),
    sa.Column('supplementary', sa.BigInteger(), nullable=False),
    sa.Column('carried_over', sa.BigInteger(), nullable=False),
    sa.Column('is_synthetic', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('capital', 'current')", name=op.f('ck_budgets_kind')),
    sa.CheckConstraint('original >= 0 AND supplementary >= 0 AND carried_over >= 0', name=op.f('ck_budgets_amounts')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_budgets_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budgets')),
    sa.UniqueConstraint('project_id', 'year_roc', 'kind', 'is_synthetic', name='uq_budgets_project_year_kind')
    )
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.create_index('ix_budgets_year_kind', ['year_roc', 'kind', 'is_synthetic'], unique=False)

    op.create_table('month_end_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('year_roc', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('allocated', sa.BigInteger(), nullable=False),
    sa.Column('paid', sa.BigInteger(), nullable=False),
    sa.Column('payables', sa.BigInteger(), nullable=False),
    sa.Column('savings', sa.BigInteger(), nullable=False),
    sa.Column('is_synthetic', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('capital', 'current')", name=op.f('ck_month_end_figures_kind')),
    sa.CheckConstraint('allocated >= 0 AND paid >= 0 AND payables >= 0 AND savings >= 0', name=op.f('ck_month_end_figures_amounts')),
    sa.CheckConstraint('month BETWEEN 1 AND 12', name=op.f('ck_month_end_figures_month')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_month_end_figures_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_month_end_figures')),
    sa.UniqueConstraint('project_id', 'year_roc', 'kind', 'month', 'is_synthetic', name='uq_month_end_figures_key')
    )
    with op.batch_alter_table('month_end_figures', schema=None) as batch_op:
        batch_op.create_index('ix_month_end_year_kind_month', ['year_roc', 'kind', 'is_synthetic', 'month'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('severity', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=True),
    sa.Column('open_key', sa.String(length=64), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('is_synthetic', sa.Boolean(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledgement', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name=op.f('ck_alerts_status')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_alerts_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'], name=op.f('fk_alerts_milestone_id_milestones'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_alerts_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('open_key', name=op.f('uq_alerts_open_key'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_project', ['project_id'], unique=False)
        batch_op.create_index('ix_alerts_status_kind', ['status', 'kind'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_status_kind')
        batch_op.drop_index('ix_alerts_project')

    op.drop_table('alerts')
    with op.batch_alter_table('month_end_figures', schema=None) as batch_op:
        batch_op.drop_index('ix_month_end_year_kind_month')

    op.drop_table('month_end_figures')
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.drop_index('ix_budgets_year_kind')

    op.drop_table('budgets')
