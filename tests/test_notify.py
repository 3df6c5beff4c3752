"""E-mail through a real SMTP server: the daily digest, the monthly reminder and the escalation."""
from __future__ import annotations

import email
import email.policy
import socket
from datetime import date

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from conftest import HSINCHU, TAICHUNG, YILAN, YUNLIN, add_budget, add_month, project_id
from tracker import db
from tracker.models import Alert, JobRun, User
from tracker.services import jobs, notify
from tracker.services.alerts import Finding, reconcile
from tracker.services.execution_scan import scan_execution
from tracker.services.progress import projects_due

BASE_URL = "https://tracker.moj.example"
SEPT_1 = date(2017, 9, 1)


class Collector:
    """An SMTP handler that keeps every message it receives."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> email.message.EmailMessage:
        [message] = [m for rcpt, m in self.messages if rcpt == [address]]
        return message

    @property
    def recipients(self) -> set[str]:
        return {r for rcpt, _ in self.messages for r in rcpt}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(request):
    """A real SMTP server on 127.0.0.1, stopped after the test."""
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    request.addfinalizer(controller.stop)
    handler.port = controller.port
    return handler


@pytest.fixture
def mail_app(seeded, smtp_server):
    """The tracker with e-mail on, sending to the test server."""
    seeded.config.update(MAIL_ENABLED=True, MAIL_HOST="127.0.0.1", MAIL_PORT=smtp_server.port,
                         MAIL_SENDER="tracker@moj.example", BASE_URL=BASE_URL)
    return seeded


@pytest.fixture
def make_person(app, make_user):
    """make_person(name, role, system=None, email=None, active=True): a user with an e-mail address."""

    def _make(name, role, system=None, email=None, active=True):
        user = make_user(name, role, system)
        with db.new_session(app) as s:
            row = s.get(User, user.id)
            row.email, row.is_active = email, active
            s.commit()
        return user

    return _make


@pytest.fixture
def alerting(mail_app, session):
    """Alerts: 宜蘭 (矯正) lags in execution; 臺中 (檢察, 行政執行) lags in schedule; 新竹 (行政執行) is overdue."""
    add_budget(session, YILAN, 550_000)
    add_month(session, YILAN, 8, 300_000, 150_000, 20_000, 10_000)
    add_budget(session, YUNLIN, 200_000)
    add_month(session, YUNLIN, 8, 100_000, 100_000)
    session.flush()
    assert scan_execution(session, date(2017, 8, 31)).opened == 2
    reconcile(session, ("LAGGING", "OVERDUE"), [
        Finding("LAGGING", "critical", project_id(session, TAICHUNG), "實際進度落後預定進度 25 個百分點"),
        Finding("OVERDUE", "warning", project_id(session, HSINCHU), "里程碑「細部設計」逾期未完成"),
    ], date(2017, 8, 31))
    session.commit()
    return mail_app


@pytest.fixture
def people(app, make_person):
    """Who might get mail, and who must not."""
    make_person("officer", "budget_officer", email="officer@moj.example")
    make_person("minister", "leadership")  # no address
    make_person("pm_corr", "project_manager", "矯正", email="pm.corr@moj.example")
    make_person("pm_pros", "project_manager", "檢察", email="pm.pros@moj.example")
    make_person("pm_integ", "project_manager", "廉政", email="pm.integ@moj.example")
    make_person("retired", "budget_officer", email="retired@moj.example", active=False)


def body(message) -> str:
    return message.get_content()


def job_run(session, job_id) -> JobRun:
    session.expire_all()
    return session.scalars(sa.select(JobRun).where(JobRun.job_id == job_id)).one()


def test_digest_goes_to_users_with_email_and_the_alerts_they_may_see(alerting, people, smtp_server, session):
    run = jobs.run_named(alerting, "email-digest-daily", SEPT_1)
    assert run.status == "succeeded", run.error
    # Not the leader without an address, not the retired officer, not the 廉政 manager who has no alerts.
    assert smtp_server.recipients == {"officer@moj.example", "pm.corr@moj.example", "pm.pros@moj.example"}
    assert len(smtp_server.messages) == 3
    stored = job_run(session, "email-digest-daily")
    assert stored.details == {"as_of": "2017-09-01", "mail_enabled": True, "messages": 3, "sent": 3}

    officer = smtp_server.to("officer@moj.example")
    assert officer["Subject"] == "【重要計畫管考】每日警示摘要 106年9月1日：未解除警示 4 筆"
    assert officer["From"] == "tracker@moj.example"
    assert "officer" in officer["To"]
    text = body(officer)
    assert "未解除警示共 4 筆（嚴重 3 筆、注意 1 筆）" in text
    # Grouped by kind, worst first: the warning-only group (逾期未完成) comes after the critical ones.
    headings = ["■ 分配預算執行率偏低（1 筆）", "■ 預估未達執行率目標（1 筆）", "■ 進度落後（1 筆）", "■ 逾期未完成（1 筆）"]
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions)
    assert YILAN in text and TAICHUNG in text and HSINCHU in text
    assert f"{BASE_URL}/projects/{project_id(session, YILAN)}" in text
    assert f"{BASE_URL}/projects/{project_id(session, TAICHUNG)}" in text
    assert "分配預算執行率 60.00%" in text


def test_a_project_managers_digest_holds_only_his_systems_alerts(alerting, people, smtp_server, session):
    jobs.run_named(alerting, "email-digest-daily", SEPT_1)
    corrections = body(smtp_server.to("pm.corr@moj.example"))
    assert YILAN in corrections and TAICHUNG not in corrections and HSINCHU not in corrections
    assert "未解除警示共 2 筆" in corrections
    prosecution = body(smtp_server.to("pm.pros@moj.example"))
    assert TAICHUNG in prosecution  # a joint project of 檢察 and 行政執行
    assert YILAN not in prosecution and HSINCHU not in prosecution
    assert "未解除警示共 1 筆" in prosecution


def test_nothing_is_sent_when_mail_is_disabled(alerting, people, smtp_server, session):
    alerting.config["MAIL_ENABLED"] = False
    run = jobs.run_named(alerting, "email-digest-daily", SEPT_1)
    assert run.status == "succeeded"
    assert smtp_server.messages == []
    details = job_run(session, "email-digest-daily").details
    assert details["mail_enabled"] is False and details["sent"] == 0 and details["messages"] == 3
    assert "MAIL_ENABLED" in details["note"]
    assert notify.send(alerting.config, []).sent == 0


def test_reminder_goes_to_the_managers_of_the_due_projects_systems(mail_app, people, smtp_server, session):
    due = projects_due(session, 106, 8)
    assert due, "the 106 plan has programmes with open milestones"
    due_by_system: dict[str, list[str]] = {}
    for project in due:
        for system in project.systems:
            due_by_system.setdefault(system.name, []).append(project.name)
    assert {"矯正", "檢察"} <= set(due_by_system)

    run = jobs.run_named(mail_app, "progress-reminder-monthly", SEPT_1)
    assert run.status == "succeeded", run.error
    expected = {"pm.corr@moj.example", "pm.pros@moj.example"}
    if "廉政" in due_by_system:
        expected.add("pm.integ@moj.example")
    assert smtp_server.recipients == expected  # managers only: not the budget officer
    assert run.details["due_projects"] == len(due) and run.details["sent"] == len(expected)

    corrections = smtp_server.to("pm.corr@moj.example")
    assert corrections["Subject"] == (
        f"【重要計畫管考】請於 106年9月10日 前填報 106年8月 進度（{len(due_by_system['矯正'])} 項計畫）")
    text = body(corrections)
    for name in due_by_system["矯正"]:
        assert name in text
    for name in {p.name for p in due} - set(due_by_system["矯正"]):
        assert f". {name}\n" not in text
    assert f"{BASE_URL}/projects/" in text


def test_escalation_scans_and_tells_leadership_and_admins(mail_app, make_person, smtp_server, session):
    make_person("minister", "leadership", email="minister@moj.example")
    make_person("root", "admin", email="root@moj.example")
    make_person("pm_corr", "project_manager", "矯正", email="pm.corr@moj.example")
    due = projects_due(session, 106, 8)

    run = jobs.run_named(mail_app, "progress-escalation-monthly", date(2017, 9, 11))
    assert run.status == "succeeded", run.error
    assert run.opened > 0  # the schedule scan opened alerts (NOT_REPORTED among them)
    assert session.scalar(sa.select(sa.func.count()).select_from(Alert).where(Alert.kind == "NOT_REPORTED")) > 0
    assert smtp_server.recipients == {"minister@moj.example", "root@moj.example"}
    message = smtp_server.to("minister@moj.example")
    assert message["Subject"] == f"【重要計畫管考】106年8月進度逾期未填報：{len(due)} 項計畫"
    text = body(message)
    assert all(p.name in text for p in due)
    assert "截至填報期限 106年9月10日" in text


def test_building_messages_needs_no_server(app):
    user = User(name="陳主計", role="budget_officer", password_hash="x", email="chen@moj.example")
    assert notify.build_digest(user, [], 0, BASE_URL, SEPT_1) is None
    mail = notify.build_reminder(user, [], 106, 12, notify.report_deadline(106, 12, 10), BASE_URL)
    assert "107年1月10日" in mail.subject
    message = notify.message_for({"MAIL_SENDER": "tracker@moj.example"}, mail)
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == mail.subject and parsed["To"].addresses[0].display_name == "陳主計"
    assert parsed.get_content_charset() == "utf-8" and parsed.get_content() == mail.body
    assert notify.previous_month(date(2018, 1, 1)) == (106, 12)
    # A long subject mixing Chinese and ASCII keeps every space when folded into encoded-words.
    long = notify.Mail("陳主計", "chen@moj.example", "【重要計畫管考】每日警示摘要 106年9月1日：未解除警示 4 筆 " * 3, "x")
    parsed = email.message_from_bytes(notify.message_for({"MAIL_SENDER": "t@moj.example"}, long).as_bytes(),
                                      policy=email.policy.default)
    assert parsed["Subject"] == long.subject
