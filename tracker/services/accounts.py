"""Accounts (帳號): create, disable, reset, change roles, issue and revoke API tokens, change passwords."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.domain import passwords
from tracker.domain.access import Action, Actor, Role, may
from tracker.models import ApiToken, System, User, as_utc, utcnow
from tracker.services import audit, login, systems
from tracker.domain.errors import FieldError

MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH
#: The refusal of a project manager without a system (create and set-role alike).
PM_NEEDS_SYSTEM = "計畫承辦人（project_manager）須指定所屬系統（--system，例如 檢察 或 prosecution）"
_NAME = re.compile(r"^[A-Za-z0-9_.@\-\u4e00-\u9fff]{2,64}$")


class AccountError(FieldError):
    """A refused account change; ``field`` names the input at fault."""


def actor_of(user: User | None) -> Actor | None:
    """The permission facts of a user."""
    if user is None:
        return None
    return Actor(role=Role(user.role), system_code=user.system.code if user.system else None, is_active=user.is_active)


def who_of(user: User, remote_addr: str | None = None) -> audit.Who:
    """The audit identity of a user."""
    return audit.Who(user.name, user.id, remote_addr)


def check_may(session: so.Session, who: audit.Who, action: Action, project_system_codes=()) -> None:
    """Every write service asks this: a person (``who`` with a user id) must be allowed the action, else
    PermissionError (a 403 on the web); a process without an account (the CLI at the server, the seed) may."""
    if who.user_id is None:
        return
    if not may(actor_of(session.get(User, who.user_id)), action, project_system_codes):
        raise PermissionError(f"{who.name} may not {action.value}")


def find_system(session: so.Session, text: str) -> System:
    """A system by its name as the plan writes it (檢察) or its short code (prosecution)."""
    text = (text or "").strip()
    system = systems.find_system_row(session, text)
    if system is None:
        known = ", ".join(f"{s.name} ({s.code})" for s in session.scalars(sa.select(System).order_by(System.sort_order)))
        raise AccountError("system", f"unknown system {text!r}; known: {known or 'none (run tracker init first)'}")
    return system


def check_password_rules(password: str, name: str) -> None:
    """Refuse a password the rules refuse (tracker.domain.passwords) for the account ``name``, saying which rule."""
    try:
        passwords.check_password(password, name)
    except passwords.PasswordRefused as refused:
        raise AccountError(refused.field, refused.message) from None


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def create_user(session: so.Session, name: str, role: str, password: str, system: str | None,
                who: audit.Who, must_change_password: bool = False, email: str | None = None) -> User:
    """Add a user; project managers need a system, and the name must be free."""
    check_may(session, who, Action.MANAGE_USERS)
    name = (name or "").strip()
    email = (email or "").strip() or None
    if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
        raise AccountError("email", f"不是有效的電子郵件地址：{email!r}")
    if not _NAME.match(name):
        raise AccountError("name", "帳號須為 2 至 64 個字母、數字、中文或 _ . @ -")
    try:
        role_ = Role(role)
    except ValueError:
        raise AccountError("role", f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}") from None
    system_row = find_system(session, system) if system else None
    if role_ is Role.PROJECT_MANAGER and system_row is None:
        raise AccountError("system", PM_NEEDS_SYSTEM)
    check_password_rules(password, name)
    if session.scalar(sa.select(User.id).where(User.name == name)) is not None:
        raise AccountError("name", f"帳號 {name!r} 已存在")
    user = User(name=name, role=role_.value, system=system_row, password_hash=generate_password_hash(password),
                must_change_password=must_change_password, email=email)
    session.add(user)
    session.flush()
    audit.record(session, who, "user.create", "user", user.id,
                 {"name": name, "role": role_.value, "system": system_row.name if system_row else None, "email": email})
    return user


def ensure_admin(session: so.Session, who: audit.Who = audit.CLI) -> tuple[str, str] | None:
    """Create an `admin` account with a one-time password when no admin exists; return (name, password)."""
    if session.scalar(sa.select(User.id).where(User.role == Role.ADMIN.value).limit(1)) is not None:
        return None
    name = "admin"
    while session.scalar(sa.select(User.id).where(User.name == name)) is not None:
        name = f"admin{secrets.randbelow(10_000)}"
    password = one_time_password(name)
    create_user(session, name, Role.ADMIN.value, password, None, who, must_change_password=True)
    return name, password


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- managing accounts (an admin's actions; the views check Action.MANAGE_USERS) -----------------

#: How long a token is valid when configuration says nothing (API_TOKEN_LIFETIME_DAYS).
DEFAULT_TOKEN_LIFETIME_DAYS = 90
#: A token's last use is written at most this often (seconds), so API calls do not each write a row.
TOKEN_USE_RECORD_SECONDS = 60
_LABEL_MAX = 64




def find_user(session: so.Session, name: str) -> User:
    """The account of this name, or AccountError naming the field."""
    user = session.scalar(sa.select(User).where(User.name == (name or "").strip()))
    if user is None:
        raise AccountError("name", f"no user named {name!r}")
    return user


def _end_sessions(session: so.Session, user: User, now: datetime) -> None:
    """End every signed-in session of the user: the epoch ends cookies signed before, the server rows end too."""
    user.session_epoch += 1
    login.end_sessions(session, user.id, now)


def _live_admin_ids(session: so.Session) -> list[int]:
    # Locked (PostgreSQL) so two admins demoting each other at once cannot leave none.
    return list(session.scalars(sa.select(User.id).where(User.role == Role.ADMIN.value, User.is_active.is_(True))
                                .order_by(User.id).with_for_update()))


def _refuse_last_admin(session: so.Session, user: User, field: str, doing: str) -> None:
    if user.role == Role.ADMIN.value and user.is_active and _live_admin_ids(session) == [user.id]:
        raise AccountError(field, f"{user.name} 是唯一啟用中的系統管理者，不能{doing}")


def disable_user(session: so.Session, user: User, who: audit.Who, now: datetime | None = None) -> int:
    """Disable an account: its sessions end and its tokens are revoked; returns how many tokens were revoked."""
    check_may(session, who, Action.MANAGE_USERS)
    now = now or utcnow()
    if not user.is_active:
        raise AccountError("name", f"帳號 {user.name} 已停用")
    if who.user_id == user.id:
        raise AccountError("name", "不能停用自己的帳號")
    _refuse_last_admin(session, user, "name", "停用")
    user.is_active = False
    user.disabled_at = now
    _end_sessions(session, user, now)
    revoked = _revoke_live_tokens(session, user, now)
    audit.record(session, who, "user.disable", "user", user.id,
                 {"name": user.name, "is_active": [True, False], "tokens_revoked": revoked})
    return len(revoked)


def enable_user(session: so.Session, user: User, who: audit.Who) -> None:
    """Enable a disabled account again (its old tokens stay revoked)."""
    check_may(session, who, Action.MANAGE_USERS)
    if user.is_active:
        raise AccountError("name", f"帳號 {user.name} 已是啟用狀態")
    user.is_active = True
    user.disabled_at = None
    audit.record(session, who, "user.enable", "user", user.id, {"name": user.name, "is_active": [False, True]})


def one_time_password(name: str) -> str:
    """A random password for the account of this name that passes the password rules (to be changed at login)."""
    while True:
        password = secrets.token_urlsafe(12)
        try:
            check_password_rules(password, name)
        except AccountError:
            continue
        return password


def reset_password(session: so.Session, user: User, who: audit.Who, now: datetime | None = None) -> str:
    """Give the account a one-time password (returned once, to show) to change at the next login.

    The account's sessions end and its tokens are revoked: whoever held the old password holds nothing.
    """
    check_may(session, who, Action.MANAGE_USERS)
    now = now or utcnow()
    if who.user_id == user.id:
        raise AccountError("name", "不能重設自己的密碼；請用「變更密碼」")
    password = one_time_password(user.name)
    user.password_hash = generate_password_hash(password)
    user.must_change_password = True
    _end_sessions(session, user, now)
    revoked = _revoke_live_tokens(session, user, now)
    audit.record(session, who, "user.password_reset", "user", user.id,
                 {"name": user.name, "must_change_password": True, "tokens_revoked": revoked})
    return password


def set_role(session: so.Session, user: User, role: str, system: str | None, who: audit.Who) -> None:
    """Change an account's role and system; a project manager needs a system, and one admin must stay."""
    check_may(session, who, Action.MANAGE_USERS)
    try:
        role_ = Role(role)
    except ValueError:
        raise AccountError("role", f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}") from None
    system_row = find_system(session, system) if (system or "").strip() else None
    if role_ is Role.PROJECT_MANAGER and system_row is None:
        raise AccountError("system", PM_NEEDS_SYSTEM)
    if role_.value == user.role and system_row is user.system:
        raise AccountError("role", "角色與系統皆未變更")
    if role_ is not Role.ADMIN:
        _refuse_last_admin(session, user, "role", "改為其他角色")
    changes = {}
    if role_.value != user.role:
        changes["role"] = [user.role, role_.value]
    if system_row is not user.system:
        changes["system"] = [user.system.name if user.system else None, system_row.name if system_row else None]
    user.role = role_.value
    user.system = system_row
    audit.record(session, who, "user.set_role", "user", user.id, {"name": user.name, **changes})


def unlock_user(session: so.Session, user: User, who: audit.Who, now: datetime | None = None) -> None:
    """Clear the login delay that failed guesses put on the account (the login module's unlock, audited)."""
    check_may(session, who, Action.MANAGE_USERS)
    login.unlock(session, user, who, now=now)


# --- API tokens -----------------------------------------------------------------------------------

def token_expires_at(row: ApiToken, lifetime_days: int = DEFAULT_TOKEN_LIFETIME_DAYS) -> datetime:
    """When a token stops working; one issued before tokens had an expiry lasts the lifetime from its issue."""
    return as_utc(row.expires_at) or as_utc(row.created_at) + timedelta(days=lifetime_days)


def token_state(row: ApiToken, now: datetime | None = None,
                lifetime_days: int = DEFAULT_TOKEN_LIFETIME_DAYS) -> str:
    """The token's state: "revoked", "expired" or "live"."""
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if (now or utcnow()) >= token_expires_at(row, lifetime_days) else "live"


def _live_tokens(session: so.Session, user: User, now: datetime) -> list[ApiToken]:
    return [row for row in session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id,
                                                                      ApiToken.revoked_at.is_(None)))
            if token_state(row, now) == "live"]


def _revoke_live_tokens(session: so.Session, user: User, now: datetime) -> list[int]:
    # Expired ones are revoked too: nothing the account held before stays, whatever the lifetime becomes.
    rows = list(session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                .order_by(ApiToken.id)))
    for row in rows:
        row.revoked_at = now
    return [row.id for row in rows]


def issue_token(session: so.Session, name: str, who: audit.Who, lifetime_days: int, label: str | None = None,
                rotate: bool = False, now: datetime | None = None) -> tuple[str, ApiToken]:
    """A new API token for a user, valid lifetime_days; only its hash is stored, so it is shown once.

    With rotate, every earlier token of the user still working is revoked.
    """
    now = now or utcnow()
    user = find_user(session, name)
    if who.user_id != user.id:
        check_may(session, who, Action.MANAGE_USERS)  # one's own token, or an admin's doing
    if not user.is_active:
        raise AccountError("name", f"帳號 {user.name} 已停用，不能發給憑證")
    if isinstance(lifetime_days, bool) or not isinstance(lifetime_days, int) or lifetime_days < 1:
        raise AccountError("lifetime_days", f"憑證效期須為至少 1 天的整數（API_TOKEN_LIFETIME_DAYS），而非 {lifetime_days!r}")
    label = (label or "").strip() or None
    if label is not None and len(label) > _LABEL_MAX:
        raise AccountError("label", f"說明至多 {_LABEL_MAX} 個字元")
    revoked: list[int] = []
    if rotate:
        for row in _live_tokens(session, user, now):
            row.revoked_at = now
            revoked.append(row.id)
    token = "trk_" + secrets.token_urlsafe(32)
    row = ApiToken(user=user, token_hash=_hash_token(token), created_at=now, label=label,
                   expires_at=now + timedelta(days=lifetime_days))
    session.add(row)
    session.flush()
    audit.record(session, who, "token.issue", "user", user.id,
                 {"token_id": row.id, "label": label, "expires_at": row.expires_at, "revoked": revoked})
    return token, row


def list_tokens(session: so.Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first (revoked and expired ones too)."""
    return list(session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(session: so.Session, user: User, token_id: int, who: audit.Who,
                 now: datetime | None = None) -> ApiToken:
    """Revoke one token of this user: one's own, or anyone's by an admin."""
    if who.user_id != user.id:
        check_may(session, who, Action.MANAGE_USERS)
    row = session.get(ApiToken, token_id) if isinstance(token_id, int) else None
    if row is None or row.user_id != user.id:
        raise AccountError("token_id", f"{user.name} 沒有編號 {token_id} 的憑證")
    if row.revoked_at is not None:
        raise AccountError("token_id", f"憑證 #{row.id} 已撤銷")
    row.revoked_at = now or utcnow()
    audit.record(session, who, "token.revoke", "user", user.id, {"token_id": row.id, "label": row.label})
    return row


def revoke_all_tokens(session: so.Session, user: User, who: audit.Who, now: datetime | None = None) -> int:
    """Revoke every token of this user not yet revoked; returns how many."""
    check_may(session, who, Action.MANAGE_USERS)
    revoked = _revoke_live_tokens(session, user, now or utcnow())
    audit.record(session, who, "token.revoke_all", "user", user.id, {"revoked": revoked})
    return len(revoked)


def user_for_token(session: so.Session, token: str, now: datetime | None = None,
                   lifetime_days: int = DEFAULT_TOKEN_LIFETIME_DAYS) -> User | None:
    """The active user a live bearer token belongs to, or None (unknown, revoked, expired, or a disabled user).

    Its last use is noted at most once a minute; the caller commits it.
    """
    if not token:
        return None
    row = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    now = now or utcnow()
    if row is None or not row.user.is_active or token_state(row, now, lifetime_days) != "live":
        return None
    last = as_utc(row.last_used_at)
    if last is None or now - last >= timedelta(seconds=TOKEN_USE_RECORD_SECONDS):
        row.last_used_at = now
    return row.user


def change_password(session: so.Session, user: User, current: str, new: str, who: audit.Who,
                    now: datetime | None = None) -> None:
    """Replace a password after checking the current one; the user's sessions and API tokens end."""
    now = now or utcnow()
    if not check_password_hash(user.password_hash, current or ""):
        raise AccountError("current_password", "目前密碼不正確")
    check_password_rules(new, user.name)
    if check_password_hash(user.password_hash, new):
        raise AccountError("new_password", "新密碼不可與目前密碼相同")
    user.password_hash = generate_password_hash(new)
    user.must_change_password = False
    _end_sessions(session, user, now)  # the view starts a new session for the browser that made the change
    revoked = _revoke_live_tokens(session, user, now)
    audit.record(session, who, "user.password_change", "user", user.id, {"tokens_revoked": revoked})

