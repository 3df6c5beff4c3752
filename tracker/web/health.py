"""`/healthz`: is the database reachable and its schema at the newest revision? For load balancers; no login."""
from __future__ import annotations

import functools
import logging

import sqlalchemy as sa
from flask import Blueprint, jsonify

from tracker import db, migrate

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _head() -> str:
    return migrate.head_revision()


@bp.route("/healthz")
def healthz():
    """200 with {"status": "ok"} when the database answers at the newest schema, else 503 saying which part failed."""
    head = _head()
    body = {"status": "ok", "database": "ok", "schema": {"current": None, "head": head}}
    try:
        engine = db.get_engine()
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            # Read the version table directly: Alembic's context would log two lines for every probe.
            if sa.inspect(connection).has_table("alembic_version"):
                body["schema"]["current"] = connection.execute(
                    sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.SQLAlchemyError as error:
        # Nothing about the database's address or credentials reaches an anonymous caller; the log has it.
        log.warning("health check: database unreachable: %s", str(getattr(error, "orig", error)).strip()[:300])
        body["status"], body["database"] = "fail", "unreachable"
    else:
        if body["schema"]["current"] != head:
            body["status"] = "fail"
            body["schema"]["problem"] = "not at the newest revision: run `tracker db upgrade`"
    response = jsonify(body)
    response.status_code = 200 if body["status"] == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response
