"""initial schema: systems, work plans, projects, milestones, KPIs, users, audit

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 11:20:08.186093
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kpis',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('goal_no', sa.Integer(), nullable=False),
    sa.Column('goal', sa.String(length=200), nullable=False),
    sa.Column('no', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('measure', sa.Text(), nullable=False),
    sa.Column('target_value', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('target_text', sa.String(length=40), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('evaluation_system', sa.Integer(), nullable=True),
    sa.Column('evaluation_method', sa.String(length=40), nullable=True),
    sa.Column('related_plan_categories', sa.JSON(), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.CheckConstraint("direction IN ('at_least', 'at_most')", name=op.f('ck_kpis_direction')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpis')),
    sa.UniqueConstraint('code', name=op.f('uq_kpis_code')),
    sa.UniqueConstraint('name', name=op.f('uq_kpis_name'))
    )
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_remote_addr_at', ['remote_addr', 'at'], unique=False)
        batch_op.create_index('ix_login_attempts_username_at', ['username', 'at'], unique=False)

    op.create_table('systems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_systems')),
    sa.UniqueConstraint('code', name=op.f('uq_systems_code')),
    sa.UniqueConstraint('name', name=op.f('uq_systems_name'))
    )
    op.create_table('work_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_plans')),
    sa.UniqueConstraint('name', name=op.f('uq_work_plans_name'))
    )
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seed_key', sa.String(length=40), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_as_written', sa.String(length=300), nullable=False),
    sa.Column('work_plan_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=8), nullable=False),
    sa.Column('phase_index', sa.Integer(), nullable=True),
    sa.Column('phase_total', sa.Integer(), nullable=True),
    sa.Column('first_year_roc', sa.Integer(), nullable=False),
    sa.Column('last_year_roc', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('sub_code', sa.String(length=16), nullable=True),
    sa.Column('agency', sa.String(length=100), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('is_very_large', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("category IN ('公共建設', '科技發展', '社會發展', '其它')", name=op.f('ck_projects_category')),
    sa.CheckConstraint('(phase_index IS NULL AND phase_total IS NULL) OR (phase_index >= 1 AND phase_total >= phase_index)', name=op.f('ck_projects_phase')),
    sa.CheckConstraint('first_year_roc <= last_year_roc', name=op.f('ck_projects_years')),
    sa.ForeignKeyConstraint(['parent_id'], ['projects.id'], name=op.f('fk_projects_parent_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['work_plan_id'], ['work_plans.id'], name=op.f('fk_projects_work_plan_id_work_plans'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('seed_key', name=op.f('uq_projects_seed_key'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_first_year_roc'), ['first_year_roc'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_last_year_roc'), ['last_year_roc'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_name'), ['name'], unique=False)
        batch_op.create_index('ix_projects_parent_seq', ['parent_id', 'seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_work_plan_id'), ['work_plan_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('session_epoch', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('project_manager', 'budget_officer', 'leadership', 'admin')", name=op.f('ck_users_role')),
    sa.ForeignKeyConstraint(['system_id'], ['systems.id'], name=op.f('fk_users_system_id_systems'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity_type', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_log_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_log_entity', ['entity_type', 'entity_id'], unique=False)

    op.create_table('milestones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('source_text', sa.Text(), nullable=False),
    sa.Column('planned_start_on', sa.Date(), nullable=False),
    sa.Column('planned_finish_on', sa.Date(), nullable=False),
    sa.Column('baseline_start_on', sa.Date(), nullable=False),
    sa.Column('baseline_finish_on', sa.Date(), nullable=False),
    sa.Column('actual_start_on', sa.Date(), nullable=True),
    sa.Column('actual_finish_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('percent_complete', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('not_started', 'in_progress', 'done', 'on_hold', 'cancelled')", name=op.f('ck_milestones_status')),
    sa.CheckConstraint('baseline_finish_on >= baseline_start_on', name=op.f('ck_milestones_baseline_span')),
    sa.CheckConstraint('percent_complete >= 0 AND percent_complete <= 100', name=op.f('ck_milestones_percent')),
    sa.CheckConstraint('planned_finish_on >= planned_start_on', name=op.f('ck_milestones_planned_span')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_milestones_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_milestones')),
    sa.UniqueConstraint('project_id', 'seq', name='uq_milestones_project_seq')
    )
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.create_index('ix_milestones_planned_finish', ['planned_finish_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_milestones_status'), ['status'], unique=False)

    op.create_table('project_kpis',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('kpi_id', sa.Integer(), nullable=False),
    sa.Column('written_name', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['kpi_id'], ['kpis.id'], name=op.f('fk_project_kpis_kpi_id_kpis'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_kpis_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'kpi_id', name=op.f('pk_project_kpis'))
    )
    with op.batch_alter_table('project_kpis', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_kpis_kpi_id'), ['kpi_id'], unique=False)

    op.create_table('project_systems',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_systems_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['system_id'], ['systems.id'], name=op.f('fk_project_systems_system_id_systems'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('project_id', 'system_id', name=op.f('pk_project_systems'))
    )
    with op.batch_alter_table('project_systems', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_systems_system_id'), ['system_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('project_systems', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_systems_system_id'))

    op.drop_table('project_systems')
    with op.batch_alter_table('project_kpis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_kpis_kpi_id'))

    op.drop_table('project_kpis')
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_milestones_status'))
        batch_op.drop_index('ix_milestones_planned_finish')

    op.drop_table('milestones')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_entity')
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))

    op.drop_table('audit_log')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('users')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_work_plan_id'))
        batch_op.drop_index('ix_projects_parent_seq')
        batch_op.drop_index(batch_op.f('ix_projects_name'))
        batch_op.drop_index(batch_op.f('ix_projects_last_year_roc'))
        batch_op.drop_index(batch_op.f('ix_projects_first_year_roc'))
        batch_op.drop_index(batch_op.f('ix_projects_category'))

    op.drop_table('projects')
    op.drop_table('work_plans')
    op.drop_table('systems')
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_username_at')
        batch_op.drop_index('ix_login_attempts_remote_addr_at')

    op.drop_table('login_attempts')
    op.drop_table('kpis')
