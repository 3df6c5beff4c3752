"""Rules of a report's attachments (施工照片 and documents): the kind by content, the size limits, a clean name.

A file is a JPEG, a PNG or a PDF because its bytes say so, never because of its name or the type a browser
sent. Each refusal names the file and the reason. Pure: no Flask, no SQLAlchemy, no Pillow.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

JPEG = "image/jpeg"
PNG = "image/png"
PDF = "application/pdf"
#: The kinds accepted, with the extensions a name of that kind may end in (the first is added when missing).
EXTENSIONS: dict[str, tuple[str, ...]] = {JPEG: (".jpg", ".jpeg"), PNG: (".png",), PDF: (".pdf",)}
#: Photos get a thumbnail; documents do not.
IMAGE_TYPES = (JPEG, PNG)
#: A PDF ends with %%EOF, give or take trailing whitespace and an incremental update's slack.
PDF_TAIL_BYTES = 1024
#: The longest name kept (the column holds 255 characters).
MAX_NAME_LENGTH = 120
#: The name of a file sent without one.
UNNAMED = "附件"

NOT_A_KIND = "不是 JPEG、PNG 或 PDF 檔（依檔案內容判斷，而非檔名）"
EMPTY = "是空的檔案"
BROKEN_PDF = "不是完整的 PDF 檔（缺少 %PDF- 開頭或 %%EOF 結尾）"
BAD_IMAGE = "不是有效的圖片"


@dataclass(frozen=True)
class Limits:
    """How large one file and a month's files together may be, in bytes (ATTACHMENT_*_MAX_BYTES)."""

    per_file: int
    per_report: int


@dataclass(frozen=True)
class Accepted:
    """A file that passed the checks of kind and size: its clean name, kind, bytes and digest."""

    name: str
    content_type: str
    data: bytes
    size: int
    sha256: str

    @property
    def is_image(self) -> bool:
        """A photo (JPEG or PNG), which gets a thumbnail."""
        return self.content_type in IMAGE_TYPES


def sniff(data: bytes) -> str | None:
    """The kind the bytes themselves declare (their magic number), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def is_complete_pdf(data: bytes) -> bool:
    """Starts with %PDF- and has %%EOF near its end (a file cut short in transfer has not)."""
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-PDF_TAIL_BYTES:]


def format_size(size: int) -> str:
    """Bytes for people: 「512 B」, 「12.3 KB」, 「10 MB」 (1 MB = 1,048,576 bytes)."""
    if size < 1024:
        return f"{size} B"
    for unit, scale in (("KB", 1024), ("MB", 1024 ** 2), ("GB", 1024 ** 3)):
        if size < scale * 1024 or unit == "GB":
            text = f"{size / scale:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    raise AssertionError("unreachable")


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*\u2028\u2029\u202a-\u202e\u2066-\u2069]')


def clean_name(name: str | None, content_type: str | None = None) -> str:
    """A file name safe to store and to show: no folders, control or bidi characters; the kind's extension.

    ``C:\\相機\\IMG_0001.JPG`` → ``IMG_0001.JPG``; a PNG named ``照片`` → ``照片.png``.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]  # browsers on Windows once sent the whole path
    text = _UNSAFE.sub("", text)
    text = re.sub(r"\s+", " ", text).strip().lstrip(".").strip()
    if content_type in EXTENSIONS:
        stem, dot, ext = text.rpartition(".")
        if not dot or f".{ext.lower()}" not in EXTENSIONS[content_type]:
            text = f"{text or UNNAMED}{EXTENSIONS[content_type][0]}"
    text = text or UNNAMED
    if len(text) > MAX_NAME_LENGTH:
        stem, dot, ext = text.rpartition(".")
        ext = f".{ext}" if dot and len(ext) <= 10 else ""
        text = (stem if ext else text)[:MAX_NAME_LENGTH - len(ext)].rstrip() + ext
    return text


def refusal(name: str, reason: str) -> str:
    """A refusal in words, naming the file: 「照片.jpg」不是有效的圖片."""
    return f"「{name}」{reason}"


def error_key(errors: dict[str, str], name: str) -> str:
    """The errors' key for a file: its name, numbered when two files of one upload share it."""
    key, n = name, 2
    while key in errors:
        key, n = f"{name} ({n})", n + 1
    return key


def check_files(files: list[tuple[str | None, bytes]], existing_total: int,
                limits: Limits) -> tuple[list[Accepted], dict[str, str]]:
    """Check each (name, bytes) for kind and size and the month's total; (accepted, {file name: refusal}).

    ``existing_total`` is what the month already holds. Files count towards the total in the order given;
    one that would carry it past the report's limit is refused (and does not count).
    """
    accepted: list[Accepted] = []
    errors: dict[str, str] = {}
    total = existing_total
    for raw_name, data in files:
        kind = sniff(data)
        name = clean_name(raw_name, kind)
        reason = None
        if not data:
            reason = EMPTY
        elif kind is None:
            reason = NOT_A_KIND
        elif kind == PDF and not is_complete_pdf(data):
            reason = BROKEN_PDF
        elif len(data) > limits.per_file:
            reason = f"有 {format_size(len(data))}，超過每個檔案 {format_size(limits.per_file)} 的上限"
        elif total + len(data) > limits.per_report:
            reason = (f"使本月附件合計達 {format_size(total + len(data))}，超過每份月報 "
                      f"{format_size(limits.per_report)} 的上限（已有 {format_size(existing_total)}）")
        if reason:
            errors[error_key(errors, name)] = refusal(name, reason)
            continue
        total += len(data)
        accepted.append(Accepted(name, kind, data, len(data), hashlib.sha256(data).hexdigest()))
    return accepted, errors
