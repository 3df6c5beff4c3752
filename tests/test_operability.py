"""Running behind a proxy: health checks, request ids in the logs, client addresses, HSTS."""
from __future__ import annotations

import json
import re

import sqlalchemy as sa

from tracker import db, logs, migrate
from tracker.app import create_app
from tracker.models import AuditEntry
from conftest import csrf_token


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["schema"]["current"] == body["schema"]["head"] == migrate.head_revision()
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_is_503_when_the_database_is_down(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "DATA_DIR": str(tmp_path),
                      "DATABASE_URL": "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/test?connect_timeout=2"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body == {"status": "fail", "database": "unreachable", "schema": {"current": None,
                                                                          "head": migrate.head_revision()}}
    assert b"hunter2" not in response.data and b"127.0.0.1" not in response.data


def test_healthz_is_503_when_the_schema_is_behind(app, client):
    migrate.downgrade(db.get_engine(app), "0007")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["schema"]["current"] == "0007"
    assert "tracker db upgrade" in response.get_json()["schema"]["problem"]


def test_request_id_is_honoured_echoed_and_logged(client, capsys):
    response = client.get("/login", headers={"X-Request-ID": "req-4711-abc"})
    assert response.headers["X-Request-ID"] == "req-4711-abc"
    logged = capsys.readouterr().err
    line = next(line for line in logged.splitlines() if "GET /login 200" in line)
    assert "req-4711-abc" in line
    # A missing or malformed id is replaced by a fresh one, never echoed into the header or the logs.
    fresh = client.get("/login", headers={"X-Request-ID": "bad id; <script>" + "x" * 200}).headers["X-Request-ID"]
    assert len(fresh) == 32 and "script" not in fresh
    assert client.get("/login").headers["X-Request-ID"] != fresh


def test_api_errors_carry_the_request_id(client):
    response = client.get("/api/v1/projects", headers={"X-Request-ID": "trace-api-1"})
    assert response.status_code == 401 and response.headers["X-Request-ID"] == "trace-api-1"


def test_error_page_shows_the_request_id(seeded, client, auth, make_user):
    make_user("reader", "leadership")
    auth.login("reader")
    response = client.get("/projects/999999", headers={"X-Request-ID": "trace-page-2"})
    assert response.status_code == 404
    assert "trace-page-2" in response.get_data(as_text=True)


def test_json_log_lines(tmp_path, database_url, capsys):
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "DATA_DIR": str(tmp_path),
                      "DATABASE_URL": database_url, "LOG_FORMAT": "json"})
    try:
        app.test_client().get("/healthz", headers={"X-Request-ID": "json-1"})
        entries = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
        access = [e for e in entries if e["logger"] == "tracker.access"]
        assert access and access[-1]["request_id"] == "json-1" and access[-1]["process"] == "web"
        assert "GET /healthz" in access[-1]["message"]
    finally:
        db.get_engine(app).dispose()
        logs.configure()  # back to text for the tests after this one


def _failed_login_address(app, client, forwarded_for: str) -> str:
    page = client.get("/login")
    client.post("/login", data={"name": "nobody", "password": "wrong-password-1",
                                "csrf_token": csrf_token(page.get_data(as_text=True))},
                headers={"X-Forwarded-For": forwarded_for})
    with db.new_session(app) as session:
        return session.scalar(sa.select(AuditEntry.remote_addr).where(AuditEntry.action == "login.failed")
                              .order_by(AuditEntry.id.desc()))


def test_forwarded_headers_are_ignored_without_trusted_proxies(app, client):
    assert _failed_login_address(app, client, "203.0.113.9") == "127.0.0.1"


def test_the_client_address_behind_one_trusted_proxy(database_url, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "DATA_DIR": str(tmp_path),
                      "DATABASE_URL": database_url, "PROXIES": 1})
    migrate.upgrade(db.get_engine(app))
    try:
        # The proxy appends the address it saw; a client's own forged entry before it is not trusted.
        assert _failed_login_address(app, app.test_client(), "198.51.100.1, 203.0.113.9") == "203.0.113.9"
    finally:
        db.get_engine(app).dispose()


def test_hsts_only_with_secure_cookies(app, client, database_url, tmp_path):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "DATA_DIR": str(tmp_path / "s"),
                         "DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": True})
    try:
        header = secure.test_client().get("/login", base_url="https://localhost").headers["Strict-Transport-Security"]
        assert header.startswith("max-age=31536000")
    finally:
        db.get_engine(secure).dispose()


def test_the_web_font_is_served_without_login_and_sliced(client):
    """Noto Sans TC (Taiwan glyph shapes) from static/, in unicode-range slices a page fetches as it needs them."""
    with client.get("/static/fonts/noto-sans-tc.css") as sheet:
        css = sheet.get_data(as_text=True)
    assert sheet.status_code == 200 and css.count("@font-face") > 100 and "font-family: 'Tracker TC'" in css
    first = re.search(r"src: url\(([^)]+\.woff2)\)", css).group(1)
    with client.get(f"/static/fonts/{first}") as font:
        assert font.status_code == 200 and font.data[:4] == b"wOF2"
    covered = set()
    for part in re.findall(r"U\+([0-9a-fA-F]+(?:-[0-9a-fA-F]+)?)", css):
        low, _, high = part.partition("-")
        covered.update(range(int(low, 16), int(high or low, 16) + 1))
    assert all(ord(c) in covered for c in "法務部重要計畫管考系統臺灣高等檢察署矯正監獄")
    with client.get("/static/style.css") as sheet:
        assert '"Tracker TC", sans-serif' in sheet.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    assert "fonts/noto-sans-tc.css" in page and "googleapis" not in page