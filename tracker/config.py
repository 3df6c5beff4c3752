"""Configuration: defaults here, overridden by TRACKER_* environment variables."""
from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

#: Repository root (templates/, static/ and seeds/ live here).
ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict = {
    #: SQLAlchemy URL; when unset the embedded SQLite file instance/tracker.db is used.
    "DATABASE_URL": None,
    "SEED_PATH": str(ROOT / "seeds" / "projects_106.json"),
    #: The plan year the seed describes (ROC).
    "PLAN_YEAR_ROC": 106,
    # --- sessions and login ---
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    #: Set TRACKER_SECURE_COOKIES=1 behind HTTPS (production): cookies then never travel over plain HTTP.
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_NAME": "tracker_session",
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    #: Failed logins for one account (or one address) within the window before login is refused.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_WINDOW_SECONDS": 15 * 60,
    # --- pages ---
    "PAGE_SIZE": 100,
    "API_PAGE_SIZE": 100,
    "API_MAX_PAGE_SIZE": 500,
    # --- alert thresholds (DOMAIN.md); used by the budget and slippage issues ---
    "EXECUTION_TARGET_PCT": Decimal("90"),
    "LOW_EXECUTION_RATE_PCT": Decimal("80"),
    "LOW_EXECUTION_UNEXECUTED_THOUSANDS": Decimal("100000"),
    "LAG_POINTS_VERY_LARGE": Decimal("10"),
    "LAG_POINTS": Decimal("20"),
    "LAG_DAYS": 10,
    "PROGRESS_REPORT_DAY": 10,
    #: Run the scheduler's jobs inside `tracker serve` (embedded default); off in production.
    "RUN_SCHEDULER_IN_SERVER": True,
    #: The scheduler's clock: jobs run at Taipei times.
    "TIMEZONE": "Asia/Taipei",
    # --- back-loaded plans (國發會 early warning): this share of the planned progress in the last part of the plan ---
    "BACK_LOADED_TAIL": Decimal("0.25"),
    "BACK_LOADED_SHARE": Decimal("0.5"),
    #: A KPI missed by no more than this share of its target shows yellow rather than red.
    "KPI_NEAR_MISS_PCT": Decimal("5"),
    # --- e-mail (daily digest, reminders); off by default ---
    "MAIL_ENABLED": False,
    "MAIL_HOST": "localhost",
    "MAIL_PORT": 25,
    "MAIL_SENDER": "tracker@localhost",
    #: STARTTLS after connecting (MAIL_USE_TLS) or TLS from the start (MAIL_USE_SSL).
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    #: The tracker's address as users reach it, for links in e-mail.
    "BASE_URL": "http://127.0.0.1:5000",
}

_BOOL_KEYS = {"SESSION_COOKIE_SECURE": "SECURE_COOKIES", "RUN_SCHEDULER_IN_SERVER": "RUN_SCHEDULER_IN_SERVER",
              "MAIL_ENABLED": "MAIL_ENABLED", "MAIL_USE_TLS": "MAIL_USE_TLS", "MAIL_USE_SSL": "MAIL_USE_SSL"}
_TEXT_KEYS = ("TIMEZONE", "MAIL_HOST", "MAIL_SENDER", "MAIL_USERNAME", "MAIL_PASSWORD", "BASE_URL")


def _as_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(environ: dict | None = None) -> dict:
    """Defaults overridden by TRACKER_* variables (TRACKER_DATABASE_URL, TRACKER_SECRET_KEY, ...)."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    if environ.get("TRACKER_DATABASE_URL"):
        config["DATABASE_URL"] = environ["TRACKER_DATABASE_URL"]
    if environ.get("TRACKER_SECRET_KEY"):
        config["SECRET_KEY"] = environ["TRACKER_SECRET_KEY"]
    if environ.get("TRACKER_DATA_DIR"):
        config["DATA_DIR"] = environ["TRACKER_DATA_DIR"]
    if environ.get("TRACKER_SEED_PATH"):
        config["SEED_PATH"] = environ["TRACKER_SEED_PATH"]
    for key, env_name in _BOOL_KEYS.items():
        if environ.get("TRACKER_" + env_name):
            config[key] = _as_bool(environ["TRACKER_" + env_name])
    for key in _TEXT_KEYS:
        if environ.get("TRACKER_" + key):
            config[key] = environ["TRACKER_" + key]
    for key in ("LOGIN_MAX_FAILURES", "LOGIN_WINDOW_SECONDS", "LAG_DAYS", "PROGRESS_REPORT_DAY", "MAIL_PORT"):
        if environ.get("TRACKER_" + key):
            config[key] = int(environ["TRACKER_" + key])
    for key in ("EXECUTION_TARGET_PCT", "LOW_EXECUTION_RATE_PCT", "LOW_EXECUTION_UNEXECUTED_THOUSANDS",
                "LAG_POINTS_VERY_LARGE", "LAG_POINTS", "BACK_LOADED_TAIL", "BACK_LOADED_SHARE", "KPI_NEAR_MISS_PCT"):
        if environ.get("TRACKER_" + key):
            config[key] = Decimal(environ["TRACKER_" + key])
    return config
