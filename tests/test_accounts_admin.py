"""The admin's account pages (/admin/users) and every user's own account page (/account)."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from conftest import PASSWORD, api_status, csrf_token, new_browser as log_in, token_for as issue, user_named as user
from tracker import db
from tracker.models import ApiToken, AuditEntry, User
from tracker.services import accounts, audit


def post(client, page: str, action: str, data: dict | None = None):
    """Press a button (or send a form) of a page, with the page's CSRF token."""
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(action, data={**(data or {}), "csrf_token": token})


def last_action(session) -> AuditEntry:
    session.expire_all()
    return session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()


def shown_secret(html: str) -> str | None:
    match = re.search(r'<code class="secret">([^<]+)</code>', html)
    return match.group(1) if match else None


@pytest.fixture
def staff(seeded, make_user):
    """An admin (logged in: the `admin` client), a project manager of 檢察 and a leadership reader."""
    make_user("boss", "admin")
    make_user("chen", "project_manager", "檢察")
    make_user("lead", "leadership")
    return seeded


@pytest.fixture
def admin(staff):
    client, response = log_in(staff, "boss")
    assert response.status_code == 302
    return client


def page_of(session, name: str) -> str:
    return f"/admin/users/{user(session, name).id}"


def test_non_admins_get_403_on_the_admin_pages(staff, session):
    chen_id = user(session, "chen").id
    for name in ("lead", "chen"):
        client, _ = log_in(staff, name)
        assert client.get("/admin/users").status_code == 403
        assert client.get(f"/admin/users/{chen_id}").status_code == 403
        response = post(client, "/account", f"/admin/users/{chen_id}/disable")
        assert response.status_code == 403
        assert "帳號管理" not in client.get("/").get_data(as_text=True)
    assert user(session, "chen").is_active


def test_the_list_shows_role_system_status_and_last_login(staff, admin, session):
    user(session, "lead").is_active = False
    session.commit()
    page = admin.get("/admin/users").get_data(as_text=True)
    row = re.search(r'<tr id="user-\d+">\s*<td><a[^>]*>chen</a></td>(.*?)</tr>', page, re.S).group(1)
    assert "計畫承辦人" in row and "檢察" in row and "啟用" in row and "從未登入" in row
    lead = re.search(r'<tr id="user-\d+">\s*<td><a[^>]*>lead</a></td>(.*?)</tr>', page, re.S).group(1)
    assert "停用" in lead
    boss = re.search(r'<tr id="user-\d+">\s*<td><a[^>]*>boss</a></td>(.*?)</tr>', page, re.S).group(1)
    assert re.search(r"\d+年\d+月\d+日 \d\d:\d\d:\d\d", boss)  # the ROC date and Asia/Taipei time of the login
    assert 'href="/admin/users"' in page and "帳號管理" in page


def test_the_list_pages_past_the_page_size(staff, admin, session):
    staff.config["PAGE_SIZE"] = 2
    first = admin.get("/admin/users").get_data(as_text=True)
    assert "第 1／2 頁" in first and ">boss<" in first and ">chen<" in first and ">lead<" not in first
    second = admin.get("/admin/users?page=2").get_data(as_text=True)
    assert ">lead<" in second and ">boss<" not in second
    assert admin.get("/admin/users?page=99").status_code == 200


def test_create_shows_a_one_time_password_once_that_must_be_changed(staff, admin, session):
    response = post(admin, "/admin/users", "/admin/users",
                    {"name": "wang", "role": "project_manager", "system": "corrections", "email": "wang@example.org"})
    assert response.status_code == 200  # shown on the answer itself: never kept in a cookie or a URL
    page = response.get_data(as_text=True)
    password = shown_secret(page)
    assert password and "已新增帳號 wang" in page
    assert "Set-Cookie" not in response.headers or password not in response.headers["Set-Cookie"]
    assert shown_secret(admin.get(page_of(session, "wang")).get_data(as_text=True)) is None  # only once
    wang = user(session, "wang")
    assert (wang.role, wang.system.code, wang.email, wang.must_change_password) == (
        "project_manager", "corrections", "wang@example.org", True)
    entry = last_action(session)
    assert (entry.action, entry.actor) == ("user.create", "boss")
    client, login = log_in(staff, "wang", password)
    assert login.headers["Location"].endswith("/account/password")


@pytest.mark.parametrize("data, field_error", [
    ({"name": "wang", "role": "project_manager", "system": ""}, "須指定所屬系統"),
    ({"name": "chen", "role": "leadership", "system": ""}, "已存在"),
    ({"name": "a b", "role": "leadership", "system": ""}, "帳號須為"),
    ({"name": "wang", "role": "leadership", "system": "", "email": "not-an-address"}, "不是有效的電子郵件地址"),
    ({"name": "wang", "role": "chief", "system": ""}, "Not a valid choice"),
    ({"name": "", "role": "leadership", "system": ""}, "請輸入帳號"),
])
def test_create_refusals_are_shown_on_the_field(staff, admin, session, data, field_error):
    response = post(admin, "/admin/users", "/admin/users", data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'<div class="field has-error">.*?<p class="error" role="alert">[^<]*' + re.escape(field_error),
                     page, re.S), page
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 3


def test_disable_ends_the_session_and_token_at_once(staff, admin, session):
    token = issue(staff, "chen")
    browser, _ = log_in(staff, "chen")
    assert browser.get("/").status_code == 200 and api_status(browser, token) == 200
    response = post(admin, page_of(session, "chen"), f"{page_of(session, 'chen')}/disable")
    assert response.status_code == 302
    assert "已停用 chen" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert browser.get("/").status_code == 302
    assert api_status(browser, token) == 401
    assert log_in(staff, "chen")[1].status_code == 401
    assert last_action(session).action == "login.failed"
    assert "user.disable" in session.scalars(sa.select(AuditEntry.action)).all()

    response = post(admin, page_of(session, "chen"), f"{page_of(session, 'chen')}/enable")
    assert response.status_code == 302 and user(session, "chen").is_active
    assert log_in(staff, "chen")[1].status_code == 302
    assert api_status(browser, token) == 401


def test_reset_shows_a_one_time_password_and_ends_the_old_password_sessions_and_tokens(staff, admin, session):
    token = issue(staff, "chen")
    browser, _ = log_in(staff, "chen")
    response = post(admin, page_of(session, "chen"), f"{page_of(session, 'chen')}/reset")
    assert response.status_code == 200
    password = shown_secret(response.get_data(as_text=True))
    assert password
    assert shown_secret(admin.get(page_of(session, "chen")).get_data(as_text=True)) is None
    assert browser.get("/").status_code == 302
    assert api_status(browser, token) == 401
    assert log_in(staff, "chen", PASSWORD)[1].status_code == 401
    fresh, login = log_in(staff, "chen", password)
    assert login.headers["Location"].endswith("/account/password")
    form = fresh.get("/account/password").get_data(as_text=True)
    changed = fresh.post("/account/password", data={"current_password": password, "new_password": "river-stone-set-7",
                                                    "confirm": "river-stone-set-7", "csrf_token": csrf_token(form)})
    assert changed.status_code == 302 and fresh.get("/").status_code == 200
    assert not user(session, "chen").must_change_password


def test_set_role_changes_role_and_system_and_refuses_a_manager_without_system(staff, admin, session):
    chen = page_of(session, "chen")
    response = post(admin, chen, f"{chen}/role", {"role": "project_manager", "system": "enforcement"})
    assert response.status_code == 302
    assert user(session, "chen").system.code == "enforcement"
    entry = last_action(session)
    assert entry.action == "user.set_role" and entry.changes["system"] == ["檢察", "行政執行"]

    refused = post(admin, chen, f"{chen}/role", {"role": "project_manager", "system": ""})
    assert refused.status_code == 400
    assert re.search(r'<div class="field has-error">\s*<label for="system">.*?須指定所屬系統',
                     refused.get_data(as_text=True), re.S)
    assert user(session, "chen").system.code == "enforcement"

    response = post(admin, chen, f"{chen}/role", {"role": "budget_officer", "system": ""})
    assert response.status_code == 302
    assert (user(session, "chen").role, user(session, "chen").system) == ("budget_officer", None)


def test_the_last_admin_cannot_be_disabled_or_demoted(staff, admin, session):
    boss = page_of(session, "boss")
    refused = post(admin, boss, f"{boss}/disable")
    assert refused.status_code == 400 and "不能停用自己的帳號" in refused.get_data(as_text=True)
    demoted = post(admin, boss, f"{boss}/role", {"role": "leadership", "system": ""})
    assert demoted.status_code == 400 and "唯一啟用中的系統管理者" in demoted.get_data(as_text=True)
    reset = post(admin, boss, f"{boss}/reset")
    assert reset.status_code == 400 and "變更密碼" in reset.get_data(as_text=True)
    assert user(session, "boss").role == "admin" and user(session, "boss").is_active

    # with a second admin, the first may step down; the second cannot then be disabled by the CLI
    chen = page_of(session, "chen")
    assert post(admin, chen, f"{chen}/role", {"role": "admin", "system": ""}).status_code == 302
    assert post(admin, boss, f"{boss}/role", {"role": "leadership", "system": ""}).status_code == 302
    with db.new_session(staff) as s:
        with pytest.raises(accounts.AccountError, match="唯一啟用中的系統管理者"):
            accounts.disable_user(s, s.scalars(sa.select(User).where(User.name == "chen")).one(), audit.CLI)


def test_unlock_clears_the_login_delay(staff, admin, session):
    for _ in range(staff.config["LOGIN_MAX_FAILURES"]):
        log_in(staff, "chen", "wrong-guess-12345")
    assert log_in(staff, "chen")[1].status_code == 429
    listed = admin.get("/admin/users").get_data(as_text=True)
    chen_row = re.search(r'<tr id="user-\d+">\s*<td><a[^>]*>chen</a></td>(.*?)</tr>', listed, re.S).group(1)
    assert "登入延遲" in chen_row
    response = post(admin, page_of(session, "chen"), f"{page_of(session, 'chen')}/unlock")
    assert response.status_code == 302
    assert last_action(session).action == "user.unlock"
    assert log_in(staff, "chen")[1].status_code == 302
    listed = admin.get("/admin/users").get_data(as_text=True)
    chen_row = re.search(r'<tr id="user-\d+">\s*<td><a[^>]*>chen</a></td>(.*?)</tr>', listed, re.S).group(1)
    assert "登入延遲" not in chen_row


def test_the_admin_revokes_one_token_or_all(staff, admin, session):
    first, second, third = (issue(staff, "chen") for _ in range(3))
    chen = page_of(session, "chen")
    first_id = min(session.scalars(sa.select(ApiToken.id)))
    page = admin.get(chen).get_data(as_text=True)
    assert page.count('class="token-live"') == 3
    assert post(admin, chen, f"{chen}/tokens/{first_id}/revoke").status_code == 302
    assert [api_status(admin, t) for t in (first, second, third)] == [401, 200, 200]
    again = post(admin, chen, f"{chen}/tokens/{first_id}/revoke")
    assert again.status_code == 400 and "已撤銷" in again.get_data(as_text=True)
    response = post(admin, chen, f"{chen}/tokens/revoke-all")
    assert "已撤銷 chen 的 2 個 API 憑證" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert [api_status(admin, t) for t in (second, third)] == [401, 401]
    assert last_action(session).action == "token.revoke_all"


def test_a_form_without_its_csrf_token_is_refused(staff, admin, session):
    chen = page_of(session, "chen")
    for action, data in ((f"{chen}/disable", {}), (f"{chen}/reset", {}), (f"{chen}/role", {"role": "leadership"}),
                         ("/admin/users", {"name": "wang", "role": "leadership"}), ("/account/tokens", {})):
        assert admin.post(action, data=data).status_code == 400, action
    chen_row = user(session, "chen")
    assert chen_row.is_active and chen_row.role == "project_manager" and not chen_row.must_change_password
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_missing_accounts_are_404(staff, admin):
    assert admin.get("/admin/users/9999").status_code == 404
    assert post(admin, "/admin/users", "/admin/users/9999/disable").status_code == 404


# --- one's own account --------------------------------------------------------------------------------

def test_everyone_has_an_account_page_with_role_system_and_the_password_link(staff):
    client, _ = log_in(staff, "chen")
    page = client.get("/account").get_data(as_text=True)
    assert "我的帳號" in page and "chen" in page and "計畫承辦人" in page and "檢察" in page
    assert 'href="/account/password"' in page
    assert 'href="/account"' in client.get("/").get_data(as_text=True)


def test_a_user_issues_a_token_shown_once_with_its_expiry_and_revokes_it(staff, session):
    client, _ = log_in(staff, "lead")
    response = post(client, "/account", "/account/tokens", {"label": "dashboard"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    token = shown_secret(page)
    assert token and token.startswith("trk_")
    assert re.search(r"到期：\d+年\d+月\d+日 \d\d:\d\d:\d\d（\d{4}-\d\d-\d\dT\d\d:\d\d\+08:00）", page)
    assert "dashboard" in page and 'class="token-live"' in page
    assert shown_secret(client.get("/account").get_data(as_text=True)) is None
    assert api_status(client, token) == 200
    assert last_action(session).action == "token.issue"

    token_id = session.scalars(sa.select(ApiToken.id)).one()
    assert post(client, "/account", f"/account/tokens/{token_id}/revoke").status_code == 302
    assert api_status(client, token) == 401
    page = client.get("/account").get_data(as_text=True)
    assert 'class="token-revoked"' in page and "已撤銷" in page


def test_issuing_with_rotate_revokes_ones_other_tokens(staff, session):
    client, _ = log_in(staff, "lead")
    old = issue(staff, "lead")
    new = shown_secret(post(client, "/account", "/account/tokens", {"rotate": "y"}).get_data(as_text=True))
    assert (api_status(client, old), api_status(client, new)) == (401, 200)


def test_a_long_label_is_refused_on_the_field(staff, session):
    client, _ = log_in(staff, "lead")
    response = post(client, "/account", "/account/tokens", {"label": "x" * 65})
    assert response.status_code == 400
    assert re.search(r'<div class="field has-error">\s*<label for="label">', response.get_data(as_text=True))
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_only_an_admin_revokes_someone_elses_token(staff, admin, session):
    token = issue(staff, "chen")
    token_id = session.scalars(sa.select(ApiToken.id)).one()
    reader, _ = log_in(staff, "lead")
    assert post(reader, "/account", f"/account/tokens/{token_id}/revoke").status_code == 403
    assert api_status(reader, token) == 200
    assert "chen" not in reader.get("/account").get_data(as_text=True)  # nor sees it
    response = post(admin, "/account", f"/account/tokens/{token_id}/revoke")
    assert response.status_code == 302 and response.headers["Location"].endswith(page_of(session, "chen"))
    assert api_status(reader, token) == 401


@pytest.mark.parametrize("path", ["/admin/users/99999999999999999999", f"/admin/users/{2**31}", "/admin/users/0",
                                  "/admin/users/１２", "/projects/99999999999999999999",
                                  "/projects/1/reports/99999999-13"])
def test_ids_beyond_any_row_are_not_found_not_a_server_error(admin, path):
    assert admin.get(path).status_code in (400, 404), path


def test_a_revoke_of_a_token_id_beyond_range_is_not_found(admin):
    page = admin.get("/account").get_data(as_text=True)
    response = admin.post(f"/account/tokens/{2**63}/revoke", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 404
