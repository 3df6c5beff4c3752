"""JSON API v1: Bearer tokens, one module per resource, every request checked against one description (schema)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, g, jsonify, request

from tracker.web.errors import api_error, field_errors
from tracker.web.params import BodyError, json_object
from tracker.web.security import bearer_user
from tracker.web.api.schema import API_MAX_BODY_BYTES, RequestRefused, check_body, openapi_document, parse_query

bp = Blueprint("api", __name__, url_prefix="/api/v1")
#: Operations that take files (multipart): their bodies are limited by MAX_CONTENT_LENGTH, not API_MAX_BODY_BYTES.
UPLOAD_ENDPOINTS = {"api.upload_attachments"}


@bp.before_request
def _authenticate():
    """Every API call needs `Authorization: Bearer <token>`; bodies are limited to API_MAX_BODY_BYTES."""
    # One byte over the limit is read, so a body streamed without a Content-Length is seen to be too large
    # (werkzeug would cut it silently at the limit, and the truncated JSON would be refused for the wrong reason).
    if request.endpoint not in UPLOAD_ENDPOINTS:
        request.max_content_length = API_MAX_BODY_BYTES + 1
    user = bearer_user()
    if not user:
        response = api_error(401, "缺少或無效的 API 憑證：請以 Authorization: Bearer <token> 呼叫")
        response.headers["WWW-Authenticate"] = 'Bearer realm="tracker"'
        return response
    g.user = user
    g.api_limits = {"per_page": current_app.config["API_MAX_PAGE_SIZE"]}
    return None


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(openapi_document(current_app.config["API_MAX_PAGE_SIZE"]))


def query(operation_id: str, **defaults):
    """The operation's query parameters as the document describes them; a 400 naming each bad one."""
    try:
        return parse_query(operation_id, request.args, defaults, g.get("api_limits"))
    except RequestRefused as refused:
        abort(field_errors(refused.errors))


def json_body(schema_name: str) -> dict:
    """The request's JSON object, checked against its schema; 400 naming each bad field, 413 when too large."""
    if request.content_length is not None and request.content_length > API_MAX_BODY_BYTES:
        abort(api_error(413, f"請求內容過大：至多 {API_MAX_BODY_BYTES // 1024} KiB"))
    if not request.is_json:
        abort(field_errors({"body": "請送出 JSON 物件（Content-Type: application/json）"}))
    data = request.get_data(cache=True)
    if len(data) > API_MAX_BODY_BYTES:
        abort(api_error(413, f"請求內容過大：至多 {API_MAX_BODY_BYTES // 1024} KiB"))
    try:
        body = json_object(data)
    except BodyError as error:
        abort(field_errors({"body": error.message}))
    try:
        check_body(schema_name, body)
    except RequestRefused as refused:
        abort(field_errors(refused.errors))
    return body


from tracker.web.api import alerts, attachments, audit, completeness, execution, kpis, milestones, projects, reports  # noqa: E402,F401  (the routes)
