"""Budget execution pages: the execution table with exports, alerts, and the ledger upload."""
from __future__ import annotations

import csv
import io

from flask import (Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import ngettext

from sqlalchemy.exc import IntegrityError

from tracker import db
from tracker.domain.access import Action, may
from tracker.domain.roc import RocDateError, parse_roc_month
from tracker.models import CATEGORIES
from tracker.services import alerts as alert_service
from tracker.services import execution, ledger_import
from tracker.services.accounts import actor_of, who_of
from tracker.services.portfolio import list_systems
from tracker.services.scans import rescan_after_import
from tracker.web.forms import AcknowledgeForm, UploadForm
from tracker.web.security import require
from tracker.domain.errors import FieldError

bp = Blueprint("execution", __name__)


class ParamError(FieldError):
    """A bad query parameter, shown to the user by name."""


def read_execution_params(args, default_year: int) -> dict:
    """year, month, by, kind, system, category from query parameters (as_of as 2017-08 or 106-08)."""
    year = None
    if args.get("year"):
        text = args["year"].strip()
        if not text.isdigit() or not 1 <= int(text) <= 300:
            raise ParamError("year", _("年度須為民國年，例如 106"))
        year = int(text)
    month = None
    if args.get("as_of"):
        try:
            as_of = parse_roc_month(args["as_of"])
        except RocDateError as exc:
            raise ParamError("as_of", str(exc)) from None
        if year is not None and as_of.roc_year != year:
            raise ParamError("as_of", _("月份 %(month)s 不在 %(year)s 年度內", month=as_of, year=year))
        year, month = as_of.roc_year, as_of.month
    by = args.get("by") or "project"
    kind = args.get("kind") or "capital"
    return {"year_roc": year or default_year, "month": month, "by": by, "kind": kind,
            "system": args.get("system") or None, "category": args.get("category") or None}


@bp.route("/execution")
def table():
    """The execution table in the official layout, by any level, with sorting and CSV/XLSX export."""
    session = db.get_session()
    try:
        params = read_execution_params(request.args, current_app.config["PLAN_YEAR_ROC"])
        report = execution.execution_report(session, thresholds=execution.thresholds_from(current_app.config), **params)
    except (ParamError, execution.ExecutionQueryError) as exc:
        return render_template("execution.html", error=exc, report=None, params=request.args,
                               systems=list_systems(session), categories=CATEGORIES, columns=execution.COLUMNS,
                               by_labels=execution.BY_LABELS, kind_labels=execution.KIND_LABELS), 400
    sort, descending = request.args.get("sort"), request.args.get("dir") == "desc"
    rows = execution.sort_rows(report.rows, sort, descending)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        return _export(report, rows, fmt)
    return render_template("execution.html", report=report, rows=rows, error=None, params=request.args,
                           systems=list_systems(session), categories=CATEGORIES, columns=execution.COLUMNS,
                           rate_columns=execution.RATE_COLUMNS, values=execution.row_values, sort=sort,
                           descending=descending, by_labels=execution.BY_LABELS, kind_labels=execution.KIND_LABELS)


def _export(report: execution.ExecutionReport, rows, fmt: str) -> Response:
    """What the table shows, as CSV (UTF-8 with BOM, opens in Excel) or XLSX."""
    headings = [label for _, label in execution.COLUMNS]
    keys = [key for key, _ in execution.COLUMNS]
    lines = [[execution.row_values(r)[k] for k in keys] for r in rows]
    if report.total is not None:
        lines.append([execution.row_values(report.total)[k] if k != "key" else "合計" for k in keys])
    note = (f"{report.year_roc}年度 {execution.KIND_LABELS[report.kind]} 截至 {report.month or '—'} 月；單位：新臺幣千元"
            + ("；模擬資料（非實際數字）" if report.is_synthetic else ""))
    name = f"execution-{report.year_roc}-{report.month or 0:02d}-{report.by}.{fmt}"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([note])
        writer.writerow(headings)
        for line in lines:
            writer.writerow(["" if v is None else v for v in line])
        body = ("\ufeff" + buffer.getvalue()).encode("utf-8")
        mimetype = "text/csv; charset=utf-8"
    else:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("執行情形")
        sheet.append([note])
        sheet.append(headings)
        for line in lines:
            sheet.append([float(v) if v is not None and not isinstance(v, str) else v for v in line])
        buffer = io.BytesIO()
        book.save(buffer)
        body = buffer.getvalue()
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


#: Alerts per page: a national portfolio can hold tens of thousands unresolved.
ALERTS_PAGE_SIZE = 100


@bp.route("/alerts")
def alerts():
    """Alerts the user may see, worst first, with acknowledgement forms."""
    session = db.get_session()
    status = request.args.get("status") or None
    kind = request.args.get("kind") or None
    page_text = request.args.get("page", "1")
    page = int(page_text) if page_text.isdigit() and int(page_text) >= 1 else 1
    try:
        items, total = alert_service.list_alerts(session, g.user, status, kind, page, ALERTS_PAGE_SIZE)
    except alert_service.AlertError as exc:
        abort(400, description=exc.message)
    actor = actor_of(g.user)

    def may_acknowledge(alert) -> bool:
        return may(actor, Action.ACKNOWLEDGE_ALERT, [s.code for s in alert.project.systems])

    return render_template("alerts.html", alerts=items, total=total, status=status, kind=kind,
                           kinds=alert_service.KIND_LABELS, may_acknowledge=may_acknowledge,
                           page=page, pages=max(1, -(-total // ALERTS_PAGE_SIZE)))


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
def acknowledge(alert_id: int):
    """Acknowledge an alert with a comment."""
    session = db.get_session()
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        flash(_("；").join(str(e) for errors in form.errors.values() for e in errors), "warning")
        return redirect(url_for("execution.alerts"))
    try:
        alert_service.acknowledge(session, alert_id, g.user, form.comment.data, who_of(g.user, request.remote_addr))
    except PermissionError:
        abort(403)
    except alert_service.AlertError as exc:
        if exc.field == "alert" and "沒有編號" in exc.message:
            abort(404)
        flash(exc.message, "warning")
        return redirect(url_for("execution.alerts"))
    session.commit()
    flash(_("已確認警示並記錄處理說明。"), "success")
    return redirect(url_for("execution.alerts"))


@bp.route("/ledger/import", methods=["GET", "POST"])
def upload():
    """Budget officers upload a budgets or month-end file; all rows are written or none."""
    require(Action.EDIT_BUDGET)
    form = UploadForm()
    problems, result, status = None, None, 200
    if form.validate_on_submit():
        session = db.get_session()
        upload_file = form.file.data
        try:
            result = ledger_import.import_ledger(session, upload_file.filename or "upload", upload_file.read(),
                                                 who_of(g.user, request.remote_addr))
        except ledger_import.ImportRefused as exc:
            session.rollback()
            problems, status = exc.problems, 400
        else:
            rescan = rescan_after_import(session, result, current_app.config, who_of(g.user, request.remote_addr))
            try:
                session.commit()
            except IntegrityError:  # the same new rows were imported by someone else a moment ago
                session.rollback()
                flash(_("另一次匯入剛寫入相同的資料列，本次未寫入任何資料，請重新上傳。"), "warning")
                return render_template("upload.html", form=form, problems=None), 409
            message = ngettext("已匯入 %(num)s 列：新增 %(created)s、更新 %(replaced)s、未變動 %(unchanged)s。",
                               "已匯入 %(num)s 列：新增 %(created)s、更新 %(replaced)s、未變動 %(unchanged)s。",
                               result.rows, created=result.created, replaced=result.replaced,
                               unchanged=result.unchanged)
            if rescan:
                message += _("已重新檢核執行率警示：新增 %(opened)s、更新 %(updated)s、解除 %(resolved)s。",
                             opened=rescan.opened, updated=rescan.updated, resolved=rescan.resolved)
            flash(message, "success")
            return redirect(url_for("execution.upload"))
    elif request.method == "POST":
        status = 400
    return render_template("upload.html", form=form, problems=problems), status
