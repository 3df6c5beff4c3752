"""API tokens that end: an expiry from configuration, rotation, revocation, and a password change ending them."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from conftest import PASSWORD, csrf_token
from tracker import db
from tracker.models import ApiToken, AuditEntry, User, utcnow
from tracker.services import accounts, audit


def issue(app, name: str, lifetime_days: int = 90, **kwargs) -> tuple[str, int]:
    """A new token for name: (token, its id)."""
    with db.new_session(app) as s:
        token, row = accounts.issue_token(s, name, audit.CLI, lifetime_days, **kwargs)
        s.commit()
        return token, row.id


def api_status(client, token: str, path: str = "/api/v1/kpis") -> int:
    return client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code


def token_row(session, token_id: int) -> ApiToken:
    session.expire_all()
    return session.get(ApiToken, token_id)


def last_audit(session) -> AuditEntry:
    session.expire_all()
    return session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()


@pytest.fixture
def reader(seeded, make_user):
    """A leadership account for scripts."""
    return make_user("reader", "leadership")


def test_a_token_expires_after_the_configured_lifetime(reader, client, session):
    before = utcnow()
    token, token_id = issue(client.application, "reader", 90, label="weekly export")
    row = token_row(session, token_id)
    expires = accounts.as_utc(row.expires_at)
    assert before + timedelta(days=90) <= expires <= utcnow() + timedelta(days=90)
    assert row.label == "weekly export"
    assert api_status(client, token) == 200
    entry = last_audit(session)
    assert (entry.action, entry.changes["token_id"], entry.changes["label"]) == ("token.issue", token_id,
                                                                                "weekly export")


def test_a_token_issued_long_ago_is_refused_with_401(reader, client):
    token, _ = issue(client.application, "reader", 90, now=utcnow() - timedelta(days=91))
    response = client.get("/api/v1/kpis", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_whose_expiry_has_passed_is_refused(reader, client, session):
    token, token_id = issue(client.application, "reader")
    assert api_status(client, token) == 200
    token_row(session, token_id).expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert api_status(client, token) == 401
    # the chart files that scripts fetch with a token refuse it too
    assert client.get("/gantt.svg", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_token_from_before_expiries_lasts_the_lifetime_from_its_issue(reader, client, session):
    token, token_id = issue(client.application, "reader")
    row = token_row(session, token_id)
    row.expires_at = None
    row.created_at = utcnow() - timedelta(days=10)
    session.commit()
    assert api_status(client, token) == 200
    token_row(session, token_id).created_at = utcnow() - timedelta(days=91)
    session.commit()
    assert api_status(client, token) == 401


def test_a_revoked_token_is_refused(reader, client, session):
    token, token_id = issue(client.application, "reader")
    user = session.scalars(sa.select(User).where(User.name == "reader")).one()
    accounts.revoke_token(session, user, token_id, audit.CLI)
    session.commit()
    assert api_status(client, token) == 401
    assert last_audit(session).action == "token.revoke"
    with pytest.raises(accounts.AccountError, match="已撤銷"):
        accounts.revoke_token(session, user, token_id, audit.CLI)


def test_one_cannot_revoke_a_token_through_another_account(reader, make_user, client, session):
    make_user("other", "leadership")
    token, token_id = issue(client.application, "reader")
    other = session.scalars(sa.select(User).where(User.name == "other")).one()
    with pytest.raises(accounts.AccountError) as refused:
        accounts.revoke_token(session, other, token_id, audit.CLI)
    assert refused.value.field == "token_id"
    session.rollback()
    assert api_status(client, token) == 200


def test_rotation_revokes_the_earlier_tokens(reader, client, session):
    first, first_id = issue(client.application, "reader")
    second, _ = issue(client.application, "reader")
    newest, _ = issue(client.application, "reader", rotate=True)
    assert api_status(client, first) == 401
    assert api_status(client, second) == 401
    assert api_status(client, newest) == 200
    assert first_id in last_audit(session).changes["revoked"]


def test_revoke_all_counts_what_it_revoked(reader, client, session):
    tokens = [issue(client.application, "reader")[0] for _ in range(2)]
    user = session.scalars(sa.select(User).where(User.name == "reader")).one()
    assert accounts.revoke_all_tokens(session, user, audit.CLI) == 2
    session.commit()
    assert [api_status(client, token) for token in tokens] == [401, 401]
    assert accounts.revoke_all_tokens(session, user, audit.CLI) == 0


def test_a_password_change_ends_every_token(reader, client, auth):
    token, _ = issue(client.application, "reader")
    assert api_status(client, token) == 200
    auth.login("reader")
    form = client.get("/account/password").get_data(as_text=True)
    response = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "brand-new-pass-9",
                                                      "confirm": "brand-new-pass-9", "csrf_token": csrf_token(form)})
    assert response.status_code == 302
    assert api_status(client, token) == 401
    assert client.get("/").status_code == 200  # the browser that changed it stays signed in


def test_last_use_is_written_at_most_once_a_minute(reader, client, session):
    token, token_id = issue(client.application, "reader")
    assert token_row(session, token_id).last_used_at is None
    assert api_status(client, token) == 200
    first_use = token_row(session, token_id).last_used_at
    assert first_use is not None  # committed by the request, though it only read
    assert api_status(client, token) == 200
    assert token_row(session, token_id).last_used_at == first_use

    row = token_row(session, token_id)
    now = accounts.as_utc(row.last_used_at)
    accounts.user_for_token(session, token, now=now + timedelta(seconds=30))
    assert not session.dirty
    accounts.user_for_token(session, token, now=now + timedelta(seconds=61))
    assert accounts.as_utc(row.last_used_at) == now + timedelta(seconds=61)


def test_a_disabled_account_gets_no_token(reader, session, client):
    user = session.scalars(sa.select(User).where(User.name == "reader")).one()
    user.is_active = False
    session.commit()
    with pytest.raises(accounts.AccountError, match="已停用"):
        issue(client.application, "reader")


@pytest.mark.parametrize("lifetime, label, field", [(0, None, "lifetime_days"), (-5, None, "lifetime_days"),
                                                    ("90", None, "lifetime_days"), (90, "x" * 65, "label")])
def test_bad_token_requests_name_the_field(reader, client, session, lifetime, label, field):
    with pytest.raises(accounts.AccountError) as refused:
        issue(client.application, "reader", lifetime, label=label)
    assert refused.value.field == field
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
