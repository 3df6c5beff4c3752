"""A report's files for people who are logged in: GET /attachments/<id> and its thumbnail.

Everyone logged in reads every programme, so every logged-in user reads its files (the session gate in
tracker/web/security.py sends the anonymous to the login page). The bytes go out as the type their content
was recognised as, never sniffed, in a sandbox: a file cannot run script on the tracker's pages.
"""
from __future__ import annotations

import io

from flask import Blueprint, Response, abort, send_file
from flask_babel import gettext as _

from tracker import db
from tracker.domain import attachments as rules
from tracker.models import ReportAttachment
from tracker.services import attachments

bp = Blueprint("attachments", __name__)

#: A photo shown on its own: nothing in it runs, and it may load nothing.
IMAGE_POLICY = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
#: A PDF: Chrome will not run its PDF viewer in a sandboxed document ("blocked by Chrome"), so a PDF gets the
#: same policy without the sandbox; its bytes were checked to be a PDF and nosniff keeps them one.
PDF_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


def file_response(item: ReportAttachment, thumbnail: bool = False) -> Response:
    """The file (or its thumbnail) inline, with its own type, a safe name (RFC 5987 for Chinese), nosniff."""
    if thumbnail:
        if item.thumbnail is None:
            abort(404, description=_("這個附件是文件，沒有縮圖。"))
        data, mimetype = item.thumbnail, rules.JPEG
        stem = item.name.rpartition(".")[0] or item.name
        name = f"{stem}-縮圖.jpg"
    else:
        data, mimetype, name = item.data, item.content_type, item.name
    # werkzeug writes filename= (ASCII) and filename*=UTF-8''… (RFC 5987) from the clean name
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=False, download_name=name,
                         etag=f"{item.sha256}{'-thumb' if thumbnail else ''}", conditional=True, max_age=None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = PDF_POLICY if mimetype == rules.PDF else IMAGE_POLICY
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _found(attachment_id: int) -> ReportAttachment:
    item = attachments.get(db.get_session(), attachment_id)
    if item is None:
        abort(404, description=_("沒有編號 %(id)s 的附件。", id=attachment_id))
    return item


@bp.get("/attachments/<id:attachment_id>")
def file(attachment_id: int):
    """A report's photo or document, as it was uploaded."""
    return file_response(_found(attachment_id))


@bp.get("/attachments/<id:attachment_id>/thumb")
def thumbnail(attachment_id: int):
    """A photo's thumbnail (240 px JPEG); 404 for a document."""
    return file_response(_found(attachment_id), thumbnail=True)


@bp.app_template_global()
def report_attachments(project_id: int) -> dict[tuple[int, int], list[ReportAttachment]]:
    """A programme's files by (ROC year, month), without their bytes, for the project page (one query)."""
    return attachments.by_month(db.get_session(), project_id)


@bp.app_template_filter("file_size")
def file_size(size: int) -> str:
    """Bytes for people: 「2.4 MB」."""
    return rules.format_size(size)
