"""The portfolio over the years: plans, each year's entries of a programme, KPI targets by year, year close

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 15:00:00
"""
import re

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_SEED_KEY = re.compile(r"^(\d{1,3})-")


def _entry_year(seed_key, first_year, last_year) -> int:
    """The plan year a project was loaded from: its seed key's year (106-07), else its first year."""
    match = _SEED_KEY.match(seed_key or "")
    return int(match.group(1)) if match else first_year


def upgrade() -> None:
    op.create_table(
        'plans',
        sa.Column('year_roc', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('source_name', sa.String(length=255), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('goals', sa.JSON(), nullable=False),
        sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('loaded_by', sa.String(length=64), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_by', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('year_roc', name=op.f('pk_plans')),
    )
    op.create_table(
        'kpi_targets',
        sa.Column('kpi_id', sa.Integer(), nullable=False),
        sa.Column('year_roc', sa.Integer(), nullable=False),
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
        sa.CheckConstraint("direction IN ('at_least', 'at_most')", name=op.f('ck_kpi_targets_direction')),
        sa.ForeignKeyConstraint(['kpi_id'], ['kpis.id'], name=op.f('fk_kpi_targets_kpi_id_kpis'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['year_roc'], ['plans.year_roc'], name=op.f('fk_kpi_targets_year_roc_plans'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('kpi_id', 'year_roc', name=op.f('pk_kpi_targets')),
    )
    op.create_index('ix_kpi_targets_year_code', 'kpi_targets', ['year_roc', 'code'], unique=False)
    op.create_table(
        'plan_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('year_roc', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=16), nullable=True),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('name_as_written', sa.String(length=300), nullable=False),
        sa.Column('work_plan_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=8), nullable=False),
        sa.Column('phase_index', sa.Integer(), nullable=True),
        sa.Column('phase_total', sa.Integer(), nullable=True),
        sa.Column('sub_code', sa.String(length=16), nullable=True),
        sa.Column('agency', sa.String(length=100), nullable=True),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.CheckConstraint("(phase_index IS NULL AND phase_total IS NULL) OR (phase_index >= 1 AND phase_total >= phase_index)",
                           name=op.f('ck_plan_entries_phase')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_plan_entries_project_id_projects'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['work_plan_id'], ['work_plans.id'], name=op.f('fk_plan_entries_work_plan_id_work_plans'),
                                ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['year_roc'], ['plans.year_roc'], name=op.f('fk_plan_entries_year_roc_plans'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_entries')),
        sa.UniqueConstraint('project_id', 'year_roc', name='uq_plan_entries_project_year'),
    )
    op.create_index('ix_plan_entries_year_seq', 'plan_entries', ['year_roc', 'seq'], unique=False)
    op.create_table(
        'plan_entry_kpis',
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('kpi_id', sa.Integer(), nullable=False),
        sa.Column('written_name', sa.String(length=200), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['plan_entries.id'], name=op.f('fk_plan_entry_kpis_entry_id_plan_entries'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['kpi_id'], ['kpis.id'], name=op.f('fk_plan_entry_kpis_kpi_id_kpis'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('entry_id', 'kpi_id', name=op.f('pk_plan_entry_kpis')),
    )
    op.create_index(op.f('ix_plan_entry_kpis_kpi_id'), 'plan_entry_kpis', ['kpi_id'], unique=False)
    op.create_table(
        'plan_entry_milestones',
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('milestone_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['plan_entries.id'],
                                name=op.f('fk_plan_entry_milestones_entry_id_plan_entries'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'],
                                name=op.f('fk_plan_entry_milestones_milestone_id_milestones'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('entry_id', 'milestone_id', name=op.f('pk_plan_entry_milestones')),
    )
    op.create_index(op.f('ix_plan_entry_milestones_milestone_id'), 'plan_entry_milestones', ['milestone_id'], unique=False)
    op.create_table(
        'plan_previews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('year_roc', sa.Integer(), nullable=False),
        sa.Column('is_replace', sa.Boolean(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_plan_previews_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_previews')),
        sa.UniqueConstraint('token', name=op.f('uq_plan_previews_token')),
    )
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('resolved_reason', sa.String(length=40), nullable=True))
    _entries_from_projects()


def _entries_from_projects() -> None:
    """Each existing project becomes the entry of the plan year it was loaded from; each KPI that year's target."""
    bind = op.get_bind()
    projects = bind.execute(sa.text(
        "SELECT id, seed_key, first_year_roc, last_year_roc, parent_id, seq, code, name, name_as_written, work_plan_id,"
        " category, phase_index, phase_total, sub_code, agency, description, content FROM projects ORDER BY id")).mappings().all()
    if not projects:
        return
    by_id = {p["id"]: p for p in projects}
    year_of = {}
    for p in projects:
        top = by_id.get(p["parent_id"]) or p
        year_of[p["id"]] = _entry_year(top["seed_key"], top["first_year_roc"], top["last_year_roc"])
    for year in sorted(set(year_of.values())):
        bind.execute(sa.text("INSERT INTO plans (year_roc, title, source_name, goals, loaded_at, loaded_by)"
                             " VALUES (:y, :t, '', '[]', CURRENT_TIMESTAMP, 'migration')"),
                     {"y": year, "t": f"法務部 {year} 年度施政目標與重點"})
        bind.execute(sa.text(
            "INSERT INTO kpi_targets (kpi_id, year_roc, code, goal_no, goal, no, name, measure, target_value, target_text,"
            " unit, direction, evaluation_system, evaluation_method, related_plan_categories)"
            " SELECT id, :y, code, goal_no, goal, no, name, measure, target_value, target_text, unit, direction,"
            " evaluation_system, evaluation_method, related_plan_categories FROM kpis"), {"y": year})
    columns = ("project_id", "year_roc", "seq", "code", "name", "name_as_written", "work_plan_id", "category",
               "phase_index", "phase_total", "sub_code", "agency", "description", "content")
    insert = sa.text(f"INSERT INTO plan_entries ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})")
    for p in projects:
        bind.execute(insert, {**{c: p.get(c) for c in columns if c not in ("project_id", "year_roc")},
                              "project_id": p["id"], "year_roc": year_of[p["id"]],
                              "description": p["description"] or "", "content": p["content"] or ""})
    bind.execute(sa.text(
        "INSERT INTO plan_entry_kpis (entry_id, kpi_id, written_name, position)"
        " SELECT e.id, pk.kpi_id, pk.written_name, pk.position FROM project_kpis pk"
        " JOIN plan_entries e ON e.project_id = pk.project_id"))
    bind.execute(sa.text(
        "INSERT INTO plan_entry_milestones (entry_id, milestone_id, position)"
        " SELECT e.id, m.id, m.seq FROM milestones m JOIN plan_entries e ON e.project_id = m.project_id"))


def downgrade() -> None:
    # The projects still hold their latest entry's values, so dropping the per-year tables loses only the years
    # before it (a database with one plan year, as every database before this revision, loses nothing).
    with op.batch_alter_table('alerts') as batch:
        batch.drop_column('resolved_reason')
    op.drop_table('plan_previews')
    op.drop_index(op.f('ix_plan_entry_milestones_milestone_id'), table_name='plan_entry_milestones')
    op.drop_table('plan_entry_milestones')
    op.drop_index(op.f('ix_plan_entry_kpis_kpi_id'), table_name='plan_entry_kpis')
    op.drop_table('plan_entry_kpis')
    op.drop_index('ix_plan_entries_year_seq', table_name='plan_entries')
    op.drop_table('plan_entries')
    op.drop_index('ix_kpi_targets_year_code', table_name='kpi_targets')
    op.drop_table('kpi_targets')
    op.drop_table('plans')
