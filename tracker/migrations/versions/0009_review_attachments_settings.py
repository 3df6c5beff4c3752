"""The month closes in the tracker: reviewed reports, report attachments, the reporting date

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('project_manager', 'budget_officer', 'leadership', 'admin')"
NEW_ROLES = "role IN ('project_manager', 'budget_officer', 'leadership', 'admin', 'reviewer')"


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint(op.f('ck_users_role'), type_='check')
        batch.create_check_constraint(op.f('ck_users_role'), NEW_ROLES)
    with op.batch_alter_table('progress_reports') as batch:
        # Reports sent before review existed wait for a reviewer like any other.
        batch.add_column(sa.Column('state', sa.String(length=12), nullable=False, server_default='submitted'))
        batch.add_column(sa.Column('correction_reason', sa.Text(), nullable=True))
        batch.add_column(sa.Column('reviewer_comment', sa.Text(), nullable=True))
        batch.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f('fk_progress_reports_reviewed_by_id_users'), 'users', ['reviewed_by_id'], ['id'],
                                 ondelete='SET NULL')
        batch.create_check_constraint(op.f('ck_progress_reports_state'), "state IN ('submitted', 'returned', 'approved')")
        batch.alter_column('planned_percent', existing_type=sa.Numeric(5, 2), nullable=True)
        batch.create_index('ix_progress_reports_state', ['state', 'year_roc', 'month'], unique=False)
    with op.batch_alter_table('progress_reports') as batch:
        batch.alter_column('state', server_default=None)
    op.create_table(
        'report_attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('year_roc', sa.Integer(), nullable=False),
        sa.Column('month', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('thumbnail', sa.LargeBinary(), nullable=True),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name='fk_report_attachments_project_id_projects',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name='fk_report_attachments_uploaded_by_id_users',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_report_attachments'),
        sa.CheckConstraint('month BETWEEN 1 AND 12', name=op.f('ck_report_attachments_month')),
    )
    op.create_index('ix_report_attachments_month', 'report_attachments', ['project_id', 'year_roc', 'month'],
                    unique=False)
    op.create_table(
        'site_settings',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('key', name='pk_site_settings'),
    )


def downgrade() -> None:
    op.drop_table('site_settings')
    op.drop_index('ix_report_attachments_month', table_name='report_attachments')
    op.drop_table('report_attachments')
    # Reports with no planned percent (a programme without a plan to read it from) get 0 back.
    op.execute("UPDATE progress_reports SET planned_percent = 0 WHERE planned_percent IS NULL")
    with op.batch_alter_table('progress_reports') as batch:
        batch.drop_index('ix_progress_reports_state')
        batch.alter_column('planned_percent', existing_type=sa.Numeric(5, 2), nullable=False)
        batch.drop_constraint(op.f('ck_progress_reports_state'), type_='check')
        batch.drop_constraint(op.f('fk_progress_reports_reviewed_by_id_users'), type_='foreignkey')
        batch.drop_column('reviewed_at')
        batch.drop_column('reviewed_by_id')
        batch.drop_column('reviewer_comment')
        batch.drop_column('correction_reason')
        batch.drop_column('state')
    # A reviewer cannot exist in the older schema: such accounts become read-only leadership accounts.
    op.execute("UPDATE users SET role = 'leadership' WHERE role = 'reviewer'")
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint(op.f('ck_users_role'), type_='check')
        batch.create_check_constraint(op.f('ck_users_role'), OLD_ROLES)
