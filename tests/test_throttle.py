"""The login throttle slows guessing, never locks an owner out: every attack of issue 10 tried against it.

Time is passed in (``now=``) rather than slept through; the numbers are the configured defaults
(5 failures for an account, 20 for an address, a 15-minute window, waits of 2 s doubling up to 300 s).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from conftest import PASSWORD, csrf_token
from tracker.models import AuditEntry, LoginAttempt, User, utcnow
from tracker.services import audit
from tracker.services.login import WRONG_CREDENTIALS, LoginRefused, ThrottlePolicy, log_in, unlock

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
WRONG = "not-the-password-7"
ATTACKER = "203.0.113.66"
OWNER = "10.20.30.40"


@pytest.fixture
def policy(app) -> ThrottlePolicy:
    """The throttle as configured."""
    return ThrottlePolicy.from_config(app.config)


def at(seconds: float) -> datetime:
    """T0 plus some seconds."""
    return T0 + timedelta(seconds=seconds)


def attempt(session, policy, name, password, addr, when):
    """One login, committed as the login page commits it: "ok", "wrong", or ("wait", seconds)."""
    try:
        log_in(session, name, password, addr, policy, now=when)
    except LoginRefused as refused:
        session.commit()
        if refused.throttled:
            assert f"請於 {refused.retry_after} 秒後再試" in refused.message
            return ("wait", refused.retry_after)
        assert refused.message == WRONG_CREDENTIALS
        return "wrong"
    session.commit()
    return "ok"


def kept_attempts(session, **where) -> int:
    """How many attempts the throttle has recorded (refused ones are not)."""
    query = sa.select(sa.func.count()).select_from(LoginAttempt)
    for column, value in where.items():
        query = query.where(getattr(LoginAttempt, column) == value)
    return session.scalar(query)


def test_the_policy_is_the_configured_one(app, policy):
    assert policy == ThrottlePolicy(max_failures=app.config["LOGIN_MAX_FAILURES"],
                                    address_max_failures=app.config["LOGIN_ADDRESS_MAX_FAILURES"],
                                    window_seconds=app.config["LOGIN_WINDOW_SECONDS"],
                                    delay_base_seconds=app.config["LOGIN_DELAY_BASE_SECONDS"],
                                    delay_max_seconds=app.config["LOGIN_DELAY_MAX_SECONDS"])
    assert (policy.max_failures, policy.address_max_failures, policy.window_seconds) == (5, 20, 900)
    with pytest.raises(AttributeError):
        policy.max_failures = 1000  # frozen


def test_guessing_names_that_are_no_account_never_stops_real_users(app, make_user, session, policy):
    make_user("lead", "leadership")
    # 30 failures from one anonymous address, on 30 names no account has: none is slowed ...
    outcomes = [attempt(session, policy, f"ghost{i}", WRONG, ATTACKER, at(i)) for i in range(30)]
    assert outcomes == ["wrong"] * 30
    # ... and they do not count against the address: a real user there gets in, as does one elsewhere.
    assert attempt(session, policy, "lead", PASSWORD, ATTACKER, at(31)) == "ok"
    assert attempt(session, policy, "lead", PASSWORD, OWNER, at(32)) == "ok"
    # A mistyped password at that address is just a failure, not a wait.
    assert attempt(session, policy, "lead", WRONG, ATTACKER, at(33)) == "wrong"
    assert kept_attempts(session, remote_addr=ATTACKER, user_id=None) == 30  # kept, but for no account


def test_hammering_an_account_for_an_hour_never_keeps_its_owner_out(app, make_user, session, policy):
    make_user("admin", "admin")
    outcomes = []
    for minute in range(60):
        # Every minute, a burst of three guesses; most are refused before their password is looked at.
        for second in range(3):
            outcomes.append(attempt(session, policy, "admin", WRONG, ATTACKER, at(minute * 60 + second)))
        if minute % 13 == 4:  # the owner, from their own desk, now and then
            assert attempt(session, policy, "admin", PASSWORD, OWNER, at(minute * 60 + 30)) == "ok", minute
    throttled = [o for o in outcomes if o != "wrong"]
    assert throttled and all(o[0] == "wait" for o in throttled)
    assert "ok" not in outcomes
    # Refused attempts were never counted: only the checked guesses are kept.
    assert kept_attempts(session, remote_addr=ATTACKER, succeeded=False) == outcomes.count("wrong")
    # And at the end of the hour, in the middle of the attack, the owner still gets in at once.
    assert attempt(session, policy, "admin", WRONG, ATTACKER, at(3600)) != "ok"
    assert attempt(session, policy, "admin", PASSWORD, OWNER, at(3600.5)) == "ok"


def test_an_insider_spraying_passwords_is_slowed_and_his_own_login_does_not_reset_it(app, make_user, session,
                                                                                     policy):
    make_user("mole", "leadership")
    victims = [f"victim{i}" for i in range(6)]
    for name in victims:
        make_user(name, "leadership")
    insider = "10.0.0.9"
    assert attempt(session, policy, "mole", PASSWORD, insider, at(0)) == "ok"
    # 19 wrong guesses across six accounts (at most 4 each, under the account threshold) ...
    for i in range(19):
        assert attempt(session, policy, victims[i % 6], WRONG, insider, at(1 + i)) == "wrong"
    # ... a login to his own account in between gets in, and resets nothing for the address ...
    assert attempt(session, policy, "mole", PASSWORD, insider, at(19.5)) == "ok"
    assert attempt(session, policy, victims[1], WRONG, insider, at(20)) == "wrong"  # the 20th
    # ... so from now on each guess waits, growing: 2 s after the 20th failure, then 4 s, then 8 s.
    assert attempt(session, policy, victims[2], WRONG, insider, at(20.5)) == ("wait", 2)
    assert attempt(session, policy, "mole", PASSWORD, insider, at(21)) == ("wait", 1)  # his own account too
    assert attempt(session, policy, "mole", PASSWORD, insider, at(22)) == "ok"
    assert attempt(session, policy, victims[2], WRONG, insider, at(22.5)) == "wrong"  # still counted: 21
    assert attempt(session, policy, victims[3], WRONG, insider, at(23)) == ("wait", 4)
    assert attempt(session, policy, victims[3], WRONG, insider, at(26.5)) == "wrong"
    assert attempt(session, policy, victims[4], WRONG, insider, at(27)) == ("wait", 8)
    # The victims themselves, at their own desks, are not slowed at all.
    for name in victims:
        assert attempt(session, policy, name, PASSWORD, OWNER, at(30)) == "ok"


def test_waits_grow_and_are_capped(app, make_user, session, policy):
    make_user("lead", "leadership")
    for i in range(5):
        assert attempt(session, policy, "lead", WRONG, ATTACKER, at(i)) == "wrong"
    last, waits = 4.0, []
    for _ in range(10):
        outcome = attempt(session, policy, "lead", WRONG, ATTACKER, at(last + 0.5))
        assert outcome[0] == "wait"
        waits.append(outcome[1])
        last += outcome[1] + 0.5  # the first moment it may try again
        assert attempt(session, policy, "lead", WRONG, ATTACKER, at(last)) == "wrong"
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_an_attempt_inside_the_wait_is_not_counted_and_does_not_lengthen_it(app, make_user, session, policy):
    make_user("lead", "leadership")
    for i in range(5):
        attempt(session, policy, "lead", WRONG, ATTACKER, at(i))
    kept = kept_attempts(session)
    # Fifty tries inside the 2-second wait, the right password among them: all refused, none counted.
    for i in range(50):
        assert attempt(session, policy, "lead", WRONG if i % 2 else PASSWORD, ATTACKER, at(4.01 + i * 0.03))[0] == "wait"
    assert kept_attempts(session) == kept
    throttled = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                               .where(AuditEntry.action == "login.throttled"))
    assert throttled == 50
    # The wait is still 2 s from the last counted failure: the right password then gets in, even from there.
    assert attempt(session, policy, "lead", PASSWORD, ATTACKER, at(6)) == "ok"


def test_a_name_that_is_no_account_is_slowed_exactly_like_one_that_is(app, make_user, session, policy):
    make_user("lead", "leadership")
    moments = [0, 1, 2, 3, 4, 5, 6.5, 7, 10.5, 11, 18.5, 19]

    def run(name, addr):
        return [attempt(session, policy, name, WRONG, addr, at(t)) for t in moments]

    real, ghost = run("lead", "198.51.100.1"), run("ghost", "198.51.100.2")
    assert real == ghost
    assert real[5] == ("wait", 1) and real[7] == ("wait", 4) and real[9] == ("wait", 8)


def test_an_admin_unlock_clears_the_account_delay(app, make_user, session):
    make_user("lead", "leadership")
    admin = make_user("boss", "admin")
    slow = ThrottlePolicy(max_failures=5, address_max_failures=20, window_seconds=900,
                          delay_base_seconds=60, delay_max_seconds=300)
    start = utcnow() - timedelta(seconds=30)
    for i in range(5):
        assert attempt(session, slow, "lead", WRONG, ATTACKER, start + timedelta(seconds=i * 0.1)) == "wrong"
    refused = attempt(session, slow, "lead", PASSWORD, ATTACKER, utcnow())
    assert refused[0] == "wait" and refused[1] >= 25
    lead = session.scalar(sa.select(User).where(User.name == "lead"))
    unlock(session, lead, audit.Who(admin.name, admin.id, OWNER))  # as the CLI and the admin page call it
    session.commit()
    assert attempt(session, slow, "lead", PASSWORD, ATTACKER, utcnow()) == "ok"
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "user.unlock")).one()
    assert entry.actor == "boss" and entry.entity_id == str(lead.id)


def test_a_disabled_account_gets_the_answer_of_a_wrong_password(app, make_user, session, policy):
    make_user("leaver", "leadership")
    leaver = session.scalar(sa.select(User).where(User.name == "leaver"))
    leaver.is_active = False
    session.commit()
    assert attempt(session, policy, "leaver", PASSWORD, OWNER, at(0)) == "wrong"
    assert attempt(session, policy, "nobody", PASSWORD, OWNER, at(1)) == "wrong"


def test_the_login_page_says_how_long_to_wait(seeded, make_user, auth, client, session, app):
    make_user("lead", "leadership")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth.login("lead", WRONG).status_code == 401
    kept = kept_attempts(session)
    response = auth.login("lead", PASSWORD)
    assert response.status_code == 429
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= app.config["LOGIN_DELAY_BASE_SECONDS"]
    assert f"請於 {seconds} 秒後再試" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in
    session.expire_all()
    assert kept_attempts(session) == kept  # the refused attempt is not counted
    # Someone else at another address signs in to the same account at once.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = OWNER
    page = other.get("/login").get_data(as_text=True)
    assert other.post("/login", data={"name": "lead", "password": PASSWORD,
                                      "csrf_token": csrf_token(page)}).status_code == 302
