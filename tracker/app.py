"""The application factory: wires configuration, storage, security and blueprints; nothing else."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from tracker import config as config_module
from tracker import db, logs

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


def create_app(test_config: dict | None = None, process: str = "web") -> Flask:
    """Build the tracker's Flask application; ConfigError (naming the variable) for a wrong setting."""
    settings = config_module.from_environment()
    if test_config:
        settings.update(test_config)
    config_module.check_settings(settings)
    logs.configure(settings["LOG_LEVEL"], settings["LOG_FORMAT"], process)
    instance = Path(settings.get("DATA_DIR") or config_module.ROOT / "instance").resolve()
    app = Flask(
        "tracker",
        instance_path=str(instance),
        template_folder=str(config_module.ROOT / "templates"),
        static_folder=str(config_module.ROOT / "static"),
    )
    app.config.update(settings)
    if app.config["PROXIES"]:
        # Only as many X-Forwarded-* hops as there are trusted proxies: a client cannot forge its address.
        hops = app.config["PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)
    app.json.ensure_ascii = False  # Chinese stays readable in API responses
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = db.sqlite_url(instance / "tracker.db")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)

    db.init_app(app)
    csrf.init_app(app)

    from tracker.web import (accounts, admin, alerts, api, audit, auth, charts, errors, execution, filters, health,
                             i18n, kpis, ledger, params, portfolio, progress, projects, security)
    from tracker.web import attachments as attachment_files
    from tracker.web import completeness
    from tracker.web import dashboard
    from tracker.web import years as year_pages
    from tracker.web import plans as plan_pages

    # `<id:...>` in every URL: ASCII digits within the ids' range, anything else a 404 (never a database overflow).
    app.url_map.converters["id"] = params.IdConverter
    logs.init_app(app)  # first: every later hook and log line has the request id
    filters.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(portfolio.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(projects.bp)
    app.register_blueprint(kpis.bp)
    app.register_blueprint(execution.bp)
    app.register_blueprint(alerts.bp)
    app.register_blueprint(completeness.bp)
    app.register_blueprint(ledger.bp)
    app.register_blueprint(progress.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(charts.bp)
    app.register_blueprint(attachment_files.bp)
    app.register_blueprint(year_pages.bp)
    app.register_blueprint(plan_pages.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
    return app
