"""Log in for everything: load the user of the session, refuse the anonymous, set safe headers."""
from __future__ import annotations

from flask import Flask, abort, current_app, g, redirect, request, session, url_for

from tracker import db
from tracker.domain.access import Action, may
from tracker.models import Project, User, utcnow
from tracker.services import accounts, login
from tracker.services.accounts import actor_of

#: Endpoints open without a session: the login page, the language switch, static files; the API checks its own tokens.
PUBLIC_ENDPOINTS = {"auth.login", "i18n.switch", "static", "health.healthz"}
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
    """Remember a freshly logged-in user in a new server-side session (a new id: no fixation); commits it."""
    clear_session()
    now = utcnow()
    session_ = db.get_session()
    sid = login.begin_session(session_, user, request.remote_addr, now)
    uid, epoch = user.id, user.session_epoch
    session_.commit()
    session.permanent = True  # idle lifetime: PERMANENT_SESSION_LIFETIME, renewed by every request
    session["sid"] = sid
    session["uid"] = uid
    session["epoch"] = epoch
    session["at"] = int(now.timestamp())  # the login time; the absolute lifetime counts from it


def end_session() -> None:
    """Log out: end this browser's session on the server (audited), then forget it here; commits."""
    user = g.get("user")
    if user is not None:
        session_ = db.get_session()
        login.log_out(session_, session.get("sid"), accounts.who_of(user, request.remote_addr))
        session_.commit()
    clear_session()


def session_user() -> User | None:
    """The user of this browser's session if the session is still open on the server (one indexed lookup)."""
    absolute = int(current_app.config["SESSION_ABSOLUTE_LIFETIME"])
    now = utcnow()
    login_at = session.get("at")
    # The cookie's own login time is checked first: an old cookie costs no query.
    if not isinstance(login_at, int) or login_at + absolute <= now.timestamp():
        return None
    return login.session_user(db.get_session(), session.get("sid"), session.get("uid"), session.get("epoch"),
                              absolute, now)


def bearer_user() -> User | None | bool:
    """The user of an `Authorization: Bearer` token; False when a token is given but not valid, None when none is."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    db_session = db.get_session()
    # Revoked, expired and disabled users' tokens are refused; a token issued before expiries lasts the lifetime.
    user = accounts.user_for_token(db_session, token.strip(),
                                   lifetime_days=current_app.config["API_TOKEN_LIFETIME_DAYS"])
    if user is not None and db_session.dirty:
        db_session.commit()  # the token's last use (noted at most once a minute), before the request's own work
    return user or False


def _load_user():
    g.user = None
    if request.blueprint == "api" or request.path.startswith("/api/"):
        return None  # the API checks its own tokens; a path or method it lacks is a JSON 404/405, not the login page
    if request.endpoint in TOKEN_ENDPOINTS and "Authorization" in request.headers:
        user = bearer_user()
        if not user:
            abort(401)
        g.user = user
        return None
    if session.get("uid") is not None:
        # A logout, a changed password, a disabled account or the absolute lifetime ends the session.
        user = session_user()
        if user is not None:
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
    if current_app.config["SESSION_COOKIE_SECURE"] and current_app.config["HSTS_SECONDS"]:
        # Secure cookies mean the site is served over HTTPS: browsers should never try plain HTTP again.
        response.headers.setdefault("Strict-Transport-Security",
                                    f"max-age={current_app.config['HSTS_SECONDS']}; includeSubDomains")
    return response
