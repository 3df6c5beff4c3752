"""施工照片 and documents on a month's report: recognised by content, limited in size, all or nothing, served safely."""
from __future__ import annotations

import io
import os
import struct
import zlib
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from PIL import Image

from conftest import new_browser, project_id, token_for
from test_api_contract import assert_documented
from tracker import config as config_module
from tracker import db
from tracker.models import AuditEntry, ProgressReport, Project, ReportAttachment
from tracker.services import attachments, audit

BOAI = "臺灣高等法院檢察署暨智慧財產分署、臺灣臺北地方法院檢察署博一大樓辦公廳舍及舊有辦公室整修工程中程計畫"
PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def image_bytes(fmt: str = "JPEG", size=(64, 48), color=(200, 80, 40), mode="RGB") -> bytes:
    """A tiny picture made in memory."""
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt)
    return out.getvalue()


def noisy_jpeg(side: int = 400) -> bytes:
    """A JPEG that does not compress: larger than the API's 64 KiB JSON limit."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "JPEG", quality=95)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A few bytes of PNG whose header claims an enormous picture."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
            + chunk(b"IEND", b""))


def bomb_png() -> bytes:
    """A real decompression bomb: 11,000 × 11,000 pixels of nothing in a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (11_000, 11_000)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def month(seeded, session, make_user):
    """BOAI (檢察) has a submitted 106-09 report; pm manages 檢察, other manages 矯正, reader is leadership."""
    pm = make_user("pm", "project_manager", "檢察")
    make_user("other", "project_manager", "矯正")
    make_user("reader", "leadership")
    pid = project_id(session, BOAI)
    session.add(ProgressReport(project_id=pid, year_roc=106, month=9, revision=1, planned_percent=D("30"),
                               actual_percent=D("20"), milestones={}, state="submitted", submitted_by_id=pm.id))
    session.commit()
    return pid


def upload(client, app, pid, files, who="pm", month_text="106-09"):
    """POST the files (name, bytes) to the month's report through the API."""
    return client.post(f"/api/v1/projects/{pid}/reports/{month_text}/attachments",
                       headers={"Authorization": f"Bearer {token_for(app, who)}"},
                       data={"files": [(io.BytesIO(data), name) for name, data in files]},
                       content_type="multipart/form-data")


def rows(session) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(ReportAttachment))


def audited(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "attachment.add"))


def test_a_photo_a_png_and_a_pdf_are_saved_with_thumbnails(month, client, seeded, session):
    response = upload(client, seeded, month, [("工地.jpg", image_bytes()), ("圖說.png", image_bytes("PNG", (300, 600))),
                                              ("查核報告.pdf", PDF_BYTES)])
    assert response.status_code == 201, response.get_json()
    saved = assert_documented("uploadAttachments", response)["attachments"]
    assert [(a["name"], a["type"]) for a in saved] == [("工地.jpg", "image/jpeg"), ("圖說.png", "image/png"),
                                                       ("查核報告.pdf", "application/pdf")]
    assert saved[2]["size"] == len(PDF_BYTES) and all(a["revision"] == 1 for a in saved)
    assert rows(session) == 3 and audited(session) == 3
    browser, _ = new_browser(seeded, "reader")
    jpeg_id, png_id, pdf_id = (a["id"] for a in saved)
    for ident in (jpeg_id, png_id):
        thumb = browser.get(f"/attachments/{ident}/thumb")
        assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
        with Image.open(io.BytesIO(thumb.data)) as picture:
            assert max(picture.size) <= 240
    with Image.open(io.BytesIO(browser.get(f"/attachments/{png_id}/thumb").data)) as picture:
        assert picture.size == (120, 240)  # the long side is 240, the shape kept
    assert browser.get(f"/attachments/{pdf_id}/thumb").status_code == 404


def test_the_file_is_served_as_its_content_never_sniffed(month, client, seeded):
    photo = image_bytes()
    saved = upload(client, seeded, month, [("工地 照片.jpg", photo), ("報告.pdf", PDF_BYTES)]).get_json()["attachments"]
    browser, _ = new_browser(seeded, "reader")
    got = browser.get(f"/attachments/{saved[0]['id']}")
    assert got.status_code == 200 and got.data == photo and got.mimetype == "image/jpeg"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Security-Policy"].startswith("sandbox")
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("inline") and "filename*=UTF-8''%E5%B7%A5%E5%9C%B0%20" in disposition
    pdf = browser.get(f"/attachments/{saved[1]['id']}")
    assert pdf.data == PDF_BYTES and pdf.mimetype == "application/pdf"
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in pdf.headers["Content-Security-Policy"]
    # a token user reads it through the API; without a token it is a JSON 401
    api = client.get(saved[0]["url"], headers={"Authorization": f"Bearer {token_for(seeded, 'reader')}"})
    assert api.status_code == 200 and api.data == photo and api.headers["X-Content-Type-Options"] == "nosniff"
    assert_documented("getAttachment", client.get(saved[0]["url"]))
    assert client.get(saved[0]["url"]).status_code == 401
    missing = client.get("/api/v1/attachments/999999",
                         headers={"Authorization": f"Bearer {token_for(seeded, 'reader')}"})
    assert missing.status_code == 404 and assert_documented("getAttachment", missing)


def test_an_anonymous_reader_is_sent_to_log_in(month, client, seeded):
    ident = upload(client, seeded, month, [("a.jpg", image_bytes())]).get_json()["attachments"][0]["id"]
    anonymous = seeded.test_client()
    for path in (f"/attachments/{ident}", f"/attachments/{ident}/thumb"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_name_does_not_make_a_photo_and_a_refusal_writes_nothing(month, client, seeded, session):
    response = upload(client, seeded, month, [("好照片.jpg", image_bytes()), ("照片.jpg", b"this is only text\n"),
                                              ("setup.png", b"MZ\x90\x00\x03" + b"\x00" * 200)])
    assert response.status_code == 400
    body = assert_documented("uploadAttachments", response)
    assert set(body["fields"]) == {"照片.jpg", "setup.png"}
    assert "「照片.jpg」" in body["fields"]["照片.jpg"] and "不是 JPEG、PNG 或 PDF" in body["fields"]["照片.jpg"]
    assert "照片.jpg" in body["error"] and "setup.png" in body["error"]
    assert rows(session) == 0 and audited(session) == 0  # the good photo was not kept either


def test_broken_images_and_bombs_are_refused_naming_the_file(month, client, seeded, session):
    cut = image_bytes(size=(200, 200))[:300]
    response = upload(client, seeded, month, [("炸彈.png", bomb_png()), ("巨圖.png", png_claiming(100_000, 100_000)),
                                              ("半張.jpg", cut), ("無結尾.pdf", PDF_BYTES[:-7])])
    assert response.status_code == 400
    fields = assert_documented("uploadAttachments", response)["fields"]
    assert fields["炸彈.png"] == "「炸彈.png」不是有效的圖片"
    assert fields["巨圖.png"] == "「巨圖.png」不是有效的圖片"
    assert fields["半張.jpg"] == "「半張.jpg」不是有效的圖片"
    assert "%%EOF" in fields["無結尾.pdf"]
    assert rows(session) == 0


def test_the_configured_limits_hold_for_a_file_and_for_the_month(month, client, seeded, session):
    seeded.config.update(ATTACHMENT_MAX_BYTES=4000, ATTACHMENT_REPORT_MAX_BYTES=6000)
    big = image_bytes(size=(64, 48)) + b"\x00" * 5000  # a JPEG with trailing bytes: 5 KB and more
    response = upload(client, seeded, month, [("大.jpg", big)])
    assert response.status_code == 400
    assert "超過每個檔案 3.9 KB 的上限" in response.get_json()["fields"]["大.jpg"]
    pdf = PDF_BYTES + b"%" * 3000 + b"\n%%EOF\n"
    assert upload(client, seeded, month, [("一.pdf", pdf)]).status_code == 201
    assert attachments.month_total(session, month, 106, 9) == len(pdf)
    again = upload(client, seeded, month, [("二.pdf", pdf)])  # together past 6000 bytes
    assert again.status_code == 400
    assert "每份月報 5.9 KB" in again.get_json()["fields"]["二.pdf"]
    assert rows(session) == 1


def test_a_large_upload_is_not_held_to_the_apis_json_limit(month, client, seeded, session):
    photo = noisy_jpeg()
    assert len(photo) > 64 * 1024
    response = upload(client, seeded, month, [("大張.jpg", photo)], month_text="2017-09")
    assert response.status_code == 201, response.get_json()
    session.expire_all()
    assert attachments.first_photo(session, month, 106, 9) == photo


def test_only_who_may_write_the_programme_attaches(month, client, seeded, session):
    for who in ("other", "reader"):  # a manager of another system; leadership reads only
        response = upload(client, seeded, month, [("a.jpg", image_bytes())], who=who)
        assert response.status_code == 403, who
        assert_documented("uploadAttachments", response)
    assert rows(session) == 0


def test_an_approved_month_is_frozen_and_a_month_without_a_report_takes_nothing(month, client, seeded, session):
    response = upload(client, seeded, month, [("a.jpg", image_bytes())], month_text="106-08")
    assert response.status_code == 409 and "本月尚未填報" in assert_documented("uploadAttachments", response)["error"]
    session.execute(sa.update(ProgressReport).where(ProgressReport.project_id == month).values(state="approved"))
    session.commit()
    response = upload(client, seeded, month, [("a.jpg", image_bytes())])
    assert response.status_code == 409 and "已核定" in assert_documented("uploadAttachments", response)["error"]
    assert rows(session) == 0


def test_the_latest_revision_takes_the_files(month, client, seeded, session):
    session.add(ProgressReport(project_id=month, year_roc=106, month=9, revision=2, planned_percent=D("30"),
                               actual_percent=D("25"), milestones={}, state="returned"))
    session.commit()
    saved = upload(client, seeded, month, [("二版.png", image_bytes("PNG"))]).get_json()["attachments"]
    assert saved[0]["revision"] == 2
    assert [a.name for a in attachments.for_month(session, month, 106, 9, up_to_revision=1)] == []
    assert [a.name for a in attachments.for_month(session, month, 106, 9)] == ["二版.png"]


def test_bad_requests_name_what_is_wrong(month, client, seeded):
    headers = {"Authorization": f"Bearer {token_for(seeded, 'pm')}"}
    bad_month = upload(client, seeded, month, [("a.jpg", image_bytes())], month_text="106-13")
    assert bad_month.status_code == 400
    assert list(assert_documented("uploadAttachments", bad_month)["fields"]) == ["month"]
    no_files = client.post(f"/api/v1/projects/{month}/reports/106-09/attachments", headers=headers, json={"x": 1})
    assert no_files.status_code == 400 and "files" in assert_documented("uploadAttachments", no_files)["fields"]
    nowhere = upload(client, seeded, 999999, [("a.jpg", image_bytes())])
    assert nowhere.status_code == 404 and assert_documented("uploadAttachments", nowhere)


def test_the_project_page_shows_thumbnails_and_pdf_links(month, client, seeded):
    saved = upload(client, seeded, month, [("工地.jpg", image_bytes()),
                                           ("查核報告.pdf", PDF_BYTES)]).get_json()["attachments"]
    browser, _ = new_browser(seeded, "reader")
    page = browser.get(f"/projects/{month}").get_data(as_text=True)
    assert "施工照片及文件" in page
    assert f'<a href="/attachments/{saved[0]["id"]}"' in page and f'src="/attachments/{saved[0]["id"]}/thumb"' in page
    assert f'<a href="/attachments/{saved[1]["id"]}">查核報告.pdf</a>（PDF，{len(PDF_BYTES)} B）' in page


def test_the_service_checks_everything_first_and_never_commits(month, seeded, session):
    project = session.get(Project, month)
    with pytest.raises(attachments.AttachmentRefused) as refused:
        attachments.check_uploads([("ok.jpg", image_bytes()), ("bad.jpg", b"text")], 0, seeded.config)
    assert list(refused.value.errors) == ["bad.jpg"]
    checked = attachments.check_uploads([("ok.jpg", image_bytes()), ("ok.png", image_bytes("PNG"))], 0, seeded.config)
    assert all(c.thumbnail for c in checked)
    who = audit.Who("pm", session.scalar(sa.text("SELECT id FROM users WHERE name = 'pm'")))
    saved = attachments.save(session, project, 106, 9, 1, checked, who)
    assert [attachments.as_json(a)["url"] for a in saved] == [f"/api/v1/attachments/{a.id}" for a in saved]
    assert attachments.first_photo(session, month, 106, 9) == checked[1].data  # the newest photo
    session.rollback()  # the caller's transaction decides: nothing was committed
    with db.new_session(seeded) as other:
        assert other.scalar(sa.select(sa.func.count()).select_from(ReportAttachment)) == 0
    assert attachments.first_photo(session, month, 106, 9) is None
    # a manager of another system is refused by the service itself
    stranger = audit.Who("other", session.scalar(sa.text("SELECT id FROM users WHERE name = 'other'")))
    with pytest.raises(PermissionError):
        attachments.save(session, project, 106, 9, 1, checked, stranger)


def test_the_limits_are_settings_that_fit_in_one_upload():
    defaults = config_module.from_environment({})
    assert defaults["ATTACHMENT_MAX_BYTES"] == 10 * 1024 * 1024
    assert defaults["ATTACHMENT_REPORT_MAX_BYTES"] == 30 * 1024 * 1024
    config_module.check_settings(defaults)  # a 30 MB report fits in the default upload limit
    small = config_module.from_environment({"TRACKER_ATTACHMENT_MAX_BYTES": "2048",
                                            "TRACKER_ATTACHMENT_REPORT_MAX_BYTES": "4096"})
    assert small["ATTACHMENT_MAX_BYTES"] == 2048
    with pytest.raises(config_module.ConfigError, match="TRACKER_MAX_UPLOAD_BYTES"):
        config_module.check_settings({**defaults, "ATTACHMENT_REPORT_MAX_BYTES": 40 * 1024 * 1024})
    with pytest.raises(config_module.ConfigError, match="TRACKER_ATTACHMENT_MAX_BYTES"):
        config_module.check_settings({**defaults, "ATTACHMENT_MAX_BYTES": 31 * 1024 * 1024})
