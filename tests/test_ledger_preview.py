"""Preview, then commit: an upload shows what it would change and writes nothing until the officer confirms;
`--dry-run` prints the same; the template to fill imports as it is."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import openpyxl
import sqlalchemy as sa
from conftest import YILAN, YUNLIN, csrf_token, project_id
from test_ledger_import import BUDGET_HEADER, MONTH_HEADER, csv_bytes
from test_ledger_pages import confirm, upload

from tracker import db
from tracker.models import (
    AuditEntry,
    Budget,
    LedgerImport,
    LedgerPreview,
    MonthEnd,
    Project,
)
from tracker.services import audit
from tracker.services.ledger_import import import_ledger

BUDGETS = csv_bytes([BUDGET_HEADER, [YILAN, 106, "資本門", "550,000", 0, 0], [YUNLIN, 106, "資本門", "400,000", 0, 0]])
AUGUST = csv_bytes([MONTH_HEADER, [YILAN, 106, 8, "資本門", "300,000", "150,000", "20,000", "10,000"]])
AUGUST_AGAIN = csv_bytes([MONTH_HEADER, [YILAN, 106, 8, "資本門", "320,000", "150,000", "20,000", "10,000"],
                          [YUNLIN, 106, 8, "資本門", "100,000", "90,000", "0", "0"]])


def cli_import(app, name: str, data: bytes):
    with db.new_session(app) as s:
        result = import_ledger(s, name, data, audit.CLI)
        s.commit()
        return result


def state(session):
    """What a user could notice: counts and sums of every figure table, the history and the audit log."""
    session.expire_all()
    sums = session.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(MonthEnd.allocated), 0),
                                     sa.func.coalesce(sa.func.sum(MonthEnd.paid), 0))).one()
    budget = session.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Budget.original), 0))).one()
    count = lambda table: session.scalar(sa.select(sa.func.count()).select_from(table))
    return (tuple(sums), tuple(budget), count(LedgerImport), count(AuditEntry))


def officer(make_user, auth, name="officer"):
    make_user(name, "budget_officer")
    auth.login(name)


def test_dry_run_reports_old_and_new_and_writes_nothing(seeded, app, session):
    cli_import(app, "預算.csv", BUDGETS)
    cli_import(app, "8月.csv", AUGUST)
    before = state(session)
    with db.new_session(app) as s:
        result = import_ledger(s, "8月再報.csv", AUGUST_AGAIN, audit.CLI, dry_run=True)
        s.commit()  # even a commit writes nothing: nothing was added
    assert (result.rows, result.created, result.replaced, result.unchanged, result.dry_run) == (2, 1, 1, 0, True)
    yilan, yunlin = result.changes
    assert (yilan.action, yilan.before["allocated"], yilan.after["allocated"]) == ("replace", 300000, 320000)
    assert yilan.project_name == YILAN and yilan.project_code == session.get(Project, project_id(session, YILAN)).code
    assert (yunlin.action, yunlin.before, yunlin.after["paid"]) == ("create", None, Decimal(90000))
    assert state(session) == before


def test_cli_dry_run_prints_the_preview_and_writes_nothing(seeded, app, runner, session, tmp_path):
    cli_import(app, "預算.csv", BUDGETS)
    cli_import(app, "8月.csv", AUGUST)
    before = state(session)
    path = tmp_path / "8月再報.csv"
    path.write_bytes(AUGUST_AGAIN)
    result = runner.invoke(args=["ledger", "import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "month_end: 2 rows; 1 to create, 1 to replace, 0 unchanged (dry run: nothing written)" in result.output
    assert "replace" in result.output and "allocated 300000 → 320000" in result.output
    assert YUNLIN in result.output and "paid — → 90000" in result.output
    assert state(session) == before
    result = runner.invoke(args=["ledger", "import", str(path)])
    assert result.exit_code == 0 and "1 created, 1 replaced" in result.output
    assert state(session) != before


def test_upload_previews_old_to_new_then_confirm_writes(seeded, app, make_user, auth, client, session):
    cli_import(app, "預算.csv", BUDGETS)
    cli_import(app, "8月.csv", AUGUST)
    officer(make_user, auth)
    before = state(session)
    preview = upload(client, "8月再報.csv", AUGUST_AGAIN)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "確認匯入" in html and "尚未寫入任何資料" in html
    assert YILAN in html and "300,000 → <strong>320,000</strong>" in html
    assert YUNLIN in html and "— → <strong>100,000</strong>" in html
    assert state(session) == before
    response = confirm(client, preview)
    assert response.status_code == 302
    assert "已匯入 2 列：新增 1、更新 1" in client.get("/ledger/import").get_data(as_text=True)
    session.expire_all()
    assert session.scalar(sa.select(MonthEnd.allocated).where(
        MonthEnd.project_id == project_id(session, YILAN))) == Decimal(320000)
    entry = session.scalars(sa.select(LedgerImport).order_by(LedgerImport.id.desc())).first()
    assert (entry.actor, entry.filename, entry.replaced, entry.created) == ("officer", "8月再報.csv", 1, 1)
    assert session.scalar(sa.select(sa.func.count()).select_from(LedgerPreview)) == 0
    # the same preview cannot be confirmed twice
    again = confirm(client, preview)
    assert again.status_code == 409 and "找不到這份預覽" in again.get_data(as_text=True)


def test_preview_shows_warnings_and_refusals_write_nothing(seeded, app, make_user, auth, client, session):
    officer(make_user, auth)
    before = state(session)
    refused = upload(client, "8月.csv", AUGUST)  # no budget yet: refused, no preview kept
    assert refused.status_code == 400 and "檔案未匯入" in refused.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(LedgerPreview)) == 0
    assert state(session) == before


def test_a_preview_made_stale_by_another_import_is_refused(seeded, app, make_user, auth, client, session):
    cli_import(app, "預算.csv", BUDGETS)
    cli_import(app, "8月.csv", AUGUST)
    officer(make_user, auth)
    preview = upload(client, "8月再報.csv", AUGUST_AGAIN)
    assert preview.status_code == 200
    # meanwhile someone else imports other figures for the same 宜蘭 month
    other = csv_bytes([MONTH_HEADER, [YILAN, 106, 8, "資本門", "310,000", "160,000", "20,000", "10,000"]])
    cli_import(app, "別人的8月.csv", other)
    before = state(session)
    response = confirm(client, preview)
    assert response.status_code == 409
    assert "預覽後資料已被其他匯入變更，請重新上傳預覽" in response.get_data(as_text=True)
    assert state(session) == before
    assert session.scalar(sa.select(MonthEnd.allocated).where(
        MonthEnd.project_id == project_id(session, YILAN))) == Decimal(310000)


def test_a_row_the_preview_would_create_made_by_another_import_makes_it_stale(seeded, app, make_user, auth, client,
                                                                             session):
    cli_import(app, "預算.csv", BUDGETS)
    officer(make_user, auth)
    preview = upload(client, "8月.csv", AUGUST)
    cli_import(app, "別人的8月.csv", AUGUST)  # the same row, now present
    response = confirm(client, preview)
    assert response.status_code == 409 and "預覽後資料已被其他匯入變更" in response.get_data(as_text=True)


def test_only_its_maker_may_confirm_a_preview_and_only_within_the_hour(seeded, app, make_user, auth, client, session):
    cli_import(app, "預算.csv", BUDGETS)
    officer(make_user, auth, "lin")
    preview = upload(client, "8月.csv", AUGUST)
    token = re.search(r'name="token" value="([^"]+)"', preview.get_data(as_text=True)).group(1)
    auth.logout()
    officer(make_user, auth, "chen")
    html = client.get("/ledger/import").get_data(as_text=True)
    response = client.post("/ledger/import/confirm", data={"csrf_token": csrf_token(html), "token": token})
    assert response.status_code == 409 and "只有上傳這份預覽的人可以確認匯入" in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(MonthEnd)) == 0
    auth.logout()
    auth.login("lin")
    with db.new_session(app) as s:
        row = s.scalars(sa.select(LedgerPreview)).one()
        row.created_at = row.created_at - timedelta(minutes=61)
        s.commit()
    html = client.get("/ledger/import").get_data(as_text=True)  # a new login, a new CSRF token
    response = client.post("/ledger/import/confirm", data={"csrf_token": csrf_token(html), "token": token})
    assert response.status_code == 409 and "預覽已逾時（超過 60 分鐘）" in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(MonthEnd)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(LedgerPreview)) == 0  # cleaned


def test_leadership_gets_403_on_preview_and_confirm(seeded, app, make_user, auth, client, session):
    cli_import(app, "預算.csv", BUDGETS)
    officer(make_user, auth)
    preview = upload(client, "8月.csv", AUGUST)
    token = re.search(r'name="token" value="([^"]+)"', preview.get_data(as_text=True)).group(1)
    auth.logout()
    make_user("lead", "leadership")
    auth.login("lead")
    html = client.get("/").get_data(as_text=True)
    post = client.post("/ledger/import", data={"csrf_token": csrf_token(html), "file": (io.BytesIO(AUGUST), "8月.csv")},
                       content_type="multipart/form-data")
    assert post.status_code == 403
    assert client.post("/ledger/import/confirm", data={"csrf_token": csrf_token(html), "token": token}).status_code == 403
    assert client.get("/ledger/template?kind=budgets&year=106").status_code == 403
    assert session.scalar(sa.select(sa.func.count()).select_from(MonthEnd)) == 0


def fill(rows: list[list], header: list[str], values: dict[str, dict[str, object]]) -> list[list]:
    """Type amounts into template rows, by programme name."""
    name_at = header.index("計畫名稱")
    filled = []
    for row in rows:
        row = list(row)
        for heading, value in values.get(row[name_at], {}).items():
            row[header.index(heading)] = value
        filled.append(row)
    return filled


def test_the_budget_template_round_trips_through_the_cli(seeded, app, runner, session, tmp_path):
    path = tmp_path / "預算範本.xlsx"
    result = runner.invoke(args=["ledger", "template", "budgets", "--year", "106", "-o", str(path)])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(path).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header, body = rows[0], rows[1:]
    assert header[:4] == ["計畫編號", "計畫名稱", "年度", "經資門"] and "原預算數" in header and "月份" not in header
    yilan_code = session.get(Project, project_id(session, YILAN)).code
    assert [yilan_code, YILAN, 106, "資本門"] in [r[:4] for r in body]
    assert sheet.freeze_panes == "A2"
    filled = openpyxl.Workbook()
    for row in [header, *fill(body, header, {YILAN: {"原預算數": 550000}, YUNLIN: {"原預算數": 400000}})]:
        filled.active.append(row)
    filled.save(tmp_path / "預算填妥.xlsx")
    result = runner.invoke(args=["ledger", "import", str(tmp_path / "預算填妥.xlsx")])
    assert result.exit_code == 0, result.output
    session.expire_all()
    stored = {p: o for p, o in session.execute(sa.select(Budget.project_id, Budget.original))}
    assert stored[project_id(session, YILAN)] == Decimal(550000)
    assert stored[project_id(session, YUNLIN)] == Decimal(400000)
    assert len(stored) == len(body)  # every programme of the template, the others at 0


def test_the_month_end_template_download_is_prefilled_and_round_trips(seeded, app, make_user, auth, client, session):
    cli_import(app, "預算.csv", BUDGETS)
    cli_import(app, "8月.csv", AUGUST)
    officer(make_user, auth)
    assert "/ledger/template" in client.get("/ledger/import").get_data(as_text=True)
    response = client.get("/ledger/template?kind=month-end&year=106&month=8&format=csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["計畫編號", "計畫名稱", "年度", "月份", "經資門"] and "累計分配數" in header
    yilan = next(r for r in body if r[1] == YILAN)
    assert (yilan[2], yilan[3], yilan[4], yilan[header.index("累計分配數")]) == ("106", "8", "資本門", "300000")
    # month-end figures are for the programmes with a capital budget: only those are listed
    from tracker.models import Budget
    budgeted = set(session.scalars(sa.select(Budget.project_id).where(Budget.year_roc == 106, Budget.kind == "capital")))
    assert {project_id(session, r[1]) for r in body} == budgeted
    # fill only 宜蘭 and 雲林 and keep those two rows: the file imports, by code, as it is
    kept = [r for r in fill(body, header, {YUNLIN: {"累計分配數": "100,000", "累計實支數": "90,000"}})
            if r[1] in (YILAN, YUNLIN)]
    preview = upload(client, "8月範本.csv", csv_bytes([header, *kept]))
    assert preview.status_code == 200, preview.get_data(as_text=True)
    assert "新增 1、更新 0、未變動 1" in preview.get_data(as_text=True)
    assert confirm(client, preview).status_code == 302
    session.expire_all()
    assert session.scalar(sa.select(MonthEnd.paid).where(
        MonthEnd.project_id == project_id(session, YUNLIN))) == Decimal(90000)
    xlsx = client.get("/ledger/template?kind=month-end&year=106&month=8&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    bad = client.get("/ledger/template?kind=month-end&year=106&month=13&format=csv")
    assert bad.status_code == 400 and "月報範本須指定月份" in bad.get_data(as_text=True)
