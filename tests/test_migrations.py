"""The schema comes from Alembic migrations, and they match the models."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tracker import db, migrate
from tracker.models import Base


def test_migrations_match_the_models(app):
    engine = db.get_engine(app)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_db_commands(app, runner):
    assert f"database: {migrate.head_revision()}" in runner.invoke(args=["db", "current"]).output
    result = runner.invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert set(sa.inspect(db.get_engine(app)).get_table_names()) <= {"alembic_version"}
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and f"revision {migrate.head_revision()}" in result.output
    assert "projects" in sa.inspect(db.get_engine(app)).get_table_names()


def test_sqlite_runs_in_wal_with_foreign_keys(app):
    engine = db.get_engine(app)
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
