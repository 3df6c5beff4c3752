"""The import history: every import recorded with the rows it changed, listed newest first, and undone whole."""
from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from conftest import YILAN, YUNLIN, csrf_token, project_id
from test_ledger_import import BUDGET_HEADER, MONTH_HEADER, csv_bytes
from test_ledger_pages import upload_and_confirm

from tracker import db
from tracker.models import (
    Alert,
    AuditEntry,
    Budget,
    LedgerImport,
    LedgerImportChange,
    MonthEnd,
)
from tracker.services import audit, ledger_history
from tracker.services.ledger_import import import_ledger
from tracker.services.scans import rescan_after_import

BUDGETS = csv_bytes([BUDGET_HEADER, [YILAN, 106, "資本門", "550,000", 0, 0], [YUNLIN, 106, "資本門", "400,000", 0, 0]])
#: 宜蘭 lags in August: 180,000 of 300,000 allocated executed, 120,000 unexecuted.
LAGGING = csv_bytes([MONTH_HEADER, [YILAN, 106, 8, "資本門", "300,000", "150,000", "20,000", "10,000"]])
#: The same month corrected: 宜蘭 on track.
ON_TRACK = csv_bytes([MONTH_HEADER, [YILAN, 106, 8, "資本門", "300,000", "290,000", "5,000", "0"]])


def run_import(app, name: str, data: bytes):
    """Import as the CLI does: write, rescan, commit."""
    with db.new_session(app) as s:
        result = import_ledger(s, name, data, audit.CLI)
        rescan_after_import(s, result, app.config, audit.CLI)
        s.commit()
        return result


def undo(app, import_id: int):
    with db.new_session(app) as s:
        result = ledger_history.undo_import(s, import_id, audit.CLI)
        rescan_after_import(s, result, app.config, audit.CLI)
        s.commit()
        return result


def figures(session):
    session.expire_all()
    return sorted((r.project_id, r.year_roc, r.month, r.kind, r.allocated, r.paid, r.payables, r.savings)
                  for r in session.scalars(sa.select(MonthEnd)))


def budgets(session):
    session.expire_all()
    return sorted((r.project_id, r.kind, r.original) for r in session.scalars(sa.select(Budget)))


def open_alerts(session):
    session.expire_all()
    return sorted((a.kind, a.project_id, a.message) for a in session.scalars(
        sa.select(Alert).where(Alert.status != "resolved")))


def test_an_import_is_recorded_with_its_file_and_each_row_it_changed(seeded, app, session):
    first = run_import(app, "預算.csv", BUDGETS)
    changed = csv_bytes([BUDGET_HEADER, [YILAN, 106, "資本門", "600,000", 0, 0], [YUNLIN, 106, "資本門", "400,000", 0, 0]])
    second = run_import(app, "預算更新.csv", changed)
    entry = session.get(LedgerImport, second.import_id)
    assert (entry.filename, entry.kind, entry.rows, entry.created, entry.replaced, entry.unchanged, entry.actor) == (
        "預算更新.csv", "budgets", 2, 0, 1, 1, "cli")
    assert entry.sha256 == hashlib.sha256(changed).hexdigest()
    # only the row whose figures changed is kept, with its values before and after
    [change] = entry.changes
    assert change.table_name == "budgets" and change.key["project_id"] == project_id(session, YILAN)
    assert (change.before["original"], change.after["original"]) == ("550000", "600000")
    assert all(c.before is None for c in session.get(LedgerImport, first.import_id).changes)
    audit_entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "ledger.import")
                                  .order_by(AuditEntry.id.desc())).first()
    assert audit_entry.changes["import_id"] == second.import_id


def test_undo_restores_the_figures_and_the_alerts_as_they_were(seeded, app, session):
    run_import(app, "預算.csv", BUDGETS)
    run_import(app, "8月.csv", LAGGING)
    lagging_figures, lagging_alerts = figures(session), open_alerts(session)
    assert lagging_alerts, "the lagging month opens alerts"
    corrected = run_import(app, "8月更正.csv", ON_TRACK)
    assert figures(session) != lagging_figures and open_alerts(session) != lagging_alerts
    done = undo(app, corrected.import_id)
    assert (done.deleted, done.restored) == (0, 1)
    assert figures(session) == lagging_figures
    assert open_alerts(session) == lagging_alerts
    assert session.get(LedgerImport, corrected.import_id).undone_at is not None
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "ledger.undo")).one()
    assert (entry.entity_type, entry.entity_id, entry.changes["restored"]) == ("ledger_import", str(corrected.import_id), 1)


def test_undoing_the_import_that_created_a_month_removes_it_and_its_alerts(seeded, app, session):
    run_import(app, "預算.csv", BUDGETS)
    month = run_import(app, "8月.csv", LAGGING)
    assert open_alerts(session)
    done = undo(app, month.import_id)
    assert done.deleted == 1 and figures(session) == []
    assert open_alerts(session) == []
    assert budgets(session) == sorted([(project_id(session, YILAN), "capital", Decimal(550000)),
                                       (project_id(session, YUNLIN), "capital", Decimal(400000))])


def test_undo_is_refused_while_a_later_import_changed_the_same_figures(seeded, app, session):
    run_import(app, "預算.csv", BUDGETS)
    first = run_import(app, "8月.csv", LAGGING)
    second = run_import(app, "8月更正.csv", ON_TRACK)
    with pytest.raises(ledger_history.UndoRefused) as refused:
        undo(app, first.import_id)
    assert str(refused.value) == (f"第 {first.import_id} 次匯入之後，第 {second.import_id} 次匯入又變更了相同的數字，"
                                  f"請先復原第 {second.import_id} 次")
    on_track = figures(session)
    assert on_track and on_track[0][5] == Decimal(290000)  # nothing undone
    undo(app, second.import_id)
    undo(app, first.import_id)  # now nothing later stands in the way
    assert figures(session) == []
    with pytest.raises(ledger_history.UndoRefused, match="已於先前復原"):
        undo(app, first.import_id)


def test_history_json_lists_imports_newest_first(seeded, app, runner, tmp_path):
    path = tmp_path / "預算.csv"
    path.write_bytes(BUDGETS)
    assert runner.invoke(args=["ledger", "import", str(path)]).exit_code == 0
    month = tmp_path / "8月.csv"
    month.write_bytes(LAGGING)
    assert runner.invoke(args=["ledger", "import", str(month)]).exit_code == 0
    result = runner.invoke(args=["ledger", "history", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [item["kind"] for item in listed] == ["month_end", "budgets"]
    newest = listed[0]
    assert newest["sha256"] == hashlib.sha256(LAGGING).hexdigest()
    assert (newest["user"], newest["rows"], newest["created"], newest["undone"]) == ("cli", 1, 1, False)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", newest["at"])
    assert listed[0]["id"] > listed[1]["id"]
    undone = runner.invoke(args=["ledger", "undo", str(newest["id"])])
    assert undone.exit_code == 0 and "1 rows deleted" in undone.output
    again = runner.invoke(args=["ledger", "undo", str(newest["id"])])
    assert again.exit_code == 1 and "已於先前復原" in again.output and "Traceback" not in again.output
    text = runner.invoke(args=["ledger", "history"])
    assert "undone" in text.output.splitlines()[0]


def test_history_page_and_undo_button(seeded, app, make_user, auth, client, session):
    make_user("officer", "budget_officer")
    auth.login("officer")
    upload_and_confirm(client, "預算.csv", BUDGETS)
    upload_and_confirm(client, "8月.csv", LAGGING)
    assert "匯入紀錄" in client.get("/ledger/import").get_data(as_text=True)
    page = client.get("/ledger/history")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "8月.csv" in html and "預算.csv" in html and "officer" in html
    assert html.index("8月.csv") < html.index("預算.csv")  # newest first
    assert re.search(r"\d+年\d+月\d+日 \d\d:\d\d", html)  # ROC date and Taipei time
    newest = session.scalars(sa.select(LedgerImport).order_by(LedgerImport.id.desc())).first()
    response = client.post(f"/ledger/history/{newest.id}/undo", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 302
    html = client.get("/ledger/history").get_data(as_text=True)
    assert f"已復原第 {newest.id} 次匯入" in html and "已復原（officer" in html
    assert figures(session) == []
    again = client.post(f"/ledger/history/{newest.id}/undo", data={"csrf_token": csrf_token(html)})
    assert again.status_code == 409 and "已於先前復原" in again.get_data(as_text=True)


def test_leadership_may_not_see_the_history_or_undo(seeded, app, make_user, auth, client, session):
    first = run_import(app, "預算.csv", BUDGETS)
    make_user("lead", "leadership")
    auth.login("lead")
    assert client.get("/ledger/history").status_code == 403
    html = client.get("/").get_data(as_text=True)
    assert client.post(f"/ledger/history/{first.import_id}/undo", data={"csrf_token": csrf_token(html)}).status_code == 403
    assert session.get(LedgerImport, first.import_id).undone_at is None
    assert session.scalar(sa.select(sa.func.count()).select_from(LedgerImportChange)) == 2


def test_undoing_a_budget_that_allocations_rely_on_is_refused(seeded, app, session):
    first = run_import(app, "budgets.csv", BUDGETS)
    run_import(app, "aug.csv", LAGGING)  # 累計分配數 300,000 against 宜蘭's 550,000
    with pytest.raises(ledger_history.UndoRefused, match="累計分配數"):
        undo(app, first.import_id)
    session.expire_all()
    assert budgets(session)  # nothing undone: the budgets are still there
