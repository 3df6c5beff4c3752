"""Accounts an admin can manage: server-side sessions, token expiry, unlocks; job runs know who started them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('login_unlocked_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('api_tokens') as batch:
        batch.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('label', sa.String(length=64), nullable=True))
    with op.batch_alter_table('login_attempts') as batch:
        batch.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_login_attempts_user_id_users', 'users', ['user_id'], ['id'], ondelete='SET NULL')
        batch.create_index('ix_login_attempts_user_at', ['user_id', 'at'], unique=False)
    # Attempts already kept on names that are accounts count for those accounts.
    op.execute("UPDATE login_attempts SET user_id = (SELECT users.id FROM users WHERE users.name = login_attempts.username)")
    with op.batch_alter_table('job_runs') as batch:
        batch.add_column(sa.Column('started_by', sa.String(length=64), nullable=False, server_default='scheduler'))
        batch.add_column(sa.Column('host', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('pid', sa.Integer(), nullable=True))
    with op.batch_alter_table('job_runs') as batch:
        batch.alter_column('started_by', server_default=None)
    with op.batch_alter_table('audit_log') as batch:
        batch.create_index('ix_audit_log_user_at', ['user_id', 'at'], unique=False)
    op.create_table(
        'user_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sid_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('remote_addr', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_user_sessions_user_id_users', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_user_sessions'),
        sa.UniqueConstraint('sid_hash', name='uq_user_sessions_sid_hash'),
    )
    op.create_index('ix_user_sessions_user_id', 'user_sessions', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_user_sessions_user_id', table_name='user_sessions')
    op.drop_table('user_sessions')
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_index('ix_audit_log_user_at')
    with op.batch_alter_table('job_runs') as batch:
        batch.drop_column('pid')
        batch.drop_column('host')
        batch.drop_column('started_by')
    with op.batch_alter_table('login_attempts') as batch:
        batch.drop_index('ix_login_attempts_user_at')
        batch.drop_constraint('fk_login_attempts_user_id_users', type_='foreignkey')
        batch.drop_column('user_id')
    with op.batch_alter_table('api_tokens') as batch:
        batch.drop_column('label')
        batch.drop_column('expires_at')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('login_unlocked_at')
        batch.drop_column('disabled_at')
