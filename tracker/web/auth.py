"""Log in, log out, change password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tracker import db
from tracker.domain.access import Role
from tracker.services import accounts, login as logins
from tracker.web.forms import LoginForm, PasswordForm
from tracker.web.security import end_session, start_session

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only a path on this site, never another host."""
    if not target:
        return url_for("portfolio.index")
    parts = urlsplit(target)
    # Browsers read "/\\host" as "//host" and drop tabs and newlines, so neither may reach a Location header.
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)):
        return url_for("portfolio.index")
    return target


def landing_page(user) -> str:
    """Where a user lands after logging in without a next=: leadership on the dashboard, others on the portfolio."""
    return url_for("dashboard.index") if user.role == Role.LEADERSHIP else url_for("portfolio.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login page."""
    if g.get("user") is not None and request.method == "GET":
        return redirect(landing_page(g.user))
    form = LoginForm()
    status = 200
    headers = {}
    if form.validate_on_submit():
        session_ = db.get_session()
        policy = logins.ThrottlePolicy.from_config(current_app.config)
        try:
            user = logins.log_in(session_, form.name.data, form.password.data, request.remote_addr or "-", policy)
        except logins.LoginRefused as refused:
            session_.commit()  # the failed attempt and its audit entry are kept
            if refused.throttled:
                form.password.errors.append(_("登入嘗試過於頻繁，請於 %(seconds)s 秒後再試。",
                                              seconds=refused.retry_after))
                status = 429
                headers["Retry-After"] = str(refused.retry_after)
            else:
                form.password.errors.append(_("帳號或密碼錯誤。"))
                status = 401
        else:
            session_.commit()
            start_session(user)
            if user.must_change_password:
                flash(_("這是一次性密碼，請先設定新密碼。"), "warning")
                return redirect(url_for("auth.change_password"))
            wanted = request.args.get("next")
            return redirect(safe_next(wanted) if wanted else landing_page(user))
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status, headers


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session, on the server too: a copy of the cookie stops working at once."""
    end_session()
    flash(_("已登出。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    """Choose a new password (required after a one-time password)."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        session_ = db.get_session()
        try:
            accounts.change_password(session_, g.user, form.current_password.data, form.new_password.data,
                                     accounts.who_of(g.user, request.remote_addr))
        except accounts.AccountError as error:
            getattr(form, error.field, form.new_password).errors.append(error.message)
            status = 400
        else:
            session_.commit()  # every session of the user has ended (services.accounts.change_password) ...
            start_session(g.user)  # ... and this browser gets a fresh one
            flash(_("密碼已更新。"), "success")
            return redirect(url_for("portfolio.index"))
    elif request.method == "POST":
        status = 400
    return render_template("password.html", form=form), status
