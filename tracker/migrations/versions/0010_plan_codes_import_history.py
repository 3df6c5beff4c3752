"""Month-end figures that cannot land on the wrong programme: plan codes, the record of every import

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('projects') as batch:
        batch.add_column(sa.Column('code', sa.String(length=16), nullable=True))
        batch.create_index('ix_projects_code', ['code'], unique=False)
    # The plan's own numbers: a programme is its 序號 (48), a sub-plan its programme's and its own (49-3).
    op.execute("UPDATE projects SET code = CAST(seq AS VARCHAR(16)) WHERE parent_id IS NULL")
    op.execute("UPDATE projects SET code = (SELECT CAST(p.seq AS VARCHAR(16)) FROM projects p WHERE p.id = projects.parent_id)"
               " || '-' || REPLACE(COALESCE(sub_code, CAST(seq AS VARCHAR(16))), '計畫', '') WHERE parent_id IS NOT NULL")
    op.create_table(
        'ledger_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('created', sa.Integer(), nullable=False),
        sa.Column('replaced', sa.Integer(), nullable=False),
        sa.Column('unchanged', sa.Integer(), nullable=False),
        sa.Column('is_correction', sa.Boolean(), nullable=False),
        sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('undone_by', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ledger_imports_user_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_imports')),
        sa.CheckConstraint("kind IN ('budgets', 'month_end')", name=op.f('ck_ledger_imports_kind')),
    )
    op.create_index('ix_ledger_imports_at', 'ledger_imports', ['at'], unique=False)
    op.create_table(
        'ledger_import_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('import_id', sa.Integer(), nullable=False),
        sa.Column('table_name', sa.String(length=32), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=True),
        sa.Column('key', sa.JSON(), nullable=False),
        sa.Column('before', sa.JSON(), nullable=True),
        sa.Column('after', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['import_id'], ['ledger_imports.id'],
                                name=op.f('fk_ledger_import_changes_import_id_ledger_imports'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_import_changes')),
        sa.CheckConstraint("table_name IN ('budgets', 'month_end_figures')", name=op.f('ck_ledger_import_changes_table')),
    )
    op.create_index('ix_ledger_import_changes_import', 'ledger_import_changes', ['import_id'], unique=False)
    op.create_index('ix_ledger_import_changes_record', 'ledger_import_changes', ['table_name', 'record_id'], unique=False)
    op.create_table(
        'ledger_previews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ledger_previews_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_previews')),
        sa.UniqueConstraint('token', name=op.f('uq_ledger_previews_token')),
    )


def downgrade() -> None:
    op.drop_table('ledger_previews')
    op.drop_index('ix_ledger_import_changes_record', table_name='ledger_import_changes')
    op.drop_index('ix_ledger_import_changes_import', table_name='ledger_import_changes')
    op.drop_table('ledger_import_changes')
    op.drop_index('ix_ledger_imports_at', table_name='ledger_imports')
    op.drop_table('ledger_imports')
    with op.batch_alter_table('projects') as batch:
        batch.drop_index('ix_projects_code')
        batch.drop_column('code')
