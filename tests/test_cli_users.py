"""`tracker users ...`: disable, enable, reset, set-role, unlock, token (rotate, expiry), revoke-token, list."""
from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from conftest import PASSWORD, api_status, new_browser as log_in, token_for as issue, user_named as user
from tracker.domain.roc import format_roc_date
from tracker.models import ApiToken, AuditEntry, LoginAttempt, utcnow


def actions(session) -> list[str]:
    session.expire_all()
    return list(session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def staff(seeded, make_user):
    """An admin and a project manager of 檢察."""
    make_user("boss", "admin")
    make_user("chen", "project_manager", "檢察")
    return seeded


def test_disable_ends_the_session_and_token_at_once_and_enable_lets_back_in(staff, runner, session):
    token = issue(staff, "chen")
    browser, _ = log_in(staff, "chen")
    assert browser.get("/").status_code == 200
    result = runner.invoke(args=["users", "disable", "chen"])
    assert result.exit_code == 0, result.output
    assert "chen disabled" in result.output and "1 token(s) revoked" in result.output
    assert browser.get("/").status_code == 302
    assert api_status(browser, token) == 401
    assert log_in(staff, "chen")[1].status_code == 401
    row = user(session, "chen")
    assert not row.is_active and row.disabled_at is not None
    assert actions(session)[-2:] == ["user.disable", "login.failed"]

    result = runner.invoke(args=["users", "enable", "chen"])
    assert result.exit_code == 0 and "chen enabled" in result.output
    assert user(session, "chen").disabled_at is None
    assert log_in(staff, "chen")[1].status_code == 302
    assert api_status(browser, token) == 401  # the tokens revoked at disabling stay revoked
    assert actions(session)[-1] == "login.succeeded" and "user.enable" in actions(session)


def test_disable_and_enable_refusals(staff, runner, session):
    ghost = runner.invoke(args=["users", "disable", "ghost"])
    assert ghost.exit_code == 1 and "name: no user named 'ghost'" in ghost.output
    assert "Traceback" not in ghost.output
    last_admin = runner.invoke(args=["users", "disable", "boss"])
    assert last_admin.exit_code == 1 and "唯一啟用中的系統管理者" in last_admin.output
    assert user(session, "boss").is_active
    again = runner.invoke(args=["users", "enable", "chen"])
    assert again.exit_code == 1 and "已是啟用狀態" in again.output
    runner.invoke(args=["users", "disable", "chen"])
    twice = runner.invoke(args=["users", "disable", "chen"])
    assert twice.exit_code == 1 and "已停用" in twice.output


def test_reset_prints_a_one_time_password_that_must_be_changed(staff, runner, session):
    token = issue(staff, "chen")
    browser, _ = log_in(staff, "chen")
    result = runner.invoke(args=["users", "reset", "chen"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().rsplit(" ", 1)[-1]
    assert len(password) >= 10
    assert browser.get("/").status_code == 302  # the session ended
    assert api_status(browser, token) == 401  # the token too
    assert log_in(staff, "chen", PASSWORD)[1].status_code == 401  # the old password no longer works
    fresh, response = log_in(staff, "chen", password)
    assert response.headers["Location"].endswith("/account/password")
    assert fresh.get("/").headers["Location"].endswith("/account/password")
    assert user(session, "chen").must_change_password
    assert "user.password_reset" in actions(session)
    assert password not in str(session.scalars(sa.select(AuditEntry.changes)).all())


def test_set_role_changes_role_and_system(staff, runner, session):
    result = runner.invoke(args=["users", "set-role", "chen", "project_manager", "--system", "corrections"])
    assert result.exit_code == 0, result.output
    assert "chen is now project_manager, 矯正" in result.output
    assert user(session, "chen").system.code == "corrections"
    result = runner.invoke(args=["users", "set-role", "chen", "budget_officer"])
    assert result.exit_code == 0
    chen = user(session, "chen")
    assert (chen.role, chen.system) == ("budget_officer", None)
    entry = session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
    assert entry.action == "user.set_role" and entry.changes["role"] == ["project_manager", "budget_officer"]


def test_set_role_refusals(staff, runner, session):
    no_system = runner.invoke(args=["users", "set-role", "chen", "project_manager", "--system", ""])
    assert no_system.exit_code == 1 and "system:" in no_system.output
    runner.invoke(args=["users", "set-role", "chen", "leadership"])
    pm = runner.invoke(args=["users", "set-role", "chen", "project_manager"])
    assert pm.exit_code == 1 and "system: 計畫承辦人" in pm.output
    assert user(session, "chen").role == "leadership"
    unknown = runner.invoke(args=["users", "set-role", "chen", "chief"])
    assert unknown.exit_code == 2 and "'chief' is not one of" in unknown.output
    bad_system = runner.invoke(args=["users", "set-role", "chen", "project_manager", "--system", "法院"])
    assert bad_system.exit_code == 1 and "unknown system" in bad_system.output
    last_admin = runner.invoke(args=["users", "set-role", "boss", "leadership"])
    assert last_admin.exit_code == 1 and "唯一啟用中的系統管理者" in last_admin.output
    assert user(session, "boss").role == "admin"
    runner.invoke(args=["users", "set-role", "chen", "admin"])
    assert runner.invoke(args=["users", "set-role", "boss", "leadership"]).exit_code == 0  # another admin remains


def test_unlock_lets_the_owner_in_from_a_failing_address(staff, runner, session):
    for _ in range(staff.config["LOGIN_MAX_FAILURES"]):
        log_in(staff, "chen", "wrong-guess-12345")
    assert log_in(staff, "chen")[1].status_code == 429  # the failing address must wait
    result = runner.invoke(args=["users", "unlock", "chen"])
    assert result.exit_code == 0 and "chen unlocked" in result.output
    assert user(session, "chen").login_unlocked_at is not None
    assert actions(session)[-1] == "user.unlock"
    assert log_in(staff, "chen")[1].status_code == 302
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)
                          .where(LoginAttempt.succeeded.is_(False))) == staff.config["LOGIN_MAX_FAILURES"]


def test_token_prints_the_token_and_its_expiry_and_rotate_revokes_the_earlier(staff, runner, client, session):
    first = runner.invoke(args=["users", "token", "chen", "--label", "nightly"])
    assert first.exit_code == 0, first.output
    old_token = first.stdout.strip()
    assert re.fullmatch(r"trk_\S+", old_token)
    expires = (utcnow() + timedelta(days=90)).astimezone(ZoneInfo("Asia/Taipei"))
    assert f"expires {format_roc_date(expires.date())} ({expires.date().isoformat()}T" in first.stderr
    assert re.search(r"T\d\d:\d\d:\d\d\+08:00\)", first.stderr)
    assert session.scalars(sa.select(ApiToken.label)).one() == "nightly"

    rotated = runner.invoke(args=["users", "token", "chen", "--rotate"])
    assert rotated.exit_code == 0 and "earlier tokens are revoked" in rotated.stderr
    new_token = rotated.stdout.strip()
    assert api_status(client, old_token) == 401
    assert api_status(client, new_token) == 200


def test_revoke_token_by_id_or_all(staff, runner, client, session):
    keep, drop = issue(staff, "chen"), issue(staff, "chen")
    ids = sorted(session.scalars(sa.select(ApiToken.id)))
    listed = runner.invoke(args=["users", "tokens", "chen"])
    assert listed.exit_code == 0 and all(f"{i}\tlive" in listed.output for i in ids)

    result = runner.invoke(args=["users", "revoke-token", "chen", "--id", str(ids[1])])
    assert result.exit_code == 0 and f"token {ids[1]} of chen revoked" in result.output
    assert (api_status(client, keep), api_status(client, drop)) == (200, 401)
    again = runner.invoke(args=["users", "revoke-token", "chen", "--id", str(ids[1])])
    assert again.exit_code == 1 and "已撤銷" in again.output
    not_his = runner.invoke(args=["users", "revoke-token", "boss", "--id", str(ids[0])])
    assert not_his.exit_code == 1 and "token_id:" in not_his.output
    assert api_status(client, keep) == 200

    result = runner.invoke(args=["users", "revoke-token", "chen", "--all"])
    assert result.exit_code == 0 and "1 token(s) of chen revoked" in result.output
    assert api_status(client, keep) == 401
    assert actions(session)[-1] == "token.revoke_all"


@pytest.mark.parametrize("args", [[], ["--all", "--id", "1"]])
def test_revoke_token_needs_exactly_one_of_all_or_id(staff, runner, client, session, args):
    token = issue(staff, "chen")
    result = runner.invoke(args=["users", "revoke-token", "chen", *args])
    assert result.exit_code == 2 and "exactly one of --all or --id" in result.output
    assert api_status(client, token) == 200


def test_list_shows_role_system_status_and_last_login(staff, runner):
    log_in(staff, "chen")
    runner.invoke(args=["users", "disable", "chen"])
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    lines = dict(line.split("\t", 1) for line in result.output.strip().splitlines())
    assert lines["boss"] == "admin\t-\tactive\tlast login never"
    assert re.fullmatch(r"project_manager\t檢察\tdisabled\tlast login \d{4}-\d\d-\d\dT\d\d:\d\d\+08:00", lines["chen"])
