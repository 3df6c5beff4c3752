"""The application factory: wires configuration, storage, security and blueprints; nothing else."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from tracker import config as config_module
from tracker import db

csrf = CSRFProtect()


def _secret_key(instance: Path) -> str:
    """The key that signs sessions: from configuration, else a file made once in the instance folder."""
    path = instance / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        key = secrets.token_hex(32)
        handle.write(key)
    return key


def create_app(test_config: dict | None = None) -> Flask:
    """Build the tracker's Flask application."""
    settings = config_module.from_environment()
    if test_config:
        settings.update(test_config)
    instance = Path(settings.get("DATA_DIR") or config_module.ROOT / "instance").resolve()
    app = Flask(
        "tracker",
        instance_path=str(instance),
        template_folder=str(config_module.ROOT / "templates"),
        static_folder=str(config_module.ROOT / "static"),
    )
    app.config.update(settings)
    app.config.setdefault("MAX_CONTENT_LENGTH", 32 * 1024 * 1024)  # uploads: a year of month-end rows fits
    app.json.ensure_ascii = False  # Chinese stays readable in API responses
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = db.sqlite_url(instance / "tracker.db")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)

    db.init_app(app)
    csrf.init_app(app)

    from tracker.web import admin, api, auth, charts, errors, execution, filters, i18n, portfolio, progress, security

    filters.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(portfolio.bp)
    app.register_blueprint(execution.bp)
    app.register_blueprint(progress.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(charts.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
    return app
