"""Accounts: the admin's account pages (/admin/users) and every user's own account page (/account)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from tracker import db
from tracker.domain.access import Action, Role
from tracker.models import ApiToken, System, User, as_utc, utcnow
from tracker.services import accounts, login
from tracker.web.admin import _local_time
from tracker.web.filters import ROLE_NAMES
from tracker.web.security import require

bp = Blueprint("accounts", __name__)



class CreateUserForm(FlaskForm):
    """A new account; its one-time password is made for it and shown once."""

    name = StringField(_l("帳號"), validators=[DataRequired(_l("請輸入帳號")), Length(max=64)])
    role = SelectField(_l("角色"), choices=[SelectChoice(role.value, ROLE_NAMES[role]) for role in Role])
    system = SelectField(_l("所屬系統"), choices=[], validate_choice=False)
    email = StringField(_l("電子郵件（選填）"), validators=[Optional(), Length(max=254)])


class RoleForm(FlaskForm):
    """An account's role and system."""

    role = SelectField(_l("角色"), choices=[SelectChoice(role.value, ROLE_NAMES[role]) for role in Role])
    system = SelectField(_l("所屬系統"), choices=[], validate_choice=False)


class ActionForm(FlaskForm):
    """A button that changes something (disable, enable, reset, unlock, revoke): only its CSRF token."""


class TokenForm(FlaskForm):
    """A new API token for oneself."""

    label = StringField(_l("用途說明（選填）"), validators=[Optional(), Length(max=64, message=_l("至多 64 個字元"))])
    rotate = BooleanField(_l("同時撤銷我其他仍有效的憑證"))


def _system_choices() -> list[SelectChoice]:
    systems = db.get_session().scalars(sa.select(System).order_by(System.sort_order, System.id))
    return [SelectChoice("", _("（無）"))] + [SelectChoice(system.code, system.name) for system in systems]


def _who():
    return accounts.who_of(g.user, request.remote_addr)


def _shown_once(value: str, expires_at=None) -> dict:
    """A secret (a one-time password, a new token) for the answer to the POST that made it, and nowhere else:
    never in a cookie or a URL, so it cannot outlive this one page."""
    return {"value": value, "expires_at": expires_at.isoformat() if expires_at else None}


def _formatting() -> dict:
    """What the pages need to show ROC dates and Asia/Taipei times, and tokens' states."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    lifetime = current_app.config["API_TOKEN_LIFETIME_DAYS"]
    now = utcnow()
    return {"local_time": _local_time(tz), "timezone": current_app.config["TIMEZONE"],
            "expires_at": lambda row: accounts.token_expires_at(row, lifetime),
            "token_state": lambda row: accounts.token_state(row, now, lifetime),
            "lifetime_days": lifetime,
            "local_iso": lambda moment: as_utc(moment).astimezone(tz).isoformat(timespec="minutes"),
            "parse_time": lambda text: datetime.fromisoformat(text)}


def _failures(user_ids: list[int]) -> dict[int, int]:
    """Recent failed logins per account (the throttle's window), for the 「登入延遲」 mark."""
    since = utcnow() - timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])
    return login.account_failures(db.get_session(), user_ids, since)


def _user_or_404(user_id: int) -> User:
    user = db.get_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


# --- the admin's pages ------------------------------------------------------------------------------

def _users_page(form: CreateUserForm, status: int = 200):
    """Render the account list with the create form (its errors, if any)."""
    session_ = db.get_session()
    page_size = current_app.config["PAGE_SIZE"]
    total = session_.scalar(sa.select(sa.func.count()).select_from(User)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    users = list(session_.scalars(sa.select(User).order_by(User.name).offset((page - 1) * page_size)
                                  .limit(page_size)))
    return render_template("admin_users.html", users=users, form=form, total=total, page=page, pages=pages,
                           failures=_failures([user.id for user in users]),
                           max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                           window_minutes=current_app.config["LOGIN_WINDOW_SECONDS"] // 60,
                           **_formatting()), status


@bp.route("/admin/users")
def users_page():
    """Every account with its role, system, status and last login; a form to add one."""
    require(Action.MANAGE_USERS)
    form = CreateUserForm(formdata=None)
    form.system.choices = _system_choices()
    return _users_page(form)


@bp.route("/admin/users", methods=["POST"])
def create_user():
    """Add an account with a one-time password, shown once on its page."""
    require(Action.MANAGE_USERS)
    form = CreateUserForm()
    form.system.choices = _system_choices()
    if not form.validate_on_submit():
        return _users_page(form, 400)
    session_ = db.get_session()
    password = accounts.one_time_password(form.name.data.strip())
    try:
        user = accounts.create_user(session_, form.name.data, form.role.data, password, form.system.data or None,
                                    _who(), must_change_password=True, email=form.email.data)
    except accounts.AccountError as error:
        session_.rollback()
        getattr(form, error.field, form.name).errors.append(error.message)
        return _users_page(form, 400)
    session_.commit()
    flash(_("已新增帳號 %(name)s。", name=user.name), "success")
    return _user_page(user, once=_shown_once(password))  # the one-time password is shown on this answer only


def _user_page(user: User, role_form: RoleForm | None = None, errors: dict[str, str] | None = None,
               status: int = 200, once: dict | None = None):
    """Render one account's page; ``errors`` are the refusals of its buttons, by action."""
    if role_form is None:
        role_form = RoleForm(formdata=None, role=user.role, system=user.system.code if user.system else "")
    role_form.system.choices = _system_choices()
    return render_template("admin_user.html", user=user, role_form=role_form,
                           errors=errors or {}, tokens=accounts.list_tokens(db.get_session(), user),
                           once=once,
                           failures=_failures([user.id]).get(user.id, 0),
                           max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                           window_minutes=current_app.config["LOGIN_WINDOW_SECONDS"] // 60,
                           revoke_url=lambda row: url_for("accounts.revoke_user_token", user_id=user.id,
                                                          token_id=row.id),
                           **_formatting()), status


@bp.route("/admin/users/<id:user_id>")
def user_page(user_id: int):
    """One account: change its role and system, disable or enable, reset its password, unlock, revoke tokens."""
    require(Action.MANAGE_USERS)
    return _user_page(_user_or_404(user_id))


@bp.route("/admin/users/<id:user_id>/role", methods=["POST"])
def set_role(user_id: int):
    """Change an account's role and system."""
    require(Action.MANAGE_USERS)
    user = _user_or_404(user_id)
    form = RoleForm()
    form.system.choices = _system_choices()
    if not form.validate_on_submit():
        return _user_page(user, role_form=form, status=400)
    session_ = db.get_session()
    try:
        accounts.set_role(session_, user, form.role.data, form.system.data or None, _who())
    except accounts.AccountError as error:
        session_.rollback()
        getattr(form, error.field, form.role).errors.append(error.message)
        return _user_page(user, role_form=form, status=400)
    session_.commit()
    flash(_("已更新 %(name)s 的角色與系統。", name=user.name), "success")
    return redirect(url_for("accounts.user_page", user_id=user.id))


def _button(user_id: int, action: str, act, done):
    """Run one button's action on an account; a refusal is shown beside the button (400), never a 500."""
    require(Action.MANAGE_USERS)
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    session_ = db.get_session()
    try:
        result = act(session_, user)
    except accounts.AccountError as error:
        session_.rollback()
        return _user_page(user, errors={action: error.message}, status=400)
    session_.commit()
    flash(done(user, result), "success")
    if action == "reset":  # the one-time password is shown on this answer only
        return _user_page(user, once=_shown_once(result))
    return redirect(url_for("accounts.user_page", user_id=user.id))


@bp.route("/admin/users/<id:user_id>/disable", methods=["POST"])
def disable_user(user_id: int):
    """Disable an account: its sessions end at once and its tokens are revoked."""
    return _button(user_id, "disable", lambda s, user: accounts.disable_user(s, user, _who()),
                   lambda user, n: _("已停用 %(name)s：其登入工作階段已結束，%(n)s 個 API 憑證已撤銷。",
                                     name=user.name, n=n))


@bp.route("/admin/users/<id:user_id>/enable", methods=["POST"])
def enable_user(user_id: int):
    """Enable a disabled account again."""
    return _button(user_id, "enable", lambda s, user: accounts.enable_user(s, user, _who()),
                   lambda user, _result: _("已啟用 %(name)s。", name=user.name))


@bp.route("/admin/users/<id:user_id>/reset", methods=["POST"])
def reset_password(user_id: int):
    """Give an account a one-time password, shown once; its sessions and tokens end."""
    return _button(user_id, "reset", lambda s, user: accounts.reset_password(s, user, _who()),
                   lambda user, _password: _("已重設 %(name)s 的密碼；其登入工作階段與 API 憑證均已結束。",
                                             name=user.name))


@bp.route("/admin/users/<id:user_id>/unlock", methods=["POST"])
def unlock_user(user_id: int):
    """Clear the login delay that failed guesses put on an account."""
    return _button(user_id, "unlock", lambda s, user: accounts.unlock_user(s, user, _who()),
                   lambda user, _result: _("已解除 %(name)s 的登入延遲。", name=user.name))


@bp.route("/admin/users/<id:user_id>/tokens/revoke-all", methods=["POST"])
def revoke_all_tokens(user_id: int):
    """Revoke every API token of an account."""
    return _button(user_id, "revoke_all", lambda s, user: accounts.revoke_all_tokens(s, user, _who()),
                   lambda user, n: _("已撤銷 %(name)s 的 %(n)s 個 API 憑證。", name=user.name, n=n))


@bp.route("/admin/users/<id:user_id>/tokens/<id:token_id>/revoke", methods=["POST"])
def revoke_user_token(user_id: int, token_id: int):
    """Revoke one API token of an account."""
    return _button(user_id, f"revoke_{token_id}", lambda s, user: accounts.revoke_token(s, user, token_id, _who()),
                   lambda user, _row: _("已撤銷 %(name)s 的一個 API 憑證。", name=user.name))


# --- one's own account ------------------------------------------------------------------------------

def _account_page(form: TokenForm | None = None, errors: dict[str, str] | None = None, status: int = 200,
                  once: dict | None = None):
    """Render the user's own account page."""
    return render_template("account.html", user=g.user, form=form or TokenForm(formdata=None),
                           errors=errors or {},
                           tokens=accounts.list_tokens(db.get_session(), g.user),
                           once=once,
                           revoke_url=lambda row: url_for("accounts.revoke_own_token", token_id=row.id),
                           **_formatting()), status


@bp.route("/account")
def own_account():
    """The user's own account: name, role, system, a link to change the password, and the user's API tokens."""
    return _account_page()


@bp.route("/account/tokens", methods=["POST"])
def issue_own_token():
    """Issue an API token for oneself, shown once with its expiry; optionally revoke one's other tokens."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _account_page(form, status=400)
    session_ = db.get_session()
    try:
        token, row = accounts.issue_token(session_, g.user.name, _who(), current_app.config["API_TOKEN_LIFETIME_DAYS"],
                                          form.label.data, form.rotate.data)
    except accounts.AccountError as error:
        session_.rollback()
        getattr(form, error.field, form.label).errors.append(error.message)
        return _account_page(form, status=400)
    session_.commit()
    flash(_("已發給新的 API 憑證。") + (_("其他仍有效的憑證已撤銷。") if form.rotate.data else ""), "success")
    return _account_page(once=_shown_once(token, row.expires_at))  # shown on this answer only


@bp.route("/account/tokens/<id:token_id>/revoke", methods=["POST"])
def revoke_own_token(token_id: int):
    """Revoke one of one's API tokens (an admin may revoke anyone's here too)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    session_ = db.get_session()
    row = session_.get(ApiToken, token_id)
    if row is None:
        abort(404)
    if row.user_id != g.user.id:
        require(Action.MANAGE_USERS)  # only an admin revokes someone else's token
    try:
        accounts.revoke_token(session_, row.user, token_id, _who())
    except accounts.AccountError as error:
        session_.rollback()
        return _account_page(errors={f"revoke_{token_id}": error.message}, status=400)
    session_.commit()
    flash(_("已撤銷 API 憑證。"), "success")
    if row.user_id != g.user.id:
        return redirect(url_for("accounts.user_page", user_id=row.user_id))
    return redirect(url_for("accounts.own_account"))
