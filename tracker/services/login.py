"""Logging in (登入): a throttle that slows guessing without locking owners out, and sessions that end.

The throttle counts failed logins in the database (login_attempts), so every web worker sees the same
counts. Failures are counted two ways:

- per account: since the account's last success or an admin's unlock, within the window. A name that is
  no account is counted the same way by its name, so the throttle does not tell which names exist;
- per client address: failures on existing accounts only, within the window; a success does not reset it.

Only an address that is *failing* for the account (it failed on that account in the counted period, or it
reached the address threshold) is slowed: it must wait ``base * 2 ** (n - threshold)`` seconds (capped)
after its own last failure. An attempt inside the wait is refused without looking at the password and
is not counted. A right password from any other address gets in, so an attacker cannot keep an owner out.

This module imports nothing from services.accounts, so accounts may import it.
"""
from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.models import LoginAttempt, User, UserSession, as_utc, utcnow
from tracker.services import audit

#: Compared against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")
#: The one answer to a wrong password, an unknown name and a disabled account alike.
WRONG_CREDENTIALS = "帳號或密碼錯誤。"
#: Random bytes in a session id (kept only in the signed cookie; the database keeps its SHA-256).
SESSION_ID_BYTES = 32


class LoginRefused(Exception):
    """A refused login; ``throttled`` (with ``retry_after`` seconds) when the address must wait first."""

    def __init__(self, message: str, throttled: bool = False, retry_after: int | None = None):
        self.message = message
        self.throttled = throttled
        self.retry_after = retry_after
        super().__init__(message)


@dataclass(frozen=True)
class ThrottlePolicy:
    """The login throttle's numbers (config LOGIN_*): thresholds, the counting window and the delays."""

    #: Failures on one account after which a failing address waits before each further attempt.
    max_failures: int = 5
    #: Failures on existing accounts from one address after which it waits before any attempt.
    address_max_failures: int = 20
    #: Failures older than this are forgotten.
    window_seconds: int = 15 * 60
    #: The first wait; it doubles with every further failure ...
    delay_base_seconds: float = 2
    #: ... up to this.
    delay_max_seconds: float = 300

    @classmethod
    def from_config(cls, config: Mapping) -> ThrottlePolicy:
        """The policy set in the app's configuration (LOGIN_MAX_FAILURES, LOGIN_ADDRESS_MAX_FAILURES, ...)."""
        return cls(max_failures=int(config["LOGIN_MAX_FAILURES"]),
                   address_max_failures=int(config["LOGIN_ADDRESS_MAX_FAILURES"]),
                   window_seconds=int(config["LOGIN_WINDOW_SECONDS"]),
                   delay_base_seconds=float(config["LOGIN_DELAY_BASE_SECONDS"]),
                   delay_max_seconds=float(config["LOGIN_DELAY_MAX_SECONDS"]))

    def delay(self, failures: int, threshold: int) -> float:
        """The wait after ``failures`` failures against a ``threshold``: 0 below it, then base, 2×base, … up to the cap."""
        if failures < threshold:
            return 0.0
        # The exponent is bounded so a flood of failures cannot overflow a float.
        return min(self.delay_max_seconds, self.delay_base_seconds * 2 ** min(failures - threshold, 64))


def _wait_seconds(session: so.Session, user: User | None, name: str, remote_addr: str, policy: ThrottlePolicy,
                  now: datetime) -> float:
    """How long this address must still wait before it may try this account (or name); 0 when it may now."""
    window_start = now - timedelta(seconds=policy.window_seconds)
    failed = LoginAttempt.succeeded.is_(False)
    if user is not None:
        on_account = LoginAttempt.user_id == user.id
        last_success = session.scalar(
            sa.select(sa.func.max(LoginAttempt.at))
            .where(on_account, LoginAttempt.succeeded.is_(True), LoginAttempt.at > window_start))
        since = max(t for t in (window_start, as_utc(user.login_unlocked_at), as_utc(last_success)) if t is not None)
    else:
        # A name no account has: its own failures slow it exactly as an account's would.
        on_account = sa.and_(LoginAttempt.username == name, LoginAttempt.user_id.is_(None))
        since = window_start
    from_here = LoginAttempt.remote_addr == remote_addr
    account_failures, last_here_on_account = session.execute(
        sa.select(sa.func.count(), sa.func.max(sa.case((from_here, LoginAttempt.at))))
        .where(on_account, failed, LoginAttempt.at > since)).one()
    address_failures, last_here = session.execute(
        sa.select(sa.func.count(), sa.func.max(LoginAttempt.at))
        .where(from_here, failed, LoginAttempt.user_id.is_not(None), LoginAttempt.at > window_start)).one()
    failing = last_here_on_account is not None or address_failures >= policy.address_max_failures
    if not failing:
        return 0.0
    delay = max(policy.delay(account_failures, policy.max_failures),
                policy.delay(address_failures, policy.address_max_failures))
    if delay <= 0:
        return 0.0
    last_failure = max(t for t in (as_utc(last_here_on_account), as_utc(last_here)) if t is not None)
    return max(0.0, (last_failure + timedelta(seconds=delay) - now).total_seconds())


def log_in(session: so.Session, name: str, password: str, remote_addr: str, policy: ThrottlePolicy,
           now: datetime | None = None) -> User:
    """Check a password, unless this address must wait first; every checked attempt is kept, every one audited."""
    now = as_utc(now) or utcnow()
    name = (name or "").strip()[:64]
    remote_addr = (remote_addr or "-")[:64]
    user = session.scalar(sa.select(User).where(User.name == name)) if name else None
    who = audit.Who(name or "?", None, remote_addr)
    wait = _wait_seconds(session, user, name, remote_addr, policy, now)
    if wait > 0:
        # Not checked and not counted: refused attempts can neither guess nor lengthen the wait.
        seconds = max(1, math.ceil(wait))
        audit.record(session, who, "login.throttled", "user", user.id if user else None,
                     {"name": name, "retry_after": seconds})
        raise LoginRefused(f"登入嘗試過於頻繁，請於 {seconds} 秒後再試。", throttled=True, retry_after=seconds)
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    if not ok or user is None or not user.is_active:
        session.add(LoginAttempt(username=name, remote_addr=remote_addr, at=now, succeeded=False,
                                 user_id=user.id if user else None))
        audit.record(session, who, "login.failed", "user", user.id if user else None, {"name": name})
        raise LoginRefused(WRONG_CREDENTIALS)
    session.add(LoginAttempt(username=name, remote_addr=remote_addr, at=now, succeeded=True, user_id=user.id))
    user.last_login_at = now
    audit.record(session, audit.Who(user.name, user.id, remote_addr), "login.succeeded", "user", user.id)
    return user


def account_failures(session: so.Session, user_ids: list[int], since: datetime) -> dict[int, int]:
    """Failed logins per account since a moment, after its last success or unlock: the count the throttle
    holds against each account, for a page that lists many (one query)."""
    if not user_ids:
        return {}
    last_success = (sa.select(sa.func.max(LoginAttempt.at)).where(LoginAttempt.user_id == User.id,
                                                                  LoginAttempt.succeeded.is_(True))
                    .correlate(User).scalar_subquery())
    rows = session.execute(
        sa.select(User.id, sa.func.count(LoginAttempt.id))
        .join(LoginAttempt, LoginAttempt.user_id == User.id)
        .where(User.id.in_(user_ids), LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since,
               sa.or_(User.login_unlocked_at.is_(None), LoginAttempt.at > User.login_unlocked_at),
               sa.or_(last_success.is_(None), LoginAttempt.at > last_success))
        .group_by(User.id)
    )
    return {user_id: count for user_id, count in rows}


def unlock(session: so.Session, user: User, who: audit.Who, *, now: datetime | None = None) -> None:
    """Forget an account's failed logins (an admin's unlock): no address waits for it any more on their account."""
    user.login_unlocked_at = as_utc(now) or utcnow()
    audit.record(session, who, "user.unlock", "user", user.id, {"name": user.name})


# --- server-side sessions ----------------------------------------------------------------------------


def hash_session_id(sid: str) -> str:
    """The SHA-256 (hex) of a session id, as user_sessions keeps it."""
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def begin_session(session: so.Session, user: User, remote_addr: str | None, now: datetime | None = None) -> str:
    """Open a server-side session for a user who just logged in; returns its random id, for the signed cookie."""
    sid = secrets.token_urlsafe(SESSION_ID_BYTES)
    session.add(UserSession(sid_hash=hash_session_id(sid), user_id=user.id, created_at=as_utc(now) or utcnow(),
                            remote_addr=(remote_addr or None) and remote_addr[:64]))
    session.flush()
    return sid


def session_user(session: so.Session, sid: str, user_id: int, epoch: int, absolute_lifetime_seconds: int,
                 now: datetime | None = None) -> User | None:
    """The user of a session cookie, if its session is open, young enough, and its user active at that epoch."""
    if not isinstance(sid, str) or not sid or not isinstance(user_id, int):
        return None
    # One indexed lookup (the unique sid_hash) brings the session's start and its user together.
    row = session.execute(
        sa.select(User, UserSession.created_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.sid_hash == hash_session_id(sid), UserSession.ended_at.is_(None), User.id == user_id)
    ).first()
    if row is None:
        return None
    user, created_at = row
    now = as_utc(now) or utcnow()
    if not user.is_active or user.session_epoch != epoch:
        return None
    if as_utc(created_at) + timedelta(seconds=absolute_lifetime_seconds) <= now:
        return None
    return user


def log_out(session: so.Session, sid: str | None, who: audit.Who, now: datetime | None = None) -> None:
    """End this browser's session on the server too, so a copied cookie stops working at once; audited."""
    if sid:
        session.execute(sa.update(UserSession)
                        .where(UserSession.sid_hash == hash_session_id(sid), UserSession.ended_at.is_(None))
                        .values(ended_at=as_utc(now) or utcnow()))
    audit.record(session, who, "logout", "user", who.user_id)


def end_sessions(session: so.Session, user_id: int, now: datetime | None = None,
                 except_sid_hash: str | None = None) -> int:
    """End every open session of a user (all but one, if ``except_sid_hash`` names it); returns how many ended."""
    where = [UserSession.user_id == user_id, UserSession.ended_at.is_(None)]
    if except_sid_hash is not None:
        where.append(UserSession.sid_hash != except_sid_hash)
    result = session.execute(sa.update(UserSession).where(*where).values(ended_at=as_utc(now) or utcnow()))
    return result.rowcount or 0
