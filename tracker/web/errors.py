"""Errors get a page (or JSON under /api/), never a stack trace."""
from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden, HTTPException, InternalServerError, MethodNotAllowed

from tracker.logs import current_request_id
from tracker.services.ledger_files import megabytes

log = logging.getLogger(__name__)

MESSAGES = {
    400: _l("請求內容有誤。"),
    401: _l("請先登入。"),
    403: _l("您沒有執行此操作的權限。"),
    404: _l("找不到這個頁面或資料。"),
    405: _l("不支援這種請求方式。"),
    409: _l("資料已被他人更新，請重新載入後再試。"),
    413: _l("上傳的檔案太大。"),
    429: _l("請求過於頻繁，請稍後再試。"),
    500: _l("系統發生錯誤，已記錄，請稍後再試。"),
}


def _wants_json() -> bool:
    # every path under /api/, a route or not, answers JSON: scripts never get the login page
    return request.path.startswith("/api/")


def api_error(code: int, message, **extra) -> Response:
    """The API's error answer (the Error schema): {"error", "status", "request_id", ...extra}."""
    response = jsonify({"error": str(message), "status": code, "request_id": current_request_id(), **extra})
    response.status_code = code
    return response


def field_errors(errors: dict[str, str]) -> Response:
    """A 400 naming each bad parameter or field in `fields` (the FieldErrors schema)."""
    return api_error(400, "輸入有誤：" + "；".join(f"{k}: {v}" for k, v in errors.items()), fields=errors)


def _respond(code: int, message):
    message = str(message)  # a lazy string, translated now in the request's language
    if _wants_json():
        return api_error(code, message)
    return render_template("error.html", code=code, message=message, request_id=current_request_id()), code


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(PermissionError)
    def _refused(error: PermissionError):
        # A write service refused the actor itself (services.accounts.check_may): the same answer as require().
        log.warning("refused by a service on %s %s: %s", request.method, request.path, error)
        return _http(Forbidden())

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return _respond(400, _l("表單缺少或帶有過期的安全憑證（CSRF），請重新整理頁面後再送出。"))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        code = error.code or 500
        message = MESSAGES.get(code, error.description or "")
        # Werkzeug's own English descriptions start so; ours (and their English translations) never do.
        if code in (400, 404, 413) and error.description and not error.description.startswith(("The ", "Bad ")):
            message = error.description
        elif code == 413 and current_app.config.get("MAX_CONTENT_LENGTH"):
            # werkzeug's own 413 (the request is above MAX_CONTENT_LENGTH): say the limit
            message = _l("上傳的檔案太大：上限為 %(limit)s MB，請分成數個檔案，或刪除多餘的列後再上傳。",
                         limit=megabytes(current_app.config["MAX_CONTENT_LENGTH"]))
        response = _respond(code, message)
        if isinstance(error, MethodNotAllowed) and error.valid_methods and isinstance(response, Response):
            response.headers["Allow"] = ", ".join(error.valid_methods)  # as werkzeug's own 405 says
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        _rollback()  # the page itself reads the database (header counts, the reporting date): not in a failed transaction
        return _respond(500, MESSAGES[500])

    app.register_error_handler(InternalServerError, _http)


def _rollback() -> None:
    """End the request's failed transaction, if it has one, so the error page can be drawn."""
    from tracker import db
    try:
        db.get_session().rollback()
    except Exception:  # noqa: BLE001 - the database may be what failed; the page still has to be drawn
        log.warning("could not roll back after an error", exc_info=True)
