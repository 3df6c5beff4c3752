"""Accounts: create users, issue API tokens, log in with throttling, change passwords."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.domain.access import Actor, Role
from tracker.models import ApiToken, LoginAttempt, System, User, utcnow
from tracker.services import audit
from tracker.domain.errors import FieldError

MIN_PASSWORD_LENGTH = 10
_NAME = re.compile(r"^[A-Za-z0-9_.@\-\u4e00-\u9fff]{2,64}$")
#: Compared against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(FieldError):
    """A refused account change; ``field`` names the input at fault."""


class LoginRefused(Exception):
    """A refused login; ``throttled`` when too many attempts came before it."""

    def __init__(self, message: str, throttled: bool = False):
        self.message = message
        self.throttled = throttled
        super().__init__(message)


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failed logins within how long before login is refused."""

    max_failures: int = 5
    window_seconds: int = 15 * 60


def actor_of(user: User | None) -> Actor | None:
    """The permission facts of a user."""
    if user is None:
        return None
    return Actor(role=Role(user.role), system_code=user.system.code if user.system else None, is_active=user.is_active)


def who_of(user: User, remote_addr: str | None = None) -> audit.Who:
    """The audit identity of a user."""
    return audit.Who(user.name, user.id, remote_addr)


def find_system(session: so.Session, text: str) -> System:
    """A system by its name as the plan writes it (檢察) or its short code (prosecution)."""
    text = (text or "").strip()
    system = session.scalar(sa.select(System).where(sa.or_(System.name == text, System.code == text.lower())))
    if system is None:
        known = ", ".join(f"{s.name} ({s.code})" for s in session.scalars(sa.select(System).order_by(System.sort_order)))
        raise AccountError("system", f"unknown system {text!r}; known: {known or 'none (run tracker init first)'}")
    return system


def check_password_rules(password: str) -> None:
    """Refuse a password too short or too plain to keep."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"密碼至少需 {MIN_PASSWORD_LENGTH} 個字元")
    if password.isdigit() or password.isalpha():
        raise AccountError("password", "密碼須同時包含字母與數字或符號")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def create_user(session: so.Session, name: str, role: str, password: str, system: str | None,
                who: audit.Who, must_change_password: bool = False, email: str | None = None) -> User:
    """Add a user; project managers need a system, and the name must be free."""
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
        raise AccountError("system", "a project_manager needs --system (e.g. 檢察 or prosecution)")
    check_password_rules(password)
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
    password = secrets.token_urlsafe(12) + "-1a"
    create_user(session, name, Role.ADMIN.value, password, None, who, must_change_password=True)
    return name, password


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: so.Session, name: str, who: audit.Who) -> str:
    """A new API token for a user; only its hash is stored, so it is shown once."""
    user = session.scalar(sa.select(User).where(User.name == name))
    if user is None:
        raise AccountError("name", f"no user named {name!r}")
    token = "trk_" + secrets.token_urlsafe(32)
    row = ApiToken(user=user, token_hash=_hash_token(token))
    session.add(row)
    session.flush()
    audit.record(session, who, "token.issue", "user", user.id, {"token_id": row.id})
    return token


def user_for_token(session: so.Session, token: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    if not token:
        return None
    row = session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.is_active:
        return None
    return row.user


def _recent_failures(session: so.Session, column, value: str, since: datetime) -> int:
    last_success = session.scalar(
        sa.select(sa.func.max(LoginAttempt.at)).where(column == value, LoginAttempt.succeeded.is_(True),
                                                      LoginAttempt.at >= since)
    )
    if last_success is not None:
        since = last_success
    return session.scalar(
        sa.select(sa.func.count()).select_from(LoginAttempt)
        .where(column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
    ) or 0


def log_in(session: so.Session, name: str, password: str, remote_addr: str, policy: ThrottlePolicy,
           now: datetime | None = None) -> User:
    """Check a password; refuse a wrong one or any attempt past the throttle. Every attempt is logged."""
    now = now or utcnow()
    name = (name or "").strip()[:64]
    since = now - timedelta(seconds=policy.window_seconds)
    by_name = _recent_failures(session, LoginAttempt.username, name, since)
    # An address gets more room than an account: several people may share one office proxy.
    by_addr = _recent_failures(session, LoginAttempt.remote_addr, remote_addr, since)
    who = audit.Who(name or "?", None, remote_addr)
    if by_name >= policy.max_failures or by_addr >= policy.max_failures * 4:
        session.add(LoginAttempt(username=name, remote_addr=remote_addr, at=now, succeeded=False))
        audit.record(session, who, "login.throttled", "user", None, {"name": name})
        minutes = max(1, policy.window_seconds // 60)
        raise LoginRefused(f"登入失敗次數過多，請於 {minutes} 分鐘後再試。", throttled=True)
    user = session.scalar(sa.select(User).where(User.name == name))
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    if not ok or user is None or not user.is_active:
        session.add(LoginAttempt(username=name, remote_addr=remote_addr, at=now, succeeded=False))
        audit.record(session, who, "login.failed", "user", user.id if user else None, {"name": name})
        raise LoginRefused("帳號或密碼錯誤。")
    session.add(LoginAttempt(username=name, remote_addr=remote_addr, at=now, succeeded=True))
    user.last_login_at = now
    audit.record(session, who_of(user, remote_addr), "login.succeeded", "user", user.id)
    return user


def change_password(session: so.Session, user: User, current: str, new: str, who: audit.Who) -> None:
    """Replace a password after checking the current one; other sessions of the user end."""
    if not check_password_hash(user.password_hash, current or ""):
        raise AccountError("current_password", "目前密碼不正確")
    check_password_rules(new)
    if check_password_hash(user.password_hash, new):
        raise AccountError("new_password", "新密碼不可與目前密碼相同")
    user.password_hash = generate_password_hash(new)
    user.must_change_password = False
    user.session_epoch += 1
    audit.record(session, who, "user.password_change", "user", user.id)

