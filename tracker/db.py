"""Engine and sessions: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL (psycopg 3)."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app, g

from tracker.services import datastamp, scanstate

#: How long a SQLite writer waits for another writer before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str) -> str:
    """Use psycopg 3 for a plain postgresql:// URL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


def make_engine(url: str, **kwargs) -> sa.Engine:
    """An engine for the URL; SQLite connections get WAL, foreign keys and a busy timeout."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # the scans' fingerprints hash rows in SQL; PostgreSQL has md5, SQLite gets the same function here
            dbapi_connection.create_function(scanstate.SQLITE_ROW_HASH, 1, scanstate.sqlite_row_hash,
                                             deterministic=True)

        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def make_sessionmaker(engine: sa.Engine) -> so.sessionmaker:
    """The session factory every writer uses: its sessions move the data stamp when they commit a change."""
    return datastamp.install(so.sessionmaker(bind=engine, expire_on_commit=False))


def init_app(app: Flask) -> None:
    """Create the app's engine and session factory, and close the request session at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["tracker.engine"] = engine
    app.extensions["tracker.sessionmaker"] = make_sessionmaker(engine)
    app.teardown_appcontext(_close_session)


def get_engine(app: Flask | None = None) -> sa.Engine:
    """The app's engine."""
    return (app or current_app).extensions["tracker.engine"]


def new_session(app: Flask | None = None) -> so.Session:
    """A new session outside a request (CLI, scheduler)."""
    return (app or current_app).extensions["tracker.sessionmaker"]()


def get_session() -> so.Session:
    """The session of the current request, opened on first use."""
    if "db_session" not in g:
        g.db_session = new_session()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
