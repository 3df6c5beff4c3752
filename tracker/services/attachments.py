"""Attachments of a month's progress report (施工照片 and documents), kept in the database (report_attachments).

`check_uploads` checks every file (kind by content, sizes, images decoded, thumbnails made) before anything is
written; `save` adds the rows in the caller's transaction and never commits, so a report and its files are
saved together or not at all. Every web server and the monthly PDF read the same rows; a backup of the
database (pg_dump, or a copy of the SQLite file) holds them.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any, Mapping

import sqlalchemy as sa
import sqlalchemy.orm as so
from PIL import Image, ImageOps

from tracker.domain import attachments as rules
from tracker.domain.access import Action
from tracker.models import ProgressReport, Project, ReportAttachment, as_utc
from tracker.services import accounts, audit

#: Pillow refuses larger images outright (a decompression bomb: a few KB of PNG that unpack to gigabytes).
#: 60 million pixels admits a 50-megapixel phone photo (8160 × 6120).
MAX_IMAGE_PIXELS = 60_000_000
#: A PNG is decoded whole (no reduced-size draft as for a JPEG), so it gets a tighter bound: 4 bytes a pixel.
MAX_PNG_PIXELS = 25_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
#: The thumbnail's longest side, in pixels, and its JPEG quality.
THUMBNAIL_SIDE = 240
THUMBNAIL_QUALITY = 80
_PILLOW_FORMATS = {rules.JPEG: "JPEG", rules.PNG: "PNG"}


class AttachmentRefused(ValueError):
    """Files refused: ``errors`` maps each file's name to a message naming it and why. Nothing was written."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("；".join(errors.values()))


class AttachmentConflict(Exception):
    """The month cannot take files now (no report yet, or approved and frozen); the message says why."""


@dataclass(frozen=True)
class Checked:
    """A file that passed every check, ready to save: name, kind, bytes, digest and (a photo's) thumbnail."""

    name: str
    content_type: str
    data: bytes
    size: int
    sha256: str
    thumbnail: bytes | None


def limits_from(config: Mapping[str, Any]) -> rules.Limits:
    """The size limits in configuration (ATTACHMENT_MAX_BYTES, ATTACHMENT_REPORT_MAX_BYTES)."""
    return rules.Limits(int(config["ATTACHMENT_MAX_BYTES"]), int(config["ATTACHMENT_REPORT_MAX_BYTES"]))


def make_thumbnail(data: bytes, content_type: str) -> bytes:
    """A JPEG at most THUMBNAIL_SIDE pixels a side, upright as the camera held it; ValueError for a bad image."""
    try:
        with warnings.catch_warnings():
            # Over MAX_IMAGE_PIXELS Pillow only warns (and raises past twice that): refuse both alike.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[content_type]]) as image:
                width, height = image.size
                if width * height > (MAX_PNG_PIXELS if content_type == rules.PNG else MAX_IMAGE_PIXELS):
                    raise ValueError("too many pixels")
                if content_type == rules.JPEG:
                    image.draft("RGB", (THUMBNAIL_SIDE * 2, THUMBNAIL_SIDE * 2))  # decode at a fraction of the size
                image.load()  # the whole image: a file cut short fails here, not later on a page
                picture = ImageOps.exif_transpose(image)
                if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
                    picture = picture.convert("RGBA")
                    background = Image.new("RGB", picture.size, "white")
                    background.paste(picture, mask=picture.getchannel("A"))
                    picture = background
                else:
                    picture = picture.convert("RGB")
                picture.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
                out = io.BytesIO()
                picture.save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
                return out.getvalue()
    except Exception as error:  # noqa: BLE001 - a decoder meets hostile bytes: any failure means "not an image"
        raise ValueError(str(error) or type(error).__name__) from None


def check_uploads(files: list[tuple[str, bytes]], existing_total: int, config: Mapping[str, Any]) -> list[Checked]:
    """Check every (name, bytes) and make the photos' thumbnails; AttachmentRefused naming each bad file.

    ``existing_total`` is the bytes the month already holds (`month_total`). Nothing is written.
    """
    accepted, errors = rules.check_files(files, existing_total, limits_from(config))
    checked = []
    for item in accepted:
        thumbnail = None
        if item.is_image:
            try:
                thumbnail = make_thumbnail(item.data, item.content_type)
            except ValueError:
                errors[rules.error_key(errors, item.name)] = rules.refusal(item.name, rules.BAD_IMAGE)
                continue
        checked.append(Checked(item.name, item.content_type, item.data, item.size, item.sha256, thumbnail))
    if errors:
        raise AttachmentRefused(errors)
    return checked


def save(session: so.Session, project: Project, year_roc: int, month: int, revision: int, checked: list[Checked],
         who: audit.Who) -> list[ReportAttachment]:
    """Add checked files to a month's report (the revision they come with), audited; flushes, never commits."""
    accounts.check_may(session, who, Action.EDIT_PROJECT, [s.code for s in project.systems])
    rows = []
    for item in checked:
        row = ReportAttachment(project_id=project.id, year_roc=year_roc, month=month, revision=revision,
                               name=item.name, content_type=item.content_type, size=item.size, sha256=item.sha256,
                               data=item.data, thumbnail=item.thumbnail, uploaded_by_id=who.user_id)
        session.add(row)
        rows.append(row)
    session.flush()
    for row in rows:
        audit.record(session, who, "attachment.add", "project", project.id, {
            "attachment_id": row.id, "year_roc": year_roc, "month": month, "revision": revision,
            "name": row.name, "content_type": row.content_type, "size": row.size, "sha256": row.sha256})
    return rows


def latest_revision(session: so.Session, project_id: int, year_roc: int, month: int) -> ProgressReport | None:
    """The month's latest report revision (its state is the month's), or None when it is not reported."""
    return session.scalars(sa.select(ProgressReport).where(
        ProgressReport.project_id == project_id, ProgressReport.year_roc == year_roc, ProgressReport.month == month)
        .order_by(ProgressReport.revision.desc()).limit(1)).first()


def attach(session: so.Session, project: Project, year_roc: int, month: int, files: list[tuple[str, bytes]],
           who: audit.Who, config: Mapping[str, Any]) -> list[ReportAttachment]:
    """Add files to the latest revision of a month's report (the API's upload); never commits.

    PermissionError for one who may not write the programme; AttachmentConflict when the month has no
    report or is approved (frozen); AttachmentRefused naming each bad file. Nothing is written on a refusal.
    """
    accounts.check_may(session, who, Action.EDIT_PROJECT, [s.code for s in project.systems])
    report = latest_revision(session, project.id, year_roc, month)
    if report is None:
        raise AttachmentConflict(f"{year_roc}年{month}月：本月尚未填報，請先填報月進度再附加檔案")
    if report.state == "approved":
        raise AttachmentConflict(f"{year_roc}年{month}月的月報已核定，不能再附加檔案；"
                                 "如需更正，請填報新版本")
    checked = check_uploads(files, month_total(session, project.id, year_roc, month), config)
    return save(session, project, year_roc, month, report.revision, checked, who)


def for_month(session: so.Session, project_id: int, year_roc: int, month: int,
              up_to_revision: int | None = None) -> list[ReportAttachment]:
    """The month's files in the order they came (without their bytes); only up to a revision when given."""
    query = sa.select(ReportAttachment).where(
        ReportAttachment.project_id == project_id, ReportAttachment.year_roc == year_roc,
        ReportAttachment.month == month)
    if up_to_revision is not None:
        query = query.where(ReportAttachment.revision <= up_to_revision)
    return list(session.scalars(query.order_by(ReportAttachment.id)))


def by_month(session: so.Session, project_id: int) -> dict[tuple[int, int], list[ReportAttachment]]:
    """Every file of a programme (without bytes), by (ROC year, month), in the order they came: one query."""
    found: dict[tuple[int, int], list[ReportAttachment]] = {}
    for row in session.scalars(sa.select(ReportAttachment).where(ReportAttachment.project_id == project_id)
                               .order_by(ReportAttachment.id)):
        found.setdefault((row.year_roc, row.month), []).append(row)
    return found


def month_total(session: so.Session, project_id: int, year_roc: int, month: int) -> int:
    """The bytes the month's files hold together (the report's limit counts them)."""
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(ReportAttachment.size), 0)).where(
        ReportAttachment.project_id == project_id, ReportAttachment.year_roc == year_roc,
        ReportAttachment.month == month)) or 0)


def get(session: so.Session, attachment_id: int) -> ReportAttachment | None:
    """One file (its bytes are loaded when read)."""
    return session.get(ReportAttachment, attachment_id)


def first_photo(session: so.Session, project_id: int, year_roc: int, month: int) -> bytes | None:
    """The bytes of the month's newest photo (JPEG or PNG), for the monthly PDF; None when it has none."""
    return session.scalar(sa.select(ReportAttachment.data).where(
        ReportAttachment.project_id == project_id, ReportAttachment.year_roc == year_roc,
        ReportAttachment.month == month, ReportAttachment.content_type.in_(rules.IMAGE_TYPES))
        .order_by(ReportAttachment.id.desc()).limit(1))


def url_of(a: ReportAttachment) -> str:
    """Where an API client fetches the file (GET /api/v1/attachments/<id>, with its token)."""
    from flask import has_request_context, url_for

    if has_request_context():
        return url_for("api.attachment", attachment_id=a.id)
    return f"/api/v1/attachments/{a.id}"


def as_json(a: ReportAttachment) -> dict:
    """A file as the API shows it (the Attachment schema)."""
    return {"id": a.id, "name": a.name, "size": a.size, "type": a.content_type, "url": url_of(a),
            "revision": a.revision, "uploaded_at": as_utc(a.uploaded_at).isoformat()}
