"""Logging in: every page needs it; wrong passwords, guessing and forged forms are refused."""
from __future__ import annotations

import sqlalchemy as sa

from conftest import PASSWORD, csrf_token
from tracker import db
from tracker.models import AuditEntry, User


def audit_actions(session) -> list[str]:
    session.expire_all()
    return list(session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_every_page_needs_a_login(seeded, client):
    for path in ("/", "/projects/1", "/kpis", "/account/password"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_login_then_portfolio(seeded, make_user, auth, client, session):
    make_user("lead", "leadership")
    response = auth.login("lead")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "106 年度重要計畫總覽" in page and "lead" in page
    assert audit_actions(session)[-1] == "login.succeeded"


def test_login_returns_to_the_page_asked_for_but_never_off_site(seeded, make_user, client):
    make_user("lead", "leadership")
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login?next=/kpis", data={"name": "lead", "password": PASSWORD,
                                                       "csrf_token": csrf_token(page)})
    assert response.headers["Location"].endswith("/kpis")
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/kpis").get_data(as_text=True))})
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login?next=//evil.example/x", data={"name": "lead", "password": PASSWORD,
                                                                 "csrf_token": csrf_token(page)})
    assert response.headers["Location"] == "/"


def test_wrong_password_is_refused_and_logged(seeded, make_user, auth, client, session):
    make_user("lead", "leadership")
    response = auth.login("lead", "wrong-password-1")
    assert response.status_code == 401
    assert "帳號或密碼錯誤" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still not logged in
    assert audit_actions(session)[-1] == "login.failed"


def test_unknown_user_gets_the_same_answer(seeded, auth):
    response = auth.login("nobody", PASSWORD)
    assert response.status_code == 401
    assert "帳號或密碼錯誤" in response.get_data(as_text=True)


def test_too_many_failures_make_that_address_wait_even_with_the_right_password(seeded, make_user, auth, client,
                                                                              session, app):
    make_user("lead", "leadership")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth.login("lead", "guess-guess-1").status_code == 401
    response = auth.login("lead", PASSWORD)
    assert response.status_code == 429
    assert "秒後再試" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) >= 1
    assert client.get("/").status_code == 302
    assert audit_actions(session)[-1] == "login.throttled"
    # The owner at another address is not kept out by the guesses made here.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    page = elsewhere.get("/login").get_data(as_text=True)
    assert elsewhere.post("/login", data={"name": "lead", "password": PASSWORD,
                                          "csrf_token": csrf_token(page)}).status_code == 302
    assert elsewhere.get("/").status_code == 200


def test_throttle_is_per_account(seeded, make_user, auth, app):
    make_user("lead", "leadership")
    make_user("other", "leadership")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login("lead", "guess-guess-1")
    assert auth.login("other").status_code == 302


def test_a_success_resets_the_count(seeded, make_user, auth, app):
    make_user("lead", "leadership")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        auth.login("lead", "guess-guess-1")
    assert auth.login("lead").status_code == 302
    auth.logout()
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        auth.login("lead", "guess-guess-1")
    assert auth.login("lead").status_code == 302


def test_form_without_csrf_token_is_refused(seeded, make_user, client, session):
    make_user("lead", "leadership")
    response = client.post("/login", data={"name": "lead", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert "login.succeeded" not in audit_actions(session)


def test_logout_needs_csrf_too(seeded, make_user, auth, client):
    make_user("lead", "leadership")
    auth.login("lead")
    assert client.post("/logout", data={}).status_code == 400
    assert client.get("/").status_code == 200  # still logged in
    auth.logout()
    assert client.get("/").status_code == 302


def test_session_cookie_is_http_only_and_same_site(seeded, make_user, auth):
    make_user("lead", "leadership")
    response = auth.login("lead")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookie_when_configured(database_url, tmp_path, make_user, seeded):
    from tracker.app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "k",
                      "DATA_DIR": str(tmp_path / "i2"), "SESSION_COOKIE_SECURE": True})
    client = app.test_client()
    make_user("lead", "leadership")
    page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    response = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                           data={"name": "lead", "password": PASSWORD, "csrf_token": csrf_token(page)})
    db.get_engine(app).dispose()
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_security_headers(seeded, client):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_one_time_password_must_be_changed_first(seeded, runner, client, session):
    result = runner.invoke(args=["db", "current"])
    assert result.exit_code == 0
    from tracker.services import accounts, audit

    name, password = accounts.ensure_admin(session, audit.CLI)
    session.commit()
    assert accounts.ensure_admin(session, audit.CLI) is None  # only when no admin exists
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"name": name, "password": password, "csrf_token": csrf_token(page)})
    assert response.headers["Location"].endswith("/account/password")
    assert client.get("/").headers["Location"].endswith("/account/password")
    form = client.get("/account/password").get_data(as_text=True)
    short = client.post("/account/password", data={"current_password": password, "new_password": "short1",
                                                   "confirm": "short1", "csrf_token": csrf_token(form)})
    assert short.status_code == 400 and "至少需 10 個字元" in short.get_data(as_text=True)
    wrong = client.post("/account/password", data={"current_password": "nope", "new_password": "brand-new-pass-9",
                                                   "confirm": "brand-new-pass-9", "csrf_token": csrf_token(form)})
    assert wrong.status_code == 400 and "目前密碼不正確" in wrong.get_data(as_text=True)
    ok = client.post("/account/password", data={"current_password": password, "new_password": "brand-new-pass-9",
                                                "confirm": "brand-new-pass-9", "csrf_token": csrf_token(form)})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200
    session.expire_all()
    admin = session.scalars(sa.select(User).where(User.name == name)).one()
    assert not admin.must_change_password
    assert "brand-new-pass-9" not in admin.password_hash
    assert audit_actions(session)[-1] == "user.password_change"


def test_password_change_ends_other_sessions(seeded, make_user, app, auth, client):
    make_user("lead", "leadership")
    other = app.test_client()
    page = other.get("/login").get_data(as_text=True)
    other.post("/login", data={"name": "lead", "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert other.get("/").status_code == 200
    auth.login("lead")
    form = client.get("/account/password").get_data(as_text=True)
    client.post("/account/password", data={"current_password": PASSWORD, "new_password": "brand-new-pass-9",
                                           "confirm": "brand-new-pass-9", "csrf_token": csrf_token(form)})
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302


def test_weak_new_passwords_are_refused_on_the_field_naming_the_rule(seeded, make_user, auth, client, session):
    make_user("chen.wei", "leadership")
    auth.login("chen.wei")
    form = client.get("/account/password").get_data(as_text=True)
    for weak, words in (("password12", "常見的密碼"), ("aaaaaaaaa1", "5 個不同的字元"), ("a1a1a1a1a1", "5 個不同的字元"),
                        ("Chen.Wei-2025", "帳號名稱")):
        response = client.post("/account/password", data={"current_password": PASSWORD, "new_password": weak,
                                                          "confirm": weak, "csrf_token": csrf_token(form)})
        assert response.status_code == 400
        assert words in response.get_data(as_text=True), weak
    assert "user.password_change" not in audit_actions(session)
    assert client.get("/").status_code == 200  # still signed in with the old password
