"""Configuration in one schema: every setting has a type, a default and a TRACKER_* environment variable.

`from_environment()` reads the environment once and refuses, naming the variable, an unknown TRACKER_* variable
or a value of the wrong type; `check_production()` refuses a production start without a shared secret key.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Repository root (templates/, static/ and seeds/ live here).
ROOT = Path(__file__).resolve().parent.parent

#: TRACKER_* variables that are no setting of the application but are read by its test harness.
HARNESS_VARIABLES = {
    "TRACKER_TEST_DATABASE_URL": "the PostgreSQL database the test suite uses (tests only)",
    "TRACKER_REQUIRE_BROWSER": "fail, rather than skip, the browser tests when Chromium is missing (tests only)",
}
PREFIX = "TRACKER_"


class ConfigError(ValueError):
    """One or more settings are wrong; the message names every variable at fault."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("configuration refused:\n  " + "\n  ".join(problems))


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(text: str) -> bool:
    """1/true/yes/on or 0/false/no/off, in any case; anything else is refused."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("expected one of 1, true, yes, on, 0, false, no, off")


def _parse_int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError("expected a whole number") from None


def _parse_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError("expected a number such as 90 or 0.25") from None
    if not value.is_finite():
        raise ValueError("expected a finite number")
    return value


def _parse_text(text: str) -> str:
    return text


def _parse_timezone(text: str) -> str:
    try:
        ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone such as Asia/Taipei") from None
    return text.strip()


@dataclass(frozen=True)
class Setting:
    """One setting: the Flask config key, its type, default, environment variable and meaning."""

    key: str
    kind: str  # text, int, decimal, bool, choice, timezone
    default: Any
    help: str
    env_name: str | None = None  #: the variable's name after TRACKER_ when it differs from the key
    secret: bool = False
    minimum: int | Decimal | None = None
    maximum: int | Decimal | None = None
    choices: tuple[str, ...] = ()
    min_length: int = 0

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return PREFIX + (self.env_name or self.key)

    def parse(self, text: str) -> Any:
        """The typed value of an environment string; ValueError saying what was expected."""
        parsers: dict[str, Callable[[str], Any]] = {
            "text": _parse_text, "int": _parse_int, "decimal": _parse_decimal, "bool": parse_bool,
            "timezone": _parse_timezone, "choice": lambda t: t.strip().lower(),
        }
        value = parsers[self.kind](text)
        if self.kind == "choice" and value not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}")
        if self.kind == "text" and self.default is not None and not value.strip():
            raise ValueError("must not be empty")
        if len(str(value)) < self.min_length:
            raise ValueError(f"too short: use at least {self.min_length} random characters")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {self.maximum}")
        return value


def _s(key, kind, default, help, **kw) -> Setting:  # noqa: A002 - the schema reads best with a short builder
    return Setting(key, kind, default, help, **kw)


D = Decimal
SCHEMA: tuple[Setting, ...] = (
    # --- storage and start-up ---
    _s("ENV", "choice", "development", "development or production; production refuses to start without "
       "TRACKER_SECRET_KEY", choices=("development", "production")),
    _s("DATABASE_URL", "text", None, "SQLAlchemy URL, e.g. postgresql://user@host/db; unset: the SQLite file "
       "instance/tracker.db", secret=True),
    _s("DATA_DIR", "text", None, "where the SQLite file and the development session key live (default instance/)"),
    _s("SECRET_KEY", "text", None, "signs sessions; the same long random value on every web server "
       "(required in production)", secret=True, min_length=32),
    _s("SEED_PATH", "text", str(ROOT / "seeds" / "projects_106.json"), "the plan file to load into an empty database"),
    _s("PLAN_YEAR_ROC", "int", 106, "the plan year the seed describes (ROC)", minimum=1, maximum=300),
    _s("RUN_SCHEDULER_IN_SERVER", "bool", True, "run the scheduled jobs inside `tracker serve`; 0 in production, "
       "where one `tracker scheduler` process runs them"),
    _s("TIMEZONE", "timezone", "Asia/Taipei", "the scheduler's clock and the times pages show"),
    # --- running behind a proxy, logs ---
    _s("PROXIES", "int", 0, "trusted reverse proxies in front of the web servers (werkzeug ProxyFix); 0 ignores "
       "X-Forwarded-* headers", minimum=0, maximum=5),
    _s("LOG_LEVEL", "choice", "info", "debug, info, warning or error",
       choices=("debug", "info", "warning", "error")),
    _s("LOG_FORMAT", "choice", "text", "text (one readable line) or json (one object a line)",
       choices=("text", "json")),
    _s("MAX_CONTENT_LENGTH", "int", 32 * 1024 * 1024, "the largest request body (an upload) in bytes",
       env_name="MAX_UPLOAD_BYTES", minimum=1024),
    _s("ATTACHMENT_MAX_BYTES", "int", 10 * 1024 * 1024, "the largest photo or document (JPEG, PNG, PDF) on a "
       "monthly report, in bytes", minimum=1024),
    _s("ATTACHMENT_REPORT_MAX_BYTES", "int", 30 * 1024 * 1024, "the most a month's report may hold in attachments "
       "together, in bytes (below TRACKER_MAX_UPLOAD_BYTES, so one upload of them all is admitted)", minimum=1024),
    # --- ledger files (budgets and month-end figures): read within these bounds, else refused ---
    _s("PLAN_MAX_MB", "int", 5, "the largest plan text (施政計畫) the plan import reads, in MB", minimum=1, maximum=100),
    _s("LEDGER_MAX_ROWS", "int", 50_000, "the most rows a ledger file may have below its header row (blank rows "
       "included); reading stops at the first row past it", minimum=1),
    _s("LEDGER_MAX_COLUMNS", "int", 50, "the most columns a row of a ledger file may have (up to its last "
       "non-blank cell)", minimum=1),
    _s("LEDGER_XLSX_MAX_INFLATED_BYTES", "int", 100 * 1024 * 1024, "the most the parts of a ledger XLSX may hold "
       "together once inflated, in bytes; checked on the zip directory before the file is parsed", minimum=1024),
    _s("LEDGER_XLSX_MAX_RATIO", "int", 100, "the highest compression ratio (inflated / compressed) a part of a "
       "ledger XLSX of 1 MiB or more may have; above it the file is refused as a decompression bomb", minimum=1),
    _s("LEDGER_XLSX_MAX_PARTS", "int", 1000, "the most parts (zip entries) a ledger XLSX may have", minimum=1),
    _s("LEDGER_XLSX_MAX_SHARED_STRINGS", "int", 200_000, "the most entries the shared strings table of a ledger "
       "XLSX may have (openpyxl keeps them all in memory)", minimum=1),
    # --- sessions and login ---
    _s("SESSION_COOKIE_SECURE", "bool", False, "cookies only over HTTPS, and Strict-Transport-Security; "
       "on behind HTTPS", env_name="SECURE_COOKIES"),
    _s("HSTS_SECONDS", "int", 365 * 24 * 3600, "max-age of Strict-Transport-Security (sent with secure cookies)",
       minimum=0),
    _s("SESSION_COOKIE_NAME", "text", "tracker_session", "the session cookie's name"),
    _s("PERMANENT_SESSION_LIFETIME", "int", 2 * 3600, "idle lifetime of a session in seconds (each request "
       "slides it)", minimum=60),
    _s("SESSION_ABSOLUTE_LIFETIME", "int", 10 * 3600, "a session ends this many seconds after its login, however "
       "busy", minimum=60),
    _s("WTF_CSRF_TIME_LIMIT", "int", 8 * 3600, "how long a form's CSRF token is valid, in seconds", minimum=60),
    _s("LOGIN_MAX_FAILURES", "int", 5, "failures for one account before each further attempt from a failing "
       "address waits", minimum=1),
    _s("LOGIN_ADDRESS_MAX_FAILURES", "int", 20, "failures on existing accounts from one address before each "
       "further attempt from it waits", minimum=1),
    _s("LOGIN_WINDOW_SECONDS", "int", 15 * 60, "failures older than this are forgotten by the throttle", minimum=60),
    _s("LOGIN_DELAY_BASE_SECONDS", "int", 2, "the first wait; it doubles with each further failure", minimum=1),
    _s("LOGIN_DELAY_MAX_SECONDS", "int", 300, "the longest wait between attempts", minimum=1),
    _s("API_TOKEN_LIFETIME_DAYS", "int", 90, "API tokens stop working this many days after they are issued",
       minimum=1, maximum=3650),
    # --- retention (the monthly prune job); the audit log is kept without limit ---
    _s("LOGIN_ATTEMPT_RETENTION_DAYS", "int", 90, "login attempts older than this are deleted", minimum=1),
    _s("JOB_RUN_RETENTION_DAYS", "int", 400, "job runs older than this are deleted", minimum=1),
    _s("SESSION_RETENTION_DAYS", "int", 30, "ended or expired sessions older than this are deleted", minimum=1),
    # --- pages ---
    _s("PAGE_SIZE", "int", 100, "rows a page lists", minimum=1, maximum=1000),
    _s("API_PAGE_SIZE", "int", 100, "API rows a page by default", minimum=1, maximum=10000),
    _s("API_MAX_PAGE_SIZE", "int", 500, "the most API rows a page may ask for", minimum=1, maximum=10000),
    # --- alert thresholds (DOMAIN.md) ---
    _s("EXECUTION_TARGET_PCT", "decimal", D("90"), "KPI 九-1 target: capital execution rate (%)",
       minimum=D(0), maximum=D(100)),
    _s("LOW_EXECUTION_RATE_PCT", "decimal", D("80"), "LOW_EXECUTION: 分配預算執行率 below this (%)",
       minimum=D(0), maximum=D(100)),
    _s("LOW_EXECUTION_UNEXECUTED_THOUSANDS", "decimal", D("100000"), "LOW_EXECUTION: and 已分配未執行數 above this "
       "(千元)", minimum=D(0)),
    _s("LAG_POINTS_VERY_LARGE", "decimal", D("10"), "LAGGING on a 巨額 project: points behind", minimum=D(0)),
    _s("LAG_POINTS", "decimal", D("20"), "LAGGING: points behind", minimum=D(0)),
    _s("LAG_DAYS", "int", 10, "LAGGING: and days behind", minimum=0),
    _s("PROGRESS_REPORT_DAY", "int", 10, "last month's progress is due by this day", minimum=1, maximum=28),
    _s("BACK_LOADED_TAIL", "decimal", D("0.25"), "BACK_LOADED: the last part of the plan (a share)",
       minimum=D(0), maximum=D(1)),
    _s("BACK_LOADED_SHARE", "decimal", D("0.5"), "BACK_LOADED: this share of planned progress in that part",
       minimum=D(0), maximum=D(1)),
    _s("KPI_NEAR_MISS_PCT", "decimal", D("5"), "a KPI missed by no more than this share of its target is yellow",
       minimum=D(0), maximum=D(100)),
    _s("LEDGER_EXECUTED_OVER_ALLOCATED_WARN_PCT", "decimal", D("0"), "month-end import: warn when a row's 執行數 "
       "(實支＋應付未付＋賸餘) exceeds its 累計分配數 by more than this (% of 分配數; 0 warns at any excess)",
       minimum=D(0), maximum=D(1000)),
    _s("LEDGER_PREVIEW_MINUTES", "int", 60, "an upload's preview waits this long for its confirmation",
       minimum=1, maximum=24 * 60),
    # --- e-mail (daily digest, reminders); off by default ---
    _s("MAIL_ENABLED", "bool", False, "send e-mail"),
    _s("MAIL_HOST", "text", "localhost", "SMTP server"),
    _s("MAIL_PORT", "int", 25, "SMTP port", minimum=1, maximum=65535),
    _s("MAIL_SENDER", "text", "tracker@localhost", "the From address"),
    _s("MAIL_USE_TLS", "bool", False, "STARTTLS after connecting"),
    _s("MAIL_USE_SSL", "bool", False, "TLS from the start"),
    _s("MAIL_USERNAME", "text", None, "SMTP login"),
    _s("MAIL_PASSWORD", "text", None, "SMTP password", secret=True),
    _s("MAIL_TIMEOUT", "int", 10, "seconds to wait for the SMTP server", minimum=1, maximum=600),
    _s("BASE_URL", "text", "http://127.0.0.1:5000", "the tracker's address as users reach it, for links in e-mail"),
)
BY_KEY = {setting.key: setting for setting in SCHEMA}
BY_ENV = {setting.env: setting for setting in SCHEMA}

#: Fixed Flask settings: security invariants, not choices.
FIXED = {"SESSION_COOKIE_HTTPONLY": True, "SESSION_COOKIE_SAMESITE": "Lax"}

#: The defaults, by key (what `create_app` starts from before the environment).
DEFAULTS: dict[str, Any] = {**FIXED, **{setting.key: setting.default for setting in SCHEMA}}


def from_environment(environ: dict | None = None) -> dict:
    """The defaults overridden by TRACKER_* variables; ConfigError naming every unknown variable or bad value."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    problems = []
    for name in sorted(environ):
        if not name.startswith(PREFIX) or name in HARNESS_VARIABLES:
            continue
        setting = BY_ENV.get(name)
        if setting is None:
            close = difflib.get_close_matches(name, list(BY_ENV), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(f"{name}: unknown setting{hint} (`tracker config show` lists them)")
            continue
        text = environ[name]
        if text == "" and setting.default is None:
            continue  # an empty optional setting is the same as an unset one
        try:
            config[setting.key] = setting.parse(text)
        except ValueError as error:
            problems.append(f"{name}={text!r}: {error}")
    if problems:
        raise ConfigError(problems)
    return config


#: Room in an upload for the form's own fields and the multipart boundaries around the files.
_UPLOAD_OVERHEAD = 1024 * 1024


def check_settings(config: dict) -> None:
    """Refuse settings that are wrong together, and a production start without a shared secret key."""
    problems = []
    production = config.get("ENV") == "production" or not config.get("RUN_SCHEDULER_IN_SERVER", True)
    if production and not config.get("SECRET_KEY"):
        problems.append("TRACKER_SECRET_KEY: required in production (TRACKER_ENV=production or "
                        "TRACKER_RUN_SCHEDULER_IN_SERVER=0), the same long random value on every web server; "
                        "without it each server would sign sessions with a key of its own")
    if config.get("MAIL_USE_TLS") and config.get("MAIL_USE_SSL"):
        problems.append("TRACKER_MAIL_USE_TLS and TRACKER_MAIL_USE_SSL: choose one")
    if config.get("API_PAGE_SIZE", 0) > config.get("API_MAX_PAGE_SIZE", 0):
        problems.append("TRACKER_API_PAGE_SIZE: larger than TRACKER_API_MAX_PAGE_SIZE")
    if config.get("ATTACHMENT_MAX_BYTES", 0) > config.get("ATTACHMENT_REPORT_MAX_BYTES", 0):
        problems.append("TRACKER_ATTACHMENT_MAX_BYTES: larger than TRACKER_ATTACHMENT_REPORT_MAX_BYTES")
    if config.get("ATTACHMENT_REPORT_MAX_BYTES", 0) + _UPLOAD_OVERHEAD > config.get("MAX_CONTENT_LENGTH", 0):
        problems.append("TRACKER_ATTACHMENT_REPORT_MAX_BYTES: a report's attachments would not fit in one upload; "
                        "raise TRACKER_MAX_UPLOAD_BYTES to at least that plus 1 MiB")
    if config.get("LOGIN_DELAY_BASE_SECONDS", 0) > config.get("LOGIN_DELAY_MAX_SECONDS", 0):
        problems.append("TRACKER_LOGIN_DELAY_BASE_SECONDS: larger than TRACKER_LOGIN_DELAY_MAX_SECONDS")
    if problems:
        raise ConfigError(problems)


def _masked_url(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparseable URL is shown as hidden rather than leaked
        return "(set, hidden)"


def describe(config: dict, environ: dict | None = None) -> list[dict]:
    """Every setting as `tracker config show` prints it: variable, effective value (secrets masked), source."""
    environ = os.environ if environ is None else environ
    rows = []
    for setting in SCHEMA:
        value = config.get(setting.key, setting.default)
        if setting.key == "DATABASE_URL" and value:
            shown = _masked_url(str(value))
        elif setting.secret and value:
            shown = "(set, hidden)"
        elif value is None:
            shown = "(unset)"
        elif isinstance(value, bool):
            shown = "1" if value else "0"
        else:
            shown = str(value)
        source = "environment" if environ.get(setting.env, "") != "" else "default"
        if source == "default" and value != setting.default:
            source = "derived"
        rows.append({"env": setting.env, "key": setting.key, "value": shown, "source": source, "help": setting.help})
    return rows
