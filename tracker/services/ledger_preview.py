"""Preview, then commit: an uploaded ledger file is kept until its officer confirms it, and written only if the
figures it would change are still as they were when it was previewed."""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.models import LedgerPreview, User, as_utc, utcnow
from tracker.services import audit, ledger_import
from tracker.services.ledger_history import sha256_of
from tracker.services.ledger_import import Change, ImportResult

#: How long a preview may wait for its confirmation (TRACKER_LEDGER_PREVIEW_MINUTES overrides it).
DEFAULT_LIFETIME = timedelta(hours=1)
_FILENAME_LENGTH = 255
_ACTOR_LENGTH = 64

STALE = "預覽後資料已被其他匯入變更，請重新上傳預覽"


class PreviewRefused(Exception):
    """A confirmation that cannot be carried out; the message says why, in Chinese."""


def fingerprint(changes: list[Change]) -> str:
    """A digest of the stored values of every figure row the file would change or create (absent rows included)."""
    items = sorted(
        [change.table, [str(part) for part in change.key_tuple],
         None if change.before is None else {f: format(v.normalize(), "f") for f, v in sorted(change.before.items())}]
        for change in changes)
    return hashlib.sha256(json.dumps(items, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def lifetime_of(config: Any) -> timedelta:
    """The preview lifetime a configuration sets (LEDGER_PREVIEW_MINUTES), else an hour."""
    minutes = config.get("LEDGER_PREVIEW_MINUTES") if config is not None else None
    return timedelta(minutes=int(minutes)) if minutes else DEFAULT_LIFETIME


def clean_expired(session: so.Session, lifetime: timedelta = DEFAULT_LIFETIME) -> int:
    """Delete previews older than ``lifetime``; how many."""
    return session.execute(sa.delete(LedgerPreview).where(LedgerPreview.created_at < utcnow() - lifetime)).rowcount


@dataclass
class Preview:
    """A stored preview and what the file would do."""

    token: str
    filename: str
    result: ImportResult


def preview(session: so.Session, filename: str, data: bytes, who: audit.Who, *, user: User | None,
            lifetime: timedelta = DEFAULT_LIFETIME, config=None) -> Preview:
    """Check the file and keep it for confirmation; nothing is written to the figures. The caller commits.

    Raises ImportRefused (nothing kept) or PermissionError as import_ledger does.
    """
    result = ledger_import.import_ledger(session, filename, data, who, user=user, dry_run=True, config=config)
    clean_expired(session, lifetime)
    token = secrets.token_urlsafe(32)
    session.add(LedgerPreview(token=token, user_id=who.user_id, actor=who.name[:_ACTOR_LENGTH],
                              filename=(filename or "")[:_FILENAME_LENGTH], sha256=sha256_of(data), data=data,
                              fingerprint=fingerprint(result.changes)))
    session.flush()
    return Preview(token=token, filename=filename, result=result)


def confirm(session: so.Session, token: str, who: audit.Who, *, user: User | None,
            lifetime: timedelta = DEFAULT_LIFETIME, progress=None, config=None) -> ImportResult:
    """Write a previewed file: checked again, refused (PreviewRefused) if it expired, belongs to someone else or the
    figures it would change changed since; recorded in the history; the preview is deleted. The caller commits
    (and rescans). ImportRefused when the file no longer passes the checks."""
    row = session.scalars(sa.select(LedgerPreview).where(LedgerPreview.token == (token or ""))
                          .with_for_update()).one_or_none()
    if row is None:
        raise PreviewRefused("找不到這份預覽（可能已匯入或已逾時），請重新上傳預覽")
    if row.user_id != who.user_id:
        raise PreviewRefused("只有上傳這份預覽的人可以確認匯入")
    if as_utc(row.created_at) < utcnow() - lifetime:
        session.delete(row)
        clean_expired(session, lifetime)
        raise PreviewRefused(
            f"預覽已逾時（超過 {int(lifetime.total_seconds() // 60)} 分鐘），未寫入任何資料，請重新上傳預覽")
    expected = row.fingerprint

    def unchanged_since_preview(result: ImportResult) -> None:
        if fingerprint(result.changes) != expected:
            raise PreviewRefused(STALE)

    result = ledger_import.import_ledger(session, row.filename, row.data, who, progress, user=user,
                                         before_write=unchanged_since_preview, config=config)
    session.delete(row)
    session.flush()
    return result
