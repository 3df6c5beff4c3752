"""Sessions that end: a logout, the absolute lifetime, a password change and a disabled account end them on the server."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa

from conftest import PASSWORD, csrf_token
from tracker.models import AuditEntry, User, UserSession, utcnow
from tracker.services import datastamp, login


def cookie_of(app, client) -> str:
    """The value of the client's session cookie."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None, "no session cookie"
    return cookie.value


def copy_cookie(app, source, target) -> None:
    """Give another browser the same session cookie (as a thief who copied it would)."""
    target.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie_of(app, source))


def contents(app, client) -> dict:
    """What the signed session cookie holds."""
    return app.session_interface.get_signing_serializer(app).loads(cookie_of(app, client))


def sessions_of(session, name: str) -> list[UserSession]:
    """The server-side sessions of a user, oldest first."""
    session.expire_all()
    return list(session.scalars(sa.select(UserSession).join(User, User.id == UserSession.user_id)
                                .where(User.name == name).order_by(UserSession.id)))


def test_a_login_opens_a_server_session_and_the_cookie_holds_only_its_id(seeded, make_user, auth, app, client,
                                                                         session):
    make_user("lead", "leadership")
    auth.login("lead")
    held = contents(app, client)
    assert set(held) >= {"sid", "uid", "epoch", "at"}
    [row] = sessions_of(session, "lead")
    assert row.sid_hash == hashlib.sha256(held["sid"].encode()).hexdigest()  # only the hash is kept
    assert held["sid"] not in row.sid_hash
    assert row.ended_at is None and row.remote_addr == "127.0.0.1"
    assert len(held["sid"]) >= 43  # 32 random bytes


def test_a_cookie_copied_before_logout_stops_working_after_it(seeded, make_user, auth, app, client, session):
    make_user("lead", "leadership")
    auth.login("lead")
    thief = app.test_client()
    copy_cookie(app, client, thief)
    assert thief.get("/").status_code == 200  # the copy works while the session is open ...
    auth.logout()
    response = thief.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]  # ... and not a moment after
    [row] = sessions_of(session, "lead")
    assert row.ended_at is not None
    assert session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1)).one() == "logout"


def test_the_absolute_lifetime_ends_even_a_busy_session(seeded, make_user, auth, app, client, session):
    make_user("lead", "leadership")
    auth.login("lead")
    lifetime = timedelta(seconds=app.config["SESSION_ABSOLUTE_LIFETIME"])
    [row] = sessions_of(session, "lead")
    # Signed in a minute short of the lifetime and busy all along: still in.
    row.created_at = utcnow() - lifetime + timedelta(minutes=1)
    session.commit()
    for path in ("/", "/kpis", "/"):
        assert client.get(path).status_code == 200
    # A second past it: signed out, however recent the last request.
    row.created_at = utcnow() - lifetime - timedelta(seconds=1)
    session.commit()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert auth.login("lead").status_code == 302 and client.get("/").status_code == 200  # a new login is a new session


def test_a_password_change_ends_the_other_browsers_session_but_not_this_one(seeded, make_user, auth, app, client,
                                                                           session):
    make_user("lead", "leadership")
    other = app.test_client()
    page = other.get("/login").get_data(as_text=True)
    other.post("/login", data={"name": "lead", "password": PASSWORD, "csrf_token": csrf_token(page)})
    auth.login("lead")
    before = app.test_client()
    copy_cookie(app, client, before)  # this browser's cookie from before the change
    form = client.get("/account/password").get_data(as_text=True)
    response = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "brand-new-pass-9",
                                                      "confirm": "brand-new-pass-9", "csrf_token": csrf_token(form)})
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this browser stays signed in, with a fresh session
    assert other.get("/").status_code == 302  # the other browser is signed out
    assert before.get("/").status_code == 302  # and so is a copy of this browser's old cookie
    rows = sessions_of(session, "lead")
    assert [row.ended_at is None for row in rows] == [False, False, True]


def test_a_disabled_user_is_signed_out_on_the_next_request(seeded, make_user, auth, client, session):
    make_user("lead", "leadership")
    auth.login("lead")
    assert client.get("/").status_code == 200
    lead = session.scalar(sa.select(User).where(User.name == "lead"))
    lead.is_active = False
    session.commit()
    response = client.get("/kpis")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_end_sessions_ends_all_of_a_users_sessions_but_the_one_kept(seeded, make_user, session):
    lead = make_user("lead", "leadership")
    other = make_user("other", "leadership")
    now = utcnow()
    kept = login.begin_session(session, lead, "10.0.0.1", now)
    login.begin_session(session, lead, "10.0.0.2", now)
    login.begin_session(session, lead, "10.0.0.3", now)
    theirs = login.begin_session(session, other, "10.0.0.4", now)
    session.commit()
    assert login.end_sessions(session, lead.id, now, except_sid_hash=login.hash_session_id(kept)) == 2
    session.commit()
    lifetime = 3600
    assert login.session_user(session, kept, lead.id, lead.session_epoch, lifetime, now).name == "lead"
    assert login.session_user(session, theirs, other.id, other.session_epoch, lifetime, now).name == "other"
    assert login.end_sessions(session, lead.id, now) == 1
    session.commit()
    assert login.session_user(session, kept, lead.id, lead.session_epoch, lifetime, now) is None
    # A session id is worth nothing for another user, another epoch, or past the lifetime.
    assert login.session_user(session, theirs, lead.id, other.session_epoch, lifetime, now) is None
    assert login.session_user(session, theirs, other.id, other.session_epoch + 1, lifetime, now) is None
    assert login.session_user(session, theirs, other.id, other.session_epoch, lifetime,
                              now + timedelta(seconds=lifetime)) is None


def test_signing_in_and_out_does_not_move_the_data_stamp(seeded, make_user, auth, session):
    make_user("lead", "leadership")
    session.commit()
    stamp = datastamp.current(session)
    auth.login("lead")
    auth.logout()
    session.expire_all()
    assert datastamp.current(session) == stamp
