"""POST /api/v1/projects/<id>/reports/<month>/attachments and GET /api/v1/attachments/<id>: a report's files."""
from __future__ import annotations

from flask import abort, current_app, g, jsonify, request

from tracker import db
from tracker.models import Project
from tracker.services import accounts, attachments
from tracker.web.api import bp
from tracker.web.attachments import file_response
from tracker.web.errors import api_error, field_errors
from tracker.web.params import ParamError, roc_month_param

#: The multipart field that carries the files (one or more).
FIELD = "files"


@bp.post("/projects/<id:project_id>/reports/<month>/attachments")
def upload_attachments(project_id: int, month: str):
    """Add photos or documents (JPEG, PNG, PDF) to the latest revision of a month's report; all or none."""
    try:
        when = roc_month_param({"month": month}, "month")
    except ParamError as error:
        return field_errors({"month": error.message})
    session = db.get_session()
    project = session.get(Project, project_id)
    if project is None:
        abort(404, description=f"沒有編號 {project_id} 的計畫")
    uploads = request.files.getlist(FIELD)  # reading the body: past MAX_CONTENT_LENGTH it is a 413
    if not uploads:
        return field_errors({FIELD: "請以 multipart/form-data 的 files 欄位上傳一或多個檔案（JPEG、PNG 或 PDF）"})
    files = [(storage.filename or "", storage.read()) for storage in uploads]
    try:
        rows = attachments.attach(session, project, when.roc_year, when.month, files,
                                  accounts.who_of(g.user, request.remote_addr), current_app.config)
    except attachments.AttachmentConflict as conflict:
        return api_error(409, str(conflict))
    except attachments.AttachmentRefused as refused:
        return field_errors(refused.errors)
    session.commit()
    response = jsonify({"attachments": [attachments.as_json(row) for row in rows]})
    response.status_code = 201
    return response


@bp.get("/attachments/<id:attachment_id>")
def attachment(attachment_id: int):
    """One file of a report, as it was uploaded (everyone with a token reads every programme)."""
    item = attachments.get(db.get_session(), attachment_id)
    if item is None:
        abort(404, description=f"沒有編號 {attachment_id} 的附件")
    return file_response(item)
