"""The ledger upload: budget officers import a budgets or month-end file, all rows or none."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError

from tracker import db
from tracker.domain.access import Action
from tracker.services import ledger_import
from tracker.services.accounts import who_of
from tracker.services.scans import rescan_after_import
from tracker.web.forms import UploadForm
from tracker.web.security import require

bp = Blueprint("ledger", __name__)


@bp.route("/ledger/import", methods=["GET", "POST"])
def upload():
    """Budget officers upload a budgets or month-end file; all rows are written or none."""
    require(Action.EDIT_BUDGET)
    form = UploadForm()
    problems, status = None, 200
    if form.validate_on_submit():
        session = db.get_session()
        upload_file = form.file.data
        who = who_of(g.user, request.remote_addr)
        try:
            result = ledger_import.import_ledger(session, upload_file.filename or "upload", upload_file.read(), who,
                                                 user=g.user)
        except PermissionError:
            abort(403)
        except ledger_import.ImportRefused as exc:
            session.rollback()
            problems, status = exc.problems, 400
        else:
            rescan = rescan_after_import(session, result, current_app.config, who)
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
            return redirect(url_for("ledger.upload"))
    elif request.method == "POST":
        status = 400
    return render_template("upload.html", form=form, problems=problems), status
