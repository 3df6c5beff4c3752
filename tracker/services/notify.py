"""E-mail: the daily alert digest, the monthly progress reminder and the escalation; off unless MAIL_ENABLED."""
from __future__ import annotations

import email.errors
import logging
import smtplib
import ssl
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Iterable, Sequence

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain import roc
from tracker.domain.labels import ALERT_STATUS_LABELS as STATUS_LABELS
from tracker.domain.labels import SEVERITY_LABELS
from tracker.domain.roc import format_roc_date, format_roc_month
from tracker.models import Alert, Project, User
from tracker.services.alerts import KIND_LABELS, SEVERITIES, list_alerts

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "【重要計畫管考】"
#: At most this many alerts in one digest; the rest are on the alerts page.
DIGEST_LIMIT = 200
#: Seconds to wait for the mail server before giving up (kept short: a scan's transaction may be open).
SMTP_TIMEOUT_SECONDS = 30
FOOTER = "此信由法務部重要計畫管考系統自動寄出，請勿直接回覆。"


@dataclass(frozen=True)
class Mail:
    """One message to one person, before it is sent."""

    to_name: str
    to_addr: str
    subject: str
    body: str


@dataclass(frozen=True)
class Delivery:
    """What a batch of mail came to: how many were sent, which addresses the server refused."""

    is_enabled: bool
    sent: int = 0
    refused: tuple[str, ...] = ()

    def details(self, prepared: int) -> dict:
        """The delivery as JobRun details."""
        details = {"mail_enabled": self.is_enabled, "messages": prepared, "sent": self.sent}
        if self.refused:
            details["refused"] = list(self.refused)
        if not self.is_enabled:
            details["note"] = "電子郵件未啟用（MAIL_ENABLED 關閉），未寄出任何郵件"
        return details


def _project_url(base_url: str, project_id: int) -> str:
    return f"{base_url.rstrip('/')}/projects/{project_id}"


def _systems(project: Project) -> str:
    return "、".join(s.name for s in project.systems) or "—"


#: (ROC year, month) of the month before a date: the month whose progress is reported now (the domain's rule).
previous_month = roc.previous_month


def report_deadline(year_roc: int, month: int, report_day: int) -> date:
    """The day by which a month's progress must be reported: report_day of the following month."""
    following = roc.roc_month_end(year_roc, month) + timedelta(days=1)
    return following.replace(day=report_day)


# --- building messages (pure) ------------------------------------------------------------------------------


def build_digest(user: User, alerts: Sequence[Alert], total: int, base_url: str, today: date) -> Mail | None:
    """The daily digest of one user's unresolved alerts, grouped by kind, worst first; None when there are none."""
    if not alerts or not user.email:
        return None
    groups: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:  # alerts arrive worst first, so each group is too
        groups[alert.kind].append(alert)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    kind_order = list(KIND_LABELS)
    ordered = sorted(groups.items(), key=lambda item: (
        min(rank.get(a.severity, 9) for a in item[1]),
        kind_order.index(item[0]) if item[0] in kind_order else len(kind_order)))
    counts = defaultdict(int)
    for alert in alerts:
        counts[alert.severity] += 1
    by_severity = "、".join(f"{SEVERITY_LABELS.get(s, s)} {counts[s]} 筆" for s in SEVERITIES if counts[s])
    lines = [f"{user.name} 您好：", "",
             f"截至 {format_roc_date(today)}，您可查看的未解除警示共 {total} 筆（{by_severity}）。", ""]
    for kind, items in ordered:
        lines.append(f"■ {KIND_LABELS.get(kind, kind)}（{len(items)} 筆）")
        for alert in items:
            lines.append(f"  [{SEVERITY_LABELS.get(alert.severity, alert.severity)}] {alert.project.name}"
                         f"（{STATUS_LABELS.get(alert.status, alert.status)}）")
            lines.append(f"    {alert.message}")
            lines.append(f"    {_project_url(base_url, alert.project_id)}")
        lines.append("")
    if total > len(alerts):
        lines += [f"另有 {total - len(alerts)} 筆未列出。", ""]
    lines += [f"全部警示：{base_url.rstrip('/')}/alerts", "", FOOTER]
    subject = f"{SUBJECT_PREFIX}每日警示摘要 {format_roc_date(today)}：未解除警示 {total} 筆"
    return Mail(user.name, user.email, subject, "\n".join(lines) + "\n")


def _project_lines(projects: Iterable[Project], base_url: str, with_systems: bool = False) -> list[str]:
    lines = []
    for number, project in enumerate(projects, 1):
        systems = f"（{_systems(project)}）" if with_systems else ""
        lines.append(f"  {number}. {project.name}{systems}")
        lines.append(f"     {_project_url(base_url, project.id)}")
    return lines


def build_reminder(user: User, projects: Sequence[Project], year_roc: int, month: int, deadline: date,
                   base_url: str) -> Mail:
    """The reminder to one project manager: these programmes still owe last month's progress report."""
    period = format_roc_month(roc.roc_month_start(year_roc, month))
    lines = [f"{user.name} 您好：", "",
             f"下列 {len(projects)} 項計畫尚未填報 {period} 的執行進度，"
             f"請於 {format_roc_date(deadline)} 前登錄（落後者並請填寫落後原因及因應對策）：", ""]
    lines += _project_lines(projects, base_url)
    lines += ["", "依法務部工程施工查核小組作業規定，每月十日前登錄上月之執行進度。", "", FOOTER]
    subject = f"{SUBJECT_PREFIX}請於 {format_roc_date(deadline)} 前填報 {period} 進度（{len(projects)} 項計畫）"
    return Mail(user.name, user.email or "", subject, "\n".join(lines) + "\n")


def build_escalation(user: User, projects: Sequence[Project], year_roc: int, month: int, deadline: date,
                     base_url: str) -> Mail:
    """The escalation to leadership and administrators: programmes that missed the reporting deadline."""
    period = format_roc_month(roc.roc_month_start(year_roc, month))
    lines = [f"{user.name} 您好：", "",
             f"截至填報期限 {format_roc_date(deadline)}，下列 {len(projects)} 項計畫仍未填報 {period} 的執行進度：", ""]
    lines += _project_lines(projects, base_url, with_systems=True)
    lines += ["", f"未填報警示：{base_url.rstrip('/')}/alerts?kind=NOT_REPORTED", "", FOOTER]
    subject = f"{SUBJECT_PREFIX}{period}進度逾期未填報：{len(projects)} 項計畫"
    return Mail(user.name, user.email or "", subject, "\n".join(lines) + "\n")


# --- who gets what (reads the database) ---------------------------------------------------------------------


def _recipients(session: so.Session, *conditions) -> list[User]:
    """Active users with an e-mail address, meeting the conditions."""
    return list(session.scalars(
        sa.select(User)
        .where(User.is_active.is_(True), User.email.is_not(None), sa.func.trim(User.email) != "", *conditions)
        .order_by(User.name)))


def digest_mails(session: so.Session, config, today: date) -> list[Mail]:
    """One digest for every user with an e-mail address and at least one alert he or she may see."""
    mails = []
    for user in _recipients(session):
        alerts, total = list_alerts(session, user, status=None, page_size=DIGEST_LIMIT)
        mail = build_digest(user, alerts, total, config["BASE_URL"], today)
        if mail is not None:
            mails.append(mail)
    return mails


def reminder_mails(session: so.Session, config, due: Sequence[Project], year_roc: int, month: int) -> list[Mail]:
    """One reminder for each project manager whose system is among a due programme's systems."""
    by_system: dict[int, list[Project]] = defaultdict(list)
    for project in due:
        for system in project.systems:
            by_system[system.id].append(project)
    if not by_system:
        return []
    deadline = report_deadline(year_roc, month, int(config["PROGRESS_REPORT_DAY"]))
    managers = _recipients(session, User.role == "project_manager", User.system_id.in_(list(by_system)))
    return [build_reminder(user, by_system[user.system_id], year_roc, month, deadline, config["BASE_URL"])
            for user in managers]


def escalation_mails(session: so.Session, config, due: Sequence[Project], year_roc: int, month: int) -> list[Mail]:
    """The list of programmes still owing a report, for every leadership and admin user."""
    if not due:
        return []
    deadline = report_deadline(year_roc, month, int(config["PROGRESS_REPORT_DAY"]))
    readers = _recipients(session, User.role.in_(("leadership", "admin")))
    return [build_escalation(user, due, year_roc, month, deadline, config["BASE_URL"]) for user in readers]


# --- sending ------------------------------------------------------------------------------------------------


def message_for(config, mail: Mail) -> EmailMessage:
    """The UTF-8 e-mail for a prepared mail."""
    sender = config["MAIL_SENDER"]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = Address(display_name=mail.to_name, addr_spec=mail.to_addr.strip())
    # Encoded-words split on character boundaries: Python 3.11's header folder drops the space at a fold
    # between Chinese and ASCII (「摘要 106年」 arrives as 「摘要106年」).
    message.set_raw("Subject", Header(mail.subject, "utf-8", header_name="Subject").encode())
    message["Date"] = formatdate(localtime=True)
    # An explicit domain: make_msgid() would otherwise ask DNS for this host's name.
    domain = sender.rpartition("@")[2].strip(" >") or "tracker.invalid"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(mail.body, charset="utf-8")
    return message


def _connect(config) -> smtplib.SMTP:
    host, port = config["MAIL_HOST"], int(config["MAIL_PORT"])
    timeout = config.get("MAIL_TIMEOUT", SMTP_TIMEOUT_SECONDS)
    if config.get("MAIL_USE_SSL"):
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def send(config, mails: Sequence[Mail]) -> Delivery:
    """Send a batch over one connection; nothing when MAIL_ENABLED is off. A refused address does not stop the rest."""
    if not config.get("MAIL_ENABLED"):
        if mails:
            log.info("mail disabled: %d message(s) not sent", len(mails))
        return Delivery(is_enabled=False)
    if not mails:
        return Delivery(is_enabled=True)
    sent, refused = 0, []
    with _connect(config) as smtp:
        for mail in mails:
            try:
                message = message_for(config, mail)
            except (ValueError, IndexError, email.errors.MessageError):
                log.warning("not a usable e-mail address for %s: %r", mail.to_name, mail.to_addr)
                refused.append(mail.to_addr)
                continue
            try:
                smtp.send_message(message)
            except smtplib.SMTPRecipientsRefused:
                log.warning("mail server refused %s", mail.to_addr)
                refused.append(mail.to_addr)
                continue
            sent += 1
    return Delivery(is_enabled=True, sent=sent, refused=tuple(refused))
