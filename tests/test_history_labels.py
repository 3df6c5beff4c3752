"""History in people's words: the project's change log and the revision comparison read the forms' labels,
ROC dates, Asia/Taipei times, status words and 「—」 for nothing, from the audit viewer's one label table."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal as D
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import project_id
from tracker.domain import audit_labels
from tracker.models import AuditEntry, Milestone, Project, ProgressReport, User
from tracker.services import audit, progress

BOAI = "臺灣高等法院檢察署暨智慧財產分署、臺灣臺北地方法院檢察署博一大樓辦公廳舍及舊有辦公室整修工程中程計畫"
SERVICES = Path(__file__).resolve().parent.parent / "tracker" / "services"
#: 106/9/30 14:05 in Taipei.
AT = datetime(2017, 9, 30, 6, 5, tzinfo=timezone.utc)
#: Words a reader should never meet in a history: codes, Python's None, ISO dates, UTC.
RAW = ("actual_percent", "planned_percent", "percent_complete", "actual_start", "delay_reason", "progress.report",
       "milestone.update", "milestone.replan", "not_started", "in_progress", "None", "2017-", "2018-", "UTC")


@pytest.fixture
def pm(seeded, make_user, auth, client):
    """A logged-in project manager of the prosecution system (檢察), who may report on 博一."""
    make_user("pm", "project_manager", "檢察")
    auth.login("pm")
    return client


def milestones_of(session, name: str) -> list[Milestone]:
    return list(session.scalars(sa.select(Milestone).where(Milestone.project_id == project_id(session, name))
                                .order_by(Milestone.seq)))


def change_log(client, project: int) -> str:
    """The project page's 異動紀錄 section."""
    html = client.get(f"/projects/{project}").get_data(as_text=True)
    return html.split("異動紀錄", 1)[1]


def assert_no_raw_words(html: str) -> None:
    for word in RAW:
        assert word not in html, word


def stamp_entries(session, at: datetime) -> None:
    """Date every entry at one moment, so the page's time can be checked."""
    session.execute(sa.update(AuditEntry).values(at=at))
    session.commit()


def test_change_log_after_a_milestone_update_a_replan_and_a_report(pm, seeded, session):
    config = seeded.config
    user = session.scalars(sa.select(User).where(User.name == "pm")).one()
    who = audit.Who("pm", user.id)
    boai = project_id(session, BOAI)
    first, _, third = milestones_of(session, BOAI)[:3]
    old_finish = third.planned_finish_on
    progress.update_milestone(session, first.id, {"status": "in_progress", "actual_start": date(2017, 9, 4),
                                                  "percent_complete": D("20.82")},
                              first.version, user, who, date(2017, 10, 5), config=config)
    progress.replan_milestone(session, third.id, third.planned_start_on, date(2018, 3, 31), "上級審核退回修正",
                              third.version, user, who, config=config)
    progress.record_report(session, session.get(Project, boai), 106, 9, [], D("45.5"), "設計審查延宕",
                           "增派人力趕辦", user, who, date(2017, 10, 5), config=config)
    session.commit()
    stamp_entries(session, AT)

    log = change_log(pm, boai)
    assert "更新里程碑進度" in log and "重新規劃里程碑" in log and "填報月進度" in log
    assert "106年9月30日 14:05:00" in log and "Asia/Taipei" in log
    assert first.name in log and third.name in log  # which milestone, by its name
    assert "狀態：未開始 → 進行中" in log
    assert "實際開始：— → 106年9月4日" in log
    assert "→ 20.82%" in log
    assert f"預定完成日：{audit_labels.format_value('planned_finish_on', old_finish)} → 107年3月31日" in log
    assert "重新規劃原因：— → 上級審核退回修正" in log
    assert "本月實際進度（累計%）：— → 45.50%" in log
    assert "審核狀態：— → 已送出" in log and "：— → —" not in log
    assert "落後原因：— → 設計審查延宕" in log and "因應對策：— → 增派人力趕辦" in log
    assert "月報版本：— → 106年9月 第 1 版" in log
    assert_no_raw_words(log)


def test_change_log_reads_the_review_and_the_attachments(pm, session):
    """Entries as the issue-12 review writes them: states, comments, a correction reason, a missing planned percent."""
    boai = project_id(session, BOAI)
    who = audit.Who("pm")
    audit.record(session, who, "progress.report", "project", boai, {
        "report": [None, "106-09 第 2 版"], "planned_percent": [None, None], "actual_percent": ["45.50", "40.00"],
        "correction_reason": [None, "前月誤植"], "state": [None, "submitted"]})
    audit.record(session, audit.Who("reviewer"), "progress.return", "project", boai, {
        "report": "106-09 第 2 版", "state": ["submitted", "returned"], "reviewer_comment": [None, "請補施工照片"]})
    audit.record(session, audit.Who("reviewer"), "progress.approve", "project", boai, {
        "state": ["submitted", "approved"], "reviewed_at": datetime(2017, 10, 9, 17, 30, tzinfo=timezone.utc)})
    audit.record(session, who, "attachment.add", "project", boai,
                 {"name": "工地.jpg", "content_type": "image/jpeg", "size": 123456})
    audit.record(session, who, "curve.update", "project", boai, {"106年9月預定進度": ["20.00", "30.00"]})
    session.commit()
    stamp_entries(session, datetime(2017, 10, 9, 17, 30, tzinfo=timezone.utc))  # 106/10/10 01:30 in Taipei

    log = change_log(pm, boai)
    assert "106年10月10日 01:30:00" in log
    assert "退回進度" in log and "核定進度" in log and "上傳附件" in log and "修改預定進度曲線" in log
    assert "本月預定進度" not in log and "：— → —" not in log  # a field left empty on both sides is no change
    assert "本月實際進度（累計%）：45.50% → 40.00%" in log
    assert "更正原因：— → 前月誤植" in log
    assert "審核狀態：— → 已送出" in log and "審核狀態：已送出 → 退回" in log and "審核狀態：已送出 → 已核定" in log
    assert "審核意見：— → 請補施工照片" in log
    assert "審核時間：106年10月10日 01:30:00" in log
    assert "檔案名稱：工地.jpg" in log
    assert "106年9月預定進度：20.00% → 30.00%" in log
    assert_no_raw_words(log)
    for code in ("submitted", "returned", "approved", "reviewer_comment", "correction_reason", "progress.", "attachment."):
        assert code not in log, code


def test_revision_comparison_shows_labels_roc_dates_and_taipei_times(pm, session):
    boai = project_id(session, BOAI)
    first = milestones_of(session, BOAI)[0]
    snap = progress.snapshot(first)
    later = {**snap, "status": "in_progress", "actual_start": "2017-09-04", "percent_complete": "20.82"}
    session.add_all([
        ProgressReport(project_id=boai, year_roc=106, month=9, revision=1, planned_percent=None,
                       actual_percent=D(45), delay_reason=None, milestones={str(first.id): snap}, submitted_at=AT),
        ProgressReport(project_id=boai, year_roc=106, month=9, revision=2, planned_percent=D(60),
                       actual_percent=D("55.5"), delay_reason="設計審查延宕", milestones={str(first.id): later},
                       submitted_at=datetime(2017, 10, 9, 17, 30, tzinfo=timezone.utc)),
    ])
    session.commit()

    response = pm.get(f"/projects/{boai}/reports/106-9?a=1&b=2")
    assert response.status_code == 200
    page = response.get_data(as_text=True).split("<h1>", 1)[1]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", page, re.S)]
    rows = [tuple(cells[i:i + 3]) for i in range(0, len(cells), 3)]
    assert ("本月預定進度（累計%）", "—", "60.00%") in rows
    assert ("本月實際進度（累計%）", "45.00%", "55.50%") in rows
    assert ("落後原因", "—", "設計審查延宕") in rows
    assert (f"{first.name}：狀態", "未開始", "進行中") in rows
    assert (f"{first.name}：實際開始", "—", "106年9月4日") in rows
    assert (f"{first.name}：完成%", audit_labels.format_value("percent_complete", snap["percent_complete"]),
            "20.82%") in rows
    assert "106年9月30日 14:05:00" in page and "106年10月10日 01:30:00" in page and "Asia/Taipei" in page
    assert_no_raw_words(page)


def test_the_reporting_date_setting_reads_in_words_on_the_audit_viewer(seeded, make_user, auth, client, session):
    make_user("admin", "admin")
    auth.login("admin")
    audit.record(session, audit.Who("admin"), "settings.reporting_date", "settings", None,
                 {"reporting_date": [None, date(2017, 9, 30)]})
    session.commit()
    html = client.get("/admin/audit?action=settings.reporting_date").get_data(as_text=True)
    assert "設定評核基準日" in html and "系統設定" in html and "評核基準日：— → 106年9月30日" in html


# --- the label table ----------------------------------------------------------------------------

def test_every_action_the_services_record_has_words():
    """Each `audit.record(…, "code", …)` of tracker/services is named in words, never shown as its code."""
    codes = set()
    for path in SERVICES.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for prefix, code in re.findall(r'audit\.record\(\s*[^,]+,\s*[^,]+,\s*(f?)"([^"]+)"', text):
            if prefix:  # f"scan.{scan}": every value it takes is listed under its family
                family = code.split("{", 1)[0]
                assert family in audit_labels.ACTION_GROUP_LABELS, code
                assert any(c.startswith(family) for c in audit_labels.ACTION_LABELS), code
            else:
                codes.add(code)
    assert {"milestone.update", "progress.report", "settings.reporting_date"} <= codes
    for code in codes:
        assert audit_labels.action_label(code) != code, code
    for code, words in {"progress.approve": "核定進度", "progress.return": "退回進度", "attachment.add": "上傳附件",
                        "settings.reporting_date": "設定評核基準日", "curve.update": "修改預定進度曲線"}.items():
        assert audit_labels.action_label(code) == words


def test_values_read_as_people_write_them():
    assert audit_labels.format_value("actual_percent", D("20.82")) == "20.82%"
    assert audit_labels.format_value("percent_complete", "100.00") == "100.00%"
    assert audit_labels.format_value("planned_percent", None) == "—"
    assert audit_labels.format_value("planned_percent", "None") == "—"  # how str(None) reached older entries
    assert audit_labels.format_value("delay_reason", "") == "—"
    assert audit_labels.format_value("actual_start", date(2017, 9, 30)) == "106年9月30日"
    assert audit_labels.format_value("actual_start", "2017-09-30") == "106年9月30日"
    assert audit_labels.format_value("submitted_at", datetime(2017, 9, 30, 6, 5)) == "106年9月30日 14:05:00"  # SQLite: UTC
    assert audit_labels.format_value("submitted_at", "2017-09-30T17:30:00+00:00") == "106年10月1日 01:30:00"
    assert audit_labels.format_value("status", "not_started") == "未開始"
    assert audit_labels.format_value("state", "returned") == "退回"
    assert audit_labels.format_value("state", "approved") == "已核定"
    assert audit_labels.format_value("基本設計：status", "done") == "已完成"
    assert audit_labels.format_value("report", "106-09 第 2 版") == "106年9月 第 2 版"
    assert audit_labels.format_value("106年9月預定進度", "30.00") == "30.00%"
    assert audit_labels.format_value("delay_reason", "12") == "12"  # free text keeps its own words


def test_fields_read_as_the_forms_label_them():
    labels = {"state": "審核狀態", "correction_reason": "更正原因", "reviewer_comment": "審核意見",
              "reporting_date": "評核基準日", "actual_percent": "本月實際進度（累計%）", "status": "狀態"}
    for key, label in labels.items():
        assert audit_labels.field_label(None, key) == label
    assert audit_labels.field_label(None, "基本設計：actual_start") == "基本設計：實際開始"
    assert audit_labels.field_label(None, "甲：乙：status") == "甲：乙：狀態"  # a milestone name with a colon
    assert audit_labels.field_label(None, "106年9月預定進度") == "106年9月預定進度"
