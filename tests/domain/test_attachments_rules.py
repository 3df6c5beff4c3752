"""A report's files: the kind by content (never by name), the size limits, a clean name, refusals naming the file."""
from __future__ import annotations

from tracker.domain.attachments import (JPEG, PDF, PNG, Limits, check_files, clean_name, format_size,
                                        is_complete_pdf, sniff)

JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
LIMITS = Limits(per_file=1000, per_report=2000)


def test_the_kind_is_read_from_the_bytes():
    assert sniff(JPEG_BYTES) == JPEG
    assert sniff(PNG_BYTES) == PNG
    assert sniff(PDF_BYTES) == PDF
    assert sniff(b"MZ\x90\x00" + b"\x00" * 20) is None  # a Windows program
    assert sniff(b"<html><script>alert(1)</script>") is None
    assert sniff(b"") is None


def test_a_pdf_must_be_whole():
    assert is_complete_pdf(PDF_BYTES)
    assert not is_complete_pdf(PDF_BYTES[:-7])  # cut short in transfer: no %%EOF
    assert not is_complete_pdf(b" " + PDF_BYTES)


def test_a_name_does_not_make_a_kind():
    accepted, errors = check_files([("施工照片.jpg", b"just some text"), ("setup.png", b"MZ\x90\x00rest")], 0, LIMITS)
    assert accepted == []
    assert set(errors) == {"施工照片.jpg", "setup.png"}
    assert "「施工照片.jpg」" in errors["施工照片.jpg"] and "不是 JPEG、PNG 或 PDF" in errors["施工照片.jpg"]


def test_a_good_file_is_accepted_whatever_it_is_called():
    accepted, errors = check_files([("scan", PDF_BYTES), ("IMG_0001.JPG", JPEG_BYTES), ("x.jpg", PNG_BYTES)], 0, LIMITS)
    assert errors == {}
    assert [(a.name, a.content_type) for a in accepted] == [("scan.pdf", PDF), ("IMG_0001.JPG", JPEG),
                                                            ("x.jpg.png", PNG)]
    assert accepted[0].size == len(PDF_BYTES) and len(accepted[0].sha256) == 64


def test_a_file_past_the_limit_is_refused_with_the_sizes():
    _, errors = check_files([("大圖.jpg", JPEG_BYTES + b"\x00" * 2000)], 0, LIMITS)
    assert "超過每個檔案 1000 B 的上限" in errors["大圖.jpg"]


def test_the_months_total_counts_what_it_already_holds():
    _, errors = check_files([("a.jpg", JPEG_BYTES)], 1990, LIMITS)
    assert "每份月報" in errors["a.jpg"] and "已有 1.9 KB" in errors["a.jpg"]
    # in order: the file that would carry the total past the limit is refused, a smaller later one fits
    big = JPEG_BYTES + b"\x00" * 900
    accepted, errors = check_files([("1.jpg", big), ("2.jpg", big), ("3.jpg", JPEG_BYTES)], 500, LIMITS)
    assert [a.name for a in accepted] == ["1.jpg", "3.jpg"] and list(errors) == ["2.jpg"]


def test_empty_and_broken_files_and_two_of_one_name():
    _, errors = check_files([("a.pdf", b""), ("a.pdf", b"%PDF-1.4 cut")], 0, LIMITS)
    assert list(errors) == ["a.pdf", "a.pdf (2)"]
    assert "空的" in errors["a.pdf"] and "%%EOF" in errors["a.pdf (2)"]


def test_names_are_cleaned():
    assert clean_name("C:\\相機\\IMG_0001.JPG", JPEG) == "IMG_0001.JPG"
    assert clean_name("../../etc/passwd", None) == "passwd"
    assert clean_name("報告\x00\u202egpj.exe.pdf", PDF) == "報告gpj.exe.pdf"  # no control or bidi characters
    assert clean_name('a"b<c>.png', PNG) == "abc.png"
    assert clean_name("", PNG) == "附件.png"
    assert clean_name("...", None) == "附件"
    long = clean_name("長" * 300 + ".jpeg", JPEG)
    assert len(long) <= 120 and long.endswith(".jpeg")


def test_sizes_for_people():
    assert format_size(512) == "512 B"
    assert format_size(10 * 1024 * 1024) == "10 MB"
    assert format_size(2_500_000) == "2.4 MB"
