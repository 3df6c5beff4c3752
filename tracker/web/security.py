"""Log in for everything: load the user of the session, refuse the anonymous, set safe headers."""
from __future__ import annotations

from flask import Flask, abort, g, redirect, request, session, url_for

from tracker import db
from tracker.domain.access import Action, may
from tracker.models import Project, User
from tracker.services import accounts
from tracker.services.accounts import actor_of

#: Endpoints open without a session: the login page, the language switch, static files; the API checks its own tokens.
PUBLIC_ENDPOINTS = {"auth.login", "i18n.switch", "static"}
#: Endpoints a user who must change a one-time password may still reach.
PASSWORD_CHANGE_ENDPOINTS = {"auth.change_password", "auth.logout", "i18n.switch", "static"}
#: Files that scripts fetch: a Bearer token works for them as for the API.
TOKEN_ENDPOINTS = {"charts.gantt_file", "charts.s_curve", "charts.rates", "charts.report"}
#: Session keys that outlive a login, a logout and an ended session: the reader's language.
KEPT_ACROSS_SESSIONS = ("lang",)


def init_app(app: Flask) -> None:
    """Register the session gate and the security headers."""
    app.before_request(_load_user)
    app.after_request(_headers)


def clear_session() -> None:
    """Forget the user (and everything else in the session) but keep the reader's language."""
    kept = {key: session[key] for key in KEPT_ACROSS_SESSIONS if key in session}
    session.clear()
    session.update(kept)


def start_session(user: User) -> None:
    """Remember a freshly logged-in user (a new session: no fixation)."""
    clear_session()
    session.permanent = True
    session["uid"] = user.id
    session["epoch"] = user.session_epoch


def bearer_user() -> User | None | bool:
    """The user of an `Authorization: Bearer` token; False when a token is given but not valid, None when none is."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return accounts.user_for_token(db.get_session(), token.strip()) or False


def _load_user():
    g.user = None
    if request.blueprint == "api":
        return None
    if request.endpoint in TOKEN_ENDPOINTS and "Authorization" in request.headers:
        user = bearer_user()
        if not user:
            abort(401)
        g.user = user
        return None
    uid = session.get("uid")
    if uid is not None:
        user = db.get_session().get(User, uid)
        # A changed password or a deactivated account ends every session signed before it.
        if user is not None and user.is_active and user.session_epoch == session.get("epoch"):
            g.user = user
        else:
            clear_session()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if g.user is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None,
                                lang=request.args.get("lang")))  # a one-off ?lang= applies to the login page too
    if g.user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return redirect(url_for("auth.change_password"))
    return None


def may_edit(user: User | None, project: Project) -> bool:
    """May this user write to this project? (the one permission check, decided in the domain)."""
    return may(actor_of(user), Action.EDIT_PROJECT, [s.code for s in project.systems])


def require(action: Action, project: Project | None = None) -> None:
    """Abort with 403 unless the current user may do this."""
    codes = [s.code for s in project.systems] if project is not None else []
    if not may(actor_of(g.get("user")), action, codes):
        abort(403)


def _headers(response):
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response
