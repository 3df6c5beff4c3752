"""Configuration in one schema: every setting from the environment, mistakes refused with the variable's name."""
from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal

import pytest

from tracker import config
from tracker.app import create_app

#: The settings the README promised from the environment but that could not be set before.
ONCE_UNSETTABLE = {
    "TRACKER_PAGE_SIZE": ("PAGE_SIZE", "25", 25),
    "TRACKER_API_PAGE_SIZE": ("API_PAGE_SIZE", "50", 50),
    "TRACKER_API_MAX_PAGE_SIZE": ("API_MAX_PAGE_SIZE", "200", 200),
    "TRACKER_PLAN_YEAR_ROC": ("PLAN_YEAR_ROC", "107", 107),
    "TRACKER_PERMANENT_SESSION_LIFETIME": ("PERMANENT_SESSION_LIFETIME", "1800", 1800),
    "TRACKER_WTF_CSRF_TIME_LIMIT": ("WTF_CSRF_TIME_LIMIT", "3600", 3600),
    "TRACKER_SESSION_COOKIE_NAME": ("SESSION_COOKIE_NAME", "moj_tracker", "moj_tracker"),
    "TRACKER_MAIL_TIMEOUT": ("MAIL_TIMEOUT", "30", 30),
}


def test_every_setting_can_be_set_from_the_environment():
    environ = {name: text for name, (_key, text, _value) in ONCE_UNSETTABLE.items()}
    settings = config.from_environment(environ)
    for name, (key, _text, value) in ONCE_UNSETTABLE.items():
        assert settings[key] == value, name
    # Every setting of the schema has its own variable, and each parses its default's type.
    assert len(config.BY_ENV) == len(config.SCHEMA)
    assert config.from_environment({"TRACKER_LAG_POINTS": "15.5"})["LAG_POINTS"] == Decimal("15.5")


def test_an_unknown_variable_is_refused_with_a_suggestion():
    with pytest.raises(config.ConfigError) as refused:
        config.from_environment({"TRACKER_PAGESIZE": "20", "TRACKER_TEST_DATABASE_URL": "postgresql://x/y"})
    message = str(refused.value)
    assert "TRACKER_PAGESIZE: unknown setting; did you mean TRACKER_PAGE_SIZE?" in message
    assert "TEST_DATABASE_URL" not in message  # the test harness's own variable is known


@pytest.mark.parametrize("name, text, expected", [
    ("TRACKER_SECURE_COOKIES", "ja", "expected one of 1, true"),
    ("TRACKER_PAGE_SIZE", "ten", "expected a whole number"),
    ("TRACKER_PAGE_SIZE", "0", "must be at least 1"),
    ("TRACKER_LAG_POINTS", "lots", "expected a number"),
    ("TRACKER_TIMEZONE", "Asia/Taipai", "IANA time zone"),
    ("TRACKER_LOG_FORMAT", "xml", "expected one of text, json"),
    ("TRACKER_SECRET_KEY", "short", "at least 32"),
])
def test_a_bad_value_is_refused_naming_the_variable(name, text, expected):
    with pytest.raises(config.ConfigError) as refused:
        config.from_environment({name: text})
    assert f"{name}={text!r}" in str(refused.value) and expected in str(refused.value)


def test_booleans_read_both_ways():
    assert config.from_environment({"TRACKER_SECURE_COOKIES": "Yes"})["SESSION_COOKIE_SECURE"] is True
    assert config.from_environment({"TRACKER_RUN_SCHEDULER_IN_SERVER": "0"})["RUN_SCHEDULER_IN_SERVER"] is False


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_ENV", "production")
    with pytest.raises(config.ConfigError, match="TRACKER_SECRET_KEY: required in production"):
        create_app({"DATA_DIR": str(tmp_path)})
    monkeypatch.delenv("TRACKER_ENV")
    monkeypatch.setenv("TRACKER_RUN_SCHEDULER_IN_SERVER", "0")  # web servers without the scheduler: production
    with pytest.raises(config.ConfigError, match="TRACKER_SECRET_KEY"):
        create_app({"DATA_DIR": str(tmp_path)})
    assert not (tmp_path / "secret_key").exists()  # no server writes a key of its own
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40})
    assert app.config["SECRET_KEY"] == "k" * 40


def _run(args, env_extra, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update({"TRACKER_DATA_DIR": str(tmp_path)}, **env_extra)
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)


def test_the_command_and_the_wsgi_app_stop_on_a_misspelt_variable(tmp_path):
    command = _run([sys.executable, "-m", "tracker.cli", "config", "show"], {"TRACKER_SECURE_COOKIE": "1"}, tmp_path)
    assert command.returncode != 0
    assert "TRACKER_SECURE_COOKIE: unknown setting; did you mean TRACKER_SECURE_COOKIES?" in command.stderr
    assert "Traceback" not in command.stderr
    wsgi = _run([sys.executable, "-c", "import tracker.wsgi"], {"TRACKER_PROXIES": "two"}, tmp_path)
    assert wsgi.returncode == 1
    assert "TRACKER_PROXIES='two': expected a whole number" in wsgi.stderr and "Traceback" not in wsgi.stderr


def test_config_show_masks_secrets(tmp_path):
    secret = "s3cr3t-" * 6
    shown = _run([sys.executable, "-m", "tracker.cli", "config", "show"], {
        "TRACKER_SECRET_KEY": secret, "TRACKER_MAIL_PASSWORD": "mail-pass-99",
        "TRACKER_DATABASE_URL": "postgresql://tracker:db-pass-77@127.0.0.1:1/tracker", "TRACKER_PAGE_SIZE": "40"},
        tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert secret not in shown.stdout and "mail-pass-99" not in shown.stdout and "db-pass-77" not in shown.stdout
    assert "postgresql://tracker:***@127.0.0.1:1/tracker" in shown.stdout
    lines = {line.split()[0]: line for line in shown.stdout.splitlines()}
    assert "(set, hidden)" in lines["TRACKER_SECRET_KEY"] and "(set, hidden)" in lines["TRACKER_MAIL_PASSWORD"]
    assert "40" in lines["TRACKER_PAGE_SIZE"] and "[environment]" in lines["TRACKER_PAGE_SIZE"]
    assert "[default]" in lines["TRACKER_LAG_DAYS"]
