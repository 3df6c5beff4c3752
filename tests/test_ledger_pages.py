"""Budget officers bring month-end figures in: the upload page and `tracker ledger import`."""
from __future__ import annotations

import io
import re

import sqlalchemy as sa

from conftest import YILAN, csrf_token
from test_ledger_import import BUDGET_HEADER, MONTH_HEADER, csv_bytes
from tracker.models import Budget, MonthEnd


def upload(client, name: str, data: bytes):
    page = client.get("/ledger/import").get_data(as_text=True)
    return client.post("/ledger/import", data={"csrf_token": csrf_token(page), "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def confirm(client, preview):
    """Press 「確認匯入」 on a preview page."""
    html = preview.get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    return client.post("/ledger/import/confirm", data={"csrf_token": csrf_token(html), "token": token})


def upload_and_confirm(client, name: str, data: bytes):
    preview = upload(client, name, data)
    assert preview.status_code == 200, preview.get_data(as_text=True)
    return confirm(client, preview)


def count(session, table) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(table))


def test_officer_uploads_budget_then_month(seeded, make_user, auth, client, session):
    make_user("officer", "budget_officer")
    auth.login("officer")
    response = upload_and_confirm(client, "預算.csv", csv_bytes([BUDGET_HEADER, [YILAN, 106, "資本門", "550,000", 0, 0]]))
    assert response.status_code == 302
    assert "已匯入 1 列：新增 1" in client.get("/ledger/import").get_data(as_text=True)
    response = upload_and_confirm(client, "8月.csv", csv_bytes([MONTH_HEADER, [YILAN, 106, 8, "資本門", "300,000", "150,000", "20,000", "10,000"]]))
    assert response.status_code == 302
    html = client.get("/execution?as_of=106-08").get_data(as_text=True)
    assert YILAN in html and "60.00%" in html


def test_bad_file_shows_every_problem_and_writes_nothing(seeded, make_user, auth, client, session):
    make_user("officer", "budget_officer")
    auth.login("officer")
    data = csv_bytes([MONTH_HEADER,
                      ["不存在的計畫", 106, 8, "資本門", 1, 1, 0, 0],
                      [YILAN, 106, 13, "資本門", 1, 1, 0, 0],
                      [YILAN, 106, 9, "資本門", "-5", 1, 0, 0]])
    response = upload(client, "bad.csv", data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "檔案未匯入：發現" in html
    for row in ("<td class=\"num\">2</td>", "<td class=\"num\">3</td>", "<td class=\"num\">4</td>"):
        assert row in html
    assert count(session, MonthEnd) == 0


def test_upload_refusals(seeded, make_user, auth, client):
    make_user("lead", "leadership")
    auth.login("lead")
    assert client.get("/ledger/import").status_code == 403
    auth.logout()
    make_user("officer", "budget_officer")
    auth.login("officer")
    no_csrf = client.post("/ledger/import", data={"file": (io.BytesIO(b"x"), "a.csv")},
                          content_type="multipart/form-data")
    assert no_csrf.status_code == 400
    wrong_type = upload(client, "a.pdf", b"%PDF")
    assert wrong_type.status_code == 400 and "只接受 CSV 或 XLSX" in wrong_type.get_data(as_text=True)


def test_cli_import(seeded, runner, session, tmp_path):
    good = tmp_path / "budgets.csv"
    good.write_bytes(csv_bytes([BUDGET_HEADER, [YILAN, 106, "capital", "550,000", 0, 0]]))
    result = runner.invoke(args=["ledger", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "budgets: 1 rows; 1 created" in result.output
    bad = tmp_path / "month.csv"
    bad.write_bytes(csv_bytes([MONTH_HEADER, [YILAN, 106, 8, "capital", "600,000", 0, 0, 0]]))
    result = runner.invoke(args=["ledger", "import", str(bad)])
    assert result.exit_code == 1
    assert "第 2 列" in result.output and "超過可支用預算數" in result.output and "Traceback" not in result.output
    assert count(session, MonthEnd) == 0 and count(session, Budget) == 1


def test_month_end_upload_rescans_so_the_alert_shows(seeded, make_user, auth, client, session):
    make_user("officer", "budget_officer")
    auth.login("officer")
    upload_and_confirm(client, "b.csv", csv_bytes([BUDGET_HEADER, [YILAN, 106, "資本門", "550,000", 0, 0]]))
    response = upload_and_confirm(client, "m.csv", csv_bytes([MONTH_HEADER, [YILAN, 106, 8, "資本門", "300,000", "150,000", "20,000", "10,000"]]))
    assert response.status_code == 302
    assert "已重新檢核執行率警示：新增 2" in client.get("/ledger/import").get_data(as_text=True)
    alerts = client.get("/alerts").get_data(as_text=True)
    assert "分配預算執行率偏低" in alerts and "106年8月底" in alerts
