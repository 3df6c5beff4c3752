"""The audit viewer: filters, ROC dates in Taipei time, the forms' labels, the CSV export and GET /api/v1/audit."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timezone

import jsonschema
import pytest
import sqlalchemy as sa

from tracker.domain import audit_labels
from tracker.models import AuditEntry, Milestone, Project
from tracker.services import audit

from conftest import YILAN, add_budget, project_id

UTC = timezone.utc


def at(text: str) -> datetime:
    """A UTC moment from 2017-07-14T17:30."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add(session, action, entity_type="project", entity_id=None, changes=None, when="2017-07-14T17:30",
        actor="boss", user_id=None, remote_addr="10.0.0.9") -> AuditEntry:
    """An audit entry written at a chosen moment."""
    entry = audit.record(session, audit.Who(actor, user_id, remote_addr), action, entity_type, entity_id, changes)
    entry.at = at(when)
    session.commit()
    return entry


@pytest.fixture
def admin(seeded, make_user, auth):
    """An administrator, logged in."""
    user = make_user("boss", "admin")
    auth.login("boss")
    return user


def page_text(client, query: str = "") -> str:
    response = client.get(f"/admin/audit{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def rows_of(html: str) -> list[str]:
    """The ids of the entries the page lists, top to bottom."""
    return re.findall(r'<tr id="audit-(\d+)">', html)


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode("utf-8"))
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def token_of(runner, name: str) -> str:
    result = runner.invoke(["users", "token", name])
    assert result.exit_code == 0, result.output
    return re.search(r"trk_[A-Za-z0-9_\-]+", result.output).group(0)


# --- the page ---------------------------------------------------------------------------------------

def test_entry_shows_roc_date_taipei_time_and_the_forms_labels(client, admin, session):
    milestone = session.scalars(sa.select(Milestone).order_by(Milestone.id)).first()
    yilan = milestone.project_id
    add(session, "progress.report", "project", yilan,
        {"actual_percent": [None, "45.00"], "delay_reason": [None, "颱風停工"]})
    add(session, "milestone.update", "milestone", milestone.id,
        {"status": ["not_started", "in_progress"], "actual_start": [None, "2017-07-15"]}, when="2017-07-14T17:31")

    html = page_text(client, "?from=106/7/15&to=106/7/15")
    assert "106年7月15日 01:30:00" in html and "106年7月15日 01:31:00" in html
    assert "填報月進度" in html and "更新里程碑進度" in html
    assert "本月實際進度（累計%）：— → 45.00" in html
    assert "落後原因：— → 颱風停工" in html
    assert "狀態：未開始 → 進行中" in html
    assert "實際開始：— → 106年7月15日" in html
    assert "actual_percent" not in html and "delay_reason" not in html
    assert html.count(f'href="/projects/{yilan}"') == 2  # the project and the milestone's project
    assert "10.0.0.9" in html


def test_labels_are_the_labels_the_forms_show(app):
    from tracker.web.forms import AcknowledgeForm, MilestoneRowForm, ProgressForm, ReplanForm

    with app.test_request_context():
        progress = ProgressForm(meta={"csrf": False})
        row = MilestoneRowForm()
        replan = ReplanForm(meta={"csrf": False})
        ack = AcknowledgeForm(meta={"csrf": False})
        shown = {
            "actual_percent": progress.actual_percent, "correction_reason": progress.correction_reason,
            "delay_reason": progress.delay_reason, "remedy": progress.remedy,
            "status": row.status, "percent_complete": row.percent_complete,
            "actual_start": row.actual_start, "actual_finish": row.actual_finish,
            "reason": replan.reason, "acknowledgement": ack.comment,
        }
        for key, form_field in shown.items():
            assert audit_labels.field_label(None, key) == str(form_field.label.text), key
    assert audit_labels.action_label("login.succeeded") == "登入成功"
    assert audit_labels.action_label("user.create") == "新增帳號"


def test_filter_by_user_keeps_their_entries_and_failed_logins_under_their_name(client, admin, make_user, auth, session):
    chen = make_user("chen", "leadership")
    add(session, "kpi.actual", "kpi", "一-1", {"106年實際值": [None, "52"]}, actor="chen", user_id=chen.id)
    add(session, "login.failed", "user", chen.id, {"name": "chen"}, actor="chen")
    other = add(session, "kpi.actual", "kpi", "一-2", actor="lin")
    html = page_text(client, "?user=chen")
    listed = rows_of(html)
    assert len(listed) == 2 and str(other.id) not in listed
    assert "填報關鍵績效指標實際值" in html and "登入失敗" in html
    assert "106年實際值：— → 52" in html

    # A real login by the administrator is there under his name, with his address.
    html = page_text(client, "?user=boss&action=login.succeeded")
    assert "登入成功" in html and "127.0.0.1" in html and len(rows_of(html)) == 1


def test_filter_by_programme_takes_its_sub_plans_milestones_and_figures(client, admin, session):
    # A programme whose sub-plans have milestones (the plan gives it none of its own: one is added).
    sub = next(p for p in session.scalars(sa.select(Project).where(Project.parent_id.is_not(None)).order_by(Project.id))
               if p.milestones)
    programme = sub.parent
    own_milestone = Milestone(project_id=programme.id, seq=1, name="規劃設計", planned_start_on=date(2017, 1, 1),
                              planned_finish_on=date(2017, 6, 30), baseline_start_on=date(2017, 1, 1),
                              baseline_finish_on=date(2017, 6, 30))
    session.add(own_milestone)
    session.commit()
    sub_milestone = sub.milestones[0]
    other_milestone = session.scalars(sa.select(Milestone).where(Milestone.project_id.not_in(
        sa.select(Project.id).where(sa.or_(Project.id == programme.id, Project.parent_id == programme.id))))).first()
    other = other_milestone.project
    add_budget(session, programme.name, 1000)
    session.commit()
    budget_id = session.scalar(sa.text("SELECT id FROM budgets"))
    wanted = [
        add(session, "progress.report", "project", programme.id),
        add(session, "curve.update", "project", sub.id),
        add(session, "milestone.update", "milestone", sub_milestone.id, {"percent_complete": ["0", "10"]}),
        add(session, "milestone.replan", "milestone", own_milestone.id),
        add(session, "ledger.replace", "budget", budget_id, {"original": ["900", "1000"]}),
    ]
    unwanted = [add(session, "progress.report", "project", other.id),
                add(session, "milestone.update", "milestone", other_milestone.id),
                add(session, "user.create", "user", admin.id)]

    listed = rows_of(page_text(client, f"?project={programme.id}"))
    assert sorted(listed) == sorted(str(e.id) for e in wanted)
    assert not set(listed) & {str(e.id) for e in unwanted}
    html = page_text(client, f"?project={programme.id}")
    assert "原預算數：900 → 1000" in html
    assert "完成%：0.00% → 10.00%" in html

    # Words of the name find the programme too.
    assert sorted(rows_of(page_text(client, "?project=宜蘭監獄"))) == []  # 宜蘭 has no entries here
    by_name = client.get("/admin/audit?project=" + programme.name)
    assert sorted(rows_of(by_name.get_data(as_text=True))) == sorted(str(e.id) for e in wanted)


def test_a_project_name_that_matches_many_asks_for_the_id(client, admin):
    response = client.get("/admin/audit?project=擴建")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "計畫：名稱含「擴建」的計畫不只一個，請輸入計畫編號" in html
    assert client.get("/admin/audit?project=999999").status_code == 400
    assert "沒有編號 999999 的計畫" in client.get("/admin/audit?project=999999").get_data(as_text=True)


def test_filter_by_action_exact_or_by_family(client, admin, session):
    failed = add(session, "login.failed", "user", None, {"name": "ghost"}, actor="ghost")
    throttled = add(session, "login.throttled", "user", None, {"name": "ghost"}, actor="ghost")
    created = add(session, "user.create", "user", admin.id, {"name": "x", "role": "leadership"})
    exact = rows_of(page_text(client, "?action=login.failed&from=2017-07-14&to=2017-07-15"))
    assert exact == [str(failed.id)]
    family = rows_of(page_text(client, "?action=login.&from=2017-07-14&to=2017-07-15"))
    assert sorted(family) == sorted([str(failed.id), str(throttled.id)])
    html = page_text(client, "?action=user.create&from=2017-07-14&to=2017-07-15")
    assert rows_of(html) == [str(created.id)]
    assert "角色：首長（唯讀）" in html and "帳號：x" in html
    # the action list offers every known action in words
    assert '<option value="login.succeeded"' in html and "登入成功（login.succeeded）" in html


def test_filter_by_date_uses_taipei_days(client, admin, session):
    before = add(session, "kpi.actual", "kpi", "a", when="2017-07-14T15:59:59")  # 106/7/14 23:59:59 in Taipei
    first = add(session, "kpi.actual", "kpi", "b", when="2017-07-14T16:00")  # 106/7/15 00:00
    last = add(session, "kpi.actual", "kpi", "c", when="2017-07-15T15:59:59")  # 106/7/15 23:59:59
    after = add(session, "kpi.actual", "kpi", "d", when="2017-07-15T16:00")  # 106/7/16 00:00
    for query in ("?from=106/7/15&to=106/7/15", "?from=2017-07-15&to=2017-07-15", "?from=106年7月15日&to=106.7.15"):
        assert rows_of(page_text(client, query)) == [str(last.id), str(first.id)], query  # newest first
    assert rows_of(page_text(client, "?from=106/7/16&to=106/7/16")) == [str(after.id)]
    assert str(before.id) in rows_of(page_text(client, "?to=106/7/14"))


def test_the_calendar_edges_are_a_range_not_an_error(client, admin, session):
    entry = add(session, "kpi.actual", "kpi", "a")
    # Day one and the last day a date can name: their Taipei midnight lies outside datetime's range in UTC.
    for query in ("?from=0001-01-01", "?to=9999-12-31", "?from=0001-01-01&to=9999-12-31"):
        response = client.get("/admin/audit" + query)
        assert response.status_code == 200, query
        assert str(entry.id) in rows_of(response.get_data(as_text=True)), query
    assert client.get("/admin/audit.csv?from=0001-01-01&to=9999-12-31").status_code == 200


@pytest.mark.parametrize("query, shown", [
    ("?from=106/13/1", "起日：日期不存在：「106/13/1」"),
    ("?to=yesterday", "迄日：無法辨識的日期「yesterday」"),
    ("?from=106/7/20&to=106/7/1", "迄日：不可早於起日（106年7月20日）"),
    ("?action=DROP TABLE", "動作：無法辨識的動作代碼"),
])
def test_a_bad_filter_shows_a_message_naming_the_field(client, admin, query, shown):
    response = client.get(f"/admin/audit{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert shown in html
    assert 'name="from"' in html  # the form is there to correct it
    assert client.get(f"/admin/audit.csv{query}").status_code == 400


def test_data_is_escaped(client, admin, session):
    add(session, "progress.report", "project", 1, {"remedy": [None, "<script>alert(1)</script>"]},
        actor="<b>x</b>")
    html = page_text(client, "?from=106/7/15&to=106/7/15")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>x</b>" not in html


def test_pager_keeps_the_filters(app, client, admin, session):
    app.config["PAGE_SIZE"] = 2
    ids = [add(session, "kpi.actual", "kpi", str(i), when=f"2017-07-15T0{i}:00").id for i in range(5)]
    first = page_text(client, "?action=kpi.actual")
    assert rows_of(first) == [str(i) for i in ids[::-1][:2]]
    assert "共 5 筆（第 1／3 頁）" in first
    assert 'href="?action=kpi.actual&amp;page=2"' in first
    assert rows_of(page_text(client, "?action=kpi.actual&page=3")) == [str(ids[0])]
    assert 'href="/admin/audit.csv?action=kpi.actual"' in first


def test_admins_see_the_link_in_the_menu(client, admin):
    html = page_text(client)
    assert 'href="/admin/audit"' in html and "稽核紀錄" in html


# --- the CSV export -----------------------------------------------------------------------------------

def test_csv_has_the_page_rows_a_bom_and_neutralised_formulas(client, admin, session):
    yilan = project_id(session, YILAN)
    add(session, "login.failed", "user", None, {"name": "=cmd|' /C calc'!A0"}, actor="=cmd|' /C calc'!A0",
        remote_addr="@evil")
    add(session, "ledger.import", "ledger", "+budget.csv", {"kind": "budgets", "rows": 3}, when="2017-07-14T17:31")
    add(session, "progress.report", "project", yilan, {"actual_percent": [None, "45.00"]}, when="2017-07-14T17:32")
    add(session, "kpi.actual", "kpi", "-1", when="2017-07-20T00:00")  # outside the filter

    query = "?from=106/7/15&to=106/7/15"
    page_ids = rows_of(page_text(client, query))
    with client.get(f"/admin/audit.csv{query}") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-')
        lines = read_csv(response.data)
    header, body = lines[0], lines[1:]
    assert header[:4] == ["時間（Asia/Taipei）", "時間（UTC）", "操作者", "動作"]
    assert [line[header.index("紀錄編號")] for line in body] == page_ids
    newest, middle, oldest = body
    assert newest[0] == "106年7月15日 01:32:00" and newest[1] == "2017-07-14T17:32:00+00:00"
    assert newest[header.index("動作")] == "填報月進度"
    assert newest[header.index("計畫")] == YILAN
    assert newest[header.index("異動內容")] == "本月實際進度（累計%）：— → 45.00%"
    assert middle[header.index("對象編號")] == "'+budget.csv"
    assert middle[header.index("異動內容")] == "檔案種類：預算；列數：3"
    assert oldest[header.index("操作者")] == "'=cmd|' /C calc'!A0"
    assert oldest[header.index("來源位址")] == "'@evil"
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in body for cell in line)


def test_csv_export_reads_in_batches_without_losing_or_repeating_rows(session):
    # Seven entries in the same second: the keyset must break ties by id.
    ids = [add(session, "kpi.actual", "kpi", str(i), when="2017-07-15T00:00").id for i in range(7)]
    flt = audit.AuditFilter(action="kpi.actual")
    chunks = list(audit.export_csv(session, flt, batch_size=3))
    assert len(chunks) == 1 + 3  # the header, then batches of 3, 3 and 1
    lines = read_csv(b"".join(chunks))
    assert [line[-1] for line in lines[1:]] == [str(i) for i in sorted(ids, reverse=True)]


# --- who may read it ------------------------------------------------------------------------------------

def test_non_admins_are_refused_everywhere(seeded, client, make_user, auth, runner):
    make_user("lead", "leadership")
    auth.login("lead")
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
    assert "稽核紀錄" not in client.get("/").get_data(as_text=True)
    token = token_of(runner, "lead")
    response = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and response.get_json()["status"] == 403
    assert client.get("/api/v1/audit").status_code == 401


# --- the API --------------------------------------------------------------------------------------------

@pytest.fixture
def admin_api(seeded, client, make_user, runner):
    make_user("root", "admin")
    token = token_of(runner, "root")

    def get(path: str):
        return client.get(path, headers={"Authorization": f"Bearer {token}"})

    return get


def test_api_lists_entries_in_the_documented_shape(admin_api, session):
    yilan = project_id(session, YILAN)
    entry = add(session, "progress.report", "project", yilan, {"actual_percent": [None, "45.00"]})
    add(session, "login.failed", "user", None, {"name": "ghost"}, actor="ghost", when="2017-07-14T17:00")
    response = admin_api(f"/api/v1/audit?project={yilan}&from=106/7/15&to=106/7/15")
    assert response.status_code == 200
    body = response.get_json()
    document = admin_api("/api/v1/openapi.json").get_json()
    schema = {"$ref": "#/components/schemas/AuditList", "components": document["components"]}
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    jsonschema.Draft202012Validator(schema, format_checker=checker).validate(body)
    assert body["total"] == 1 and body["page"] == 1
    assert body["entries"] == [{
        "id": entry.id, "at": "2017-07-14T17:30:00+00:00", "user": "boss", "action": "progress.report",
        "entity_type": "project", "entity_id": str(yilan), "remote_addr": "10.0.0.9",
        "changes": {"actual_percent": [None, "45.00"]},
    }]
    family = admin_api("/api/v1/audit?action=login.&user=ghost&per_page=1").get_json()
    assert family["total"] == 1 and family["per_page"] == 1 and family["entries"][0]["action"] == "login.failed"


def test_api_names_every_bad_parameter(admin_api):
    response = admin_api("/api/v1/audit?page=0&per_page=abc&from=106/2/30&project=宜蘭&action=Login!")
    assert response.status_code == 400
    body = response.get_json()
    assert set(body["fields"]) == {"page", "per_page", "from", "project", "action"}
    assert "日期不存在" in body["fields"]["from"]
    assert "計畫編號" in body["fields"]["project"]
