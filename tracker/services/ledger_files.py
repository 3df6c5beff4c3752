"""Reading a ledger file safely: size, rows and columns bounded, an XLSX checked before it is parsed.

Whatever the file, memory stays bounded: an XLSX is refused by its zip directory (the inflated size and the
compression ratio of its parts) before openpyxl opens it, then read row by row in read-only mode; a CSV is
read lazily; both stop at the row limit instead of reading on. Every refusal is an ImportRefused.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import PurePath
from typing import Any
from xml.etree import ElementTree

from tracker.services.ledger_import import ImportRefused, RowProblem

#: The header is looked for among this many non-blank rows at the top of the sheet.
HEADER_SEARCH_ROWS = 20
#: Parts smaller than this, inflated, are not judged by their compression ratio: they cannot hurt.
RATIO_FLOOR_BYTES = 1024 * 1024
#: Parts openpyxl parses whole into a tree (styles, workbook, theme, relationships), each at most this, inflated;
#: the worksheets are streamed and the shared strings counted instead.
WHOLE_PART_MAX_BYTES = 10 * 1024 * 1024
#: How much of a file is decoded or inflated at a time.
_CHUNK = 1024 * 1024
#: Formula cells without a value listed at most; the rest are not collected.
_MAX_FORMULA_PROBLEMS = 1000
#: Text of a title row quoted in a refusal, at most.
_QUOTED = 60

_UNREADABLE_XLSX = "無法讀取 Excel 檔：檔案可能已損壞，或不是 .xlsx 格式"
_FORMULA = "公式沒有計算結果（請在 Excel 開啟後存檔，或貼上數值）"
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")


@dataclass(frozen=True)
class Limits:
    """What a ledger file may be; `limits_from(config)` reads them from configuration."""

    #: The file itself, in bytes (TRACKER_MAX_UPLOAD_BYTES, the web's request limit too).
    max_bytes: int = 32 * 1024 * 1024
    #: Rows below the header row, blank ones included.
    max_rows: int = 50_000
    #: Columns up to the last non-blank cell of a row.
    max_columns: int = 50
    #: The parts of an XLSX together, inflated.
    max_inflated_bytes: int = 100 * 1024 * 1024
    #: Inflated size over compressed size, for any part of at least RATIO_FLOOR_BYTES inflated.
    max_ratio: int = 100
    #: Parts (zip entries) in an XLSX.
    max_parts: int = 1000
    #: Entries of the shared strings table (openpyxl keeps them all in memory).
    max_shared_strings: int = 200_000


def limits_from(config: Mapping[str, Any]) -> Limits:
    """The limits a configuration (a Flask app's config, or tracker.config.DEFAULTS) sets; defaults for any missing."""
    default = Limits()
    return Limits(
        max_bytes=int(config.get("MAX_CONTENT_LENGTH") or default.max_bytes),
        max_rows=int(config.get("LEDGER_MAX_ROWS", default.max_rows)),
        max_columns=int(config.get("LEDGER_MAX_COLUMNS", default.max_columns)),
        max_inflated_bytes=int(config.get("LEDGER_XLSX_MAX_INFLATED_BYTES", default.max_inflated_bytes)),
        max_ratio=int(config.get("LEDGER_XLSX_MAX_RATIO", default.max_ratio)),
        max_parts=int(config.get("LEDGER_XLSX_MAX_PARTS", default.max_parts)),
        max_shared_strings=int(config.get("LEDGER_XLSX_MAX_SHARED_STRINGS", default.max_shared_strings)),
    )


def default_limits() -> Limits:
    """The limits of the default configuration."""
    from tracker import config

    return limits_from(config.DEFAULTS)


def megabytes(size: int) -> str:
    """A size in bytes as the MB figure messages show: 33554432 → "32", 1572864 → "1.5"."""
    value = size / (1024 * 1024)
    if value >= 1:
        return f"{value:,.1f}".removesuffix(".0")
    return f"{value:.2g}"


def too_large(size: int, limits: Limits) -> RowProblem:
    """The refusal of a file larger than the upload limit (the web's 413 says the same)."""
    return RowProblem(None, None, f"檔案太大：上限為 {megabytes(limits.max_bytes)} MB"
                                  f"（此檔 {megabytes(size)} MB），請分成數個檔案")


def check_size(size: int, limits: Limits | None = None) -> None:
    """Refuse a file of `size` bytes above the upload limit, before it is read (the CLI stats the file first)."""
    limits = limits or default_limits()
    if size > limits.max_bytes:
        raise ImportRefused([too_large(size, limits)])


# ---------------------------------------------------------------------------------------------
# XLSX: the archive first


def check_archive(data: bytes, limits: Limits) -> zipfile.ZipFile:
    """The XLSX's zip archive, refused by its directory alone (nothing inflated) when it could not be read safely.

    The declared sizes are what zipfile will inflate at most: a part that lies about its size fails its CRC.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise ImportRefused([RowProblem(None, None, _UNREADABLE_XLSX)]) from None
    problem = None
    inflated = sum(part.file_size for part in parts)
    if len(parts) > limits.max_parts:
        problem = (f"Excel 檔內含 {len(parts):,} 個部件，超過 {limits.max_parts:,} 個的上限："
                   "檔案可能已損壞，或不是一般的試算表")
    elif inflated > limits.max_inflated_bytes:
        problem = (f"Excel 檔解壓縮後達 {megabytes(inflated)} MB，超過 {megabytes(limits.max_inflated_bytes)} MB "
                   "的上限，未讀取：請刪除多餘的工作表、列或格式，或另存為 CSV 後再匯入")
    else:
        for part in parts:
            name = part.filename.lower()
            if (name.endswith((".xml", ".rels")) and part.file_size > WHOLE_PART_MAX_BYTES
                    and not name.startswith(("xl/worksheets/", "xl/sharedstrings"))):
                problem = (f"Excel 檔的「{part.filename}」解壓縮後達 {megabytes(part.file_size)} MB，超過 "
                           f"{megabytes(WHOLE_PART_MAX_BYTES)} MB 的上限，未讀取：請改用 Excel 另存新檔或另存為 CSV")
                break
            if part.file_size < RATIO_FLOOR_BYTES:
                continue
            ratio = part.file_size / max(part.compress_size, 1)
            if ratio > limits.max_ratio:
                problem = (f"Excel 檔的「{part.filename}」壓縮比達 {ratio:,.0f} 倍，超過 {limits.max_ratio:,} 倍的上限，"
                           "未讀取：檔案疑似壓縮炸彈，請改用 Excel 另存新檔或另存為 CSV")
                break
    if problem is None:
        problem = _too_many_shared_strings(archive, parts, limits)
    if problem:
        archive.close()
        raise ImportRefused([RowProblem(None, None, problem)])
    return archive


_SHARED_STRING = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")


def _too_many_shared_strings(archive: zipfile.ZipFile, parts: list[zipfile.ZipInfo], limits: Limits) -> str | None:
    """The refusal of a shared strings table longer than the limit, counted on its bytes a chunk at a time."""
    for part in parts:
        if not part.filename.lower().startswith("xl/sharedstrings") or part.file_size < limits.max_shared_strings:
            continue
        count, tail = 0, b""
        try:
            with archive.open(part) as source:
                while chunk := source.read(_CHUNK):
                    # an entry split across two chunks is found in the joined tail, and not counted twice
                    window = tail + chunk
                    count += len(_SHARED_STRING.findall(window)) - len(_SHARED_STRING.findall(tail))
                    if count > limits.max_shared_strings:
                        return (f"Excel 檔的共用字串超過 {limits.max_shared_strings:,} 個的上限，未讀取："
                                "請刪除多餘的工作表或列，或另存為 CSV 後再匯入")
                    tail = chunk[-16:]
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            return _UNREADABLE_XLSX
    return None


# ---------------------------------------------------------------------------------------------
# Rows


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a CSV would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(str(value)), "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def is_blank(cells: list[str]) -> bool:
    """Whether a row holds nothing but spaces."""
    return not any(cell.strip() for cell in cells)


def _csv_encoding(data: bytes) -> str:
    """UTF-8 (with or without a BOM) or Big5 (cp950), checked a chunk at a time without decoding the file whole."""
    for encoding in ("utf-8-sig", "cp950"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for start in range(0, len(data), _CHUNK):
                decoder.decode(data[start:start + _CHUNK])
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ImportRefused([RowProblem(None, None, "無法辨識檔案的文字編碼：請將 CSV 存成 UTF-8 或 Big5")])


def _csv_records(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells), lazily."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding=_csv_encoding(data), newline="")
    reader = csv.reader(text)
    try:
        # A spreadsheet shows one row per record, blank lines included, even when a quoted cell holds a line break.
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise ImportRefused([RowProblem(None, None, f"CSV 格式錯誤（約第 {reader.line_num} 行）：{exc}")]) from None


def _xlsx_records(sheet) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of a read-only sheet, a row at a time."""
    try:
        # Some writers record a wrong sheet size; read every stored row instead of trusting it.
        sheet.reset_dimensions()
        number = 0
        for cells in sheet.iter_rows():
            # Read-only sheets yield gap rows too; a stored cell still knows its own row.
            number = next((cell.row for cell in cells if getattr(cell, "row", None)), number + 1)
            yield number, [cell_text(cell.value) for cell in cells]
    except ImportRefused:
        raise
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise ImportRefused([RowProblem(None, None, _UNREADABLE_XLSX)]) from None


def _quoted(cells: list[str]) -> str:
    text = "」「".join(cell.strip() for cell in cells if cell.strip())
    return text if len(text) <= _QUOTED else text[:_QUOTED] + "…"


@dataclass
class _Table:
    header_number: int = 0
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] | None = None
    #: The last row read, blank or not.
    last_number: int = 0


def _table(records: Iterator[tuple[int, list[str]]], limits: Limits,
           is_header: Callable[[list[str]], bool] | None) -> _Table:
    """Find the header, then collect the non-blank rows below it; refuse at the first row past a limit."""
    table = _Table(rows=[])
    candidates: list[tuple[int, list[str]]] = []
    for number, cells in records:
        table.last_number = number
        width = len(cells)
        while width and not cells[width - 1].strip():
            width -= 1
        if width > limits.max_columns:
            raise ImportRefused([RowProblem(number, None, f"超過 {limits.max_columns:,} 欄的上限（此列有 {width:,} 欄）："
                                                          "請刪除多餘的欄位後再匯入")])
        if table.header is not None and number - table.header_number > limits.max_rows:
            raise ImportRefused([RowProblem(number, None, f"資料超過 {limits.max_rows:,} 列的上限（標題列以下），"
                                                          "已停止讀取：請分成數個檔案匯入")])
        if width == 0:
            if table.header is None and number > limits.max_rows:
                break  # blank rows without end and no header yet
            continue
        cells = cells[:width]
        if table.header is not None:
            table.rows.append((number, cells))
            continue
        candidates.append((number, cells))
        if is_header is None or is_header(cells):
            table.header_number, table.header = number, [cell.strip() for cell in cells]
        elif len(candidates) >= HEADER_SEARCH_ROWS:
            break
    if table.header is None and candidates:
        number, cells = candidates[0]
        raise ImportRefused([RowProblem(None, None, f"第 {number} 列不是標題列（內容：「{_quoted(cells)}」）；"
                                                    "找不到含「計畫名稱」「年度」等欄位的標題列")])
    return table


# ---------------------------------------------------------------------------------------------
# Formulas without a computed value


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _column_number(reference: str) -> int:
    number = 0
    for char in reference:
        if not char.isalpha():
            break
        number = number * 26 + ord(char.upper()) - 64
    return number


def _has_formulas(archive: zipfile.ZipFile, path: str) -> bool:
    """Whether the sheet's XML holds a formula element at all, scanned as bytes (the usual file has none)."""
    tail = b""
    with archive.open(path) as source:
        while chunk := source.read(_CHUNK):
            if _FORMULA_TAG.search(tail + chunk):
                return True
            tail = chunk[-64:]
    return False


_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


def _recalculate_on_load(archive: zipfile.ZipFile) -> bool:
    """Whether the workbook asks to be recalculated when opened (calcPr fullCalcOnLoad): its writer, a script
    (openpyxl, XlsxWriter), computed no formula, so the values cached with them (none, or 0) are not results.
    Excel clears the flag when it saves the file."""
    path = "xl/workbook.xml"
    try:
        with archive.open("_rels/.rels") as source:
            for _, element in ElementTree.iterparse(source):
                if _local(element.tag) == "Relationship" and element.get("Type") == _OFFICE_DOCUMENT:
                    path = (element.get("Target") or path).lstrip("/")
    except KeyError:
        pass
    with archive.open(path) as source:
        for _, element in ElementTree.iterparse(source):
            if _local(element.tag) == "calcPr":
                return (element.get("fullCalcOnLoad") or "").lower() in ("1", "true")
    return False


def _has_value(element: ElementTree.Element) -> bool:
    """Whether a cell holds a value besides its formula: a non-empty <v>, an empty one of a text formula, or <is>."""
    for child in element:
        name = _local(child.tag)
        if name == "is" or (name == "v" and (child.text or element.get("t") == "str")):
            return True
    return False


def _formulas_without_values(archive: zipfile.ZipFile, path: str, table: _Table) -> list[RowProblem]:
    """A problem for each cell below the header, up to the last row read, that has a formula and no computed value.

    openpyxl (data_only) reads such a cell as empty, so an amount written by a script would import as 0.
    """
    if not _has_formulas(archive, path):
        return []
    from openpyxl.utils import get_column_letter

    stale = _recalculate_on_load(archive)
    header = table.header or []
    problems: list[RowProblem] = []
    row_number = column = 0
    with archive.open(path) as source:
        for event, element in ElementTree.iterparse(source, events=("start", "end")):
            name = _local(element.tag)
            if event == "start":
                if name == "row":
                    row_number = int(element.get("r") or row_number + 1)
                    column = 0
                    if row_number > table.last_number:
                        break
                elif name == "c":
                    reference = element.get("r")
                    column = _column_number(reference) if reference else column + 1
                continue
            if name == "c":
                has_formula = any(_local(child.tag) == "f" for child in element)
                if has_formula and row_number > table.header_number and (stale or not _has_value(element)):
                    field = header[column - 1] if 0 < column <= len(header) and header[column - 1] else (
                        get_column_letter(column) if column > 0 else None)
                    problems.append(RowProblem(row_number, field, _FORMULA))
                    if len(problems) >= _MAX_FORMULA_PROBLEMS:
                        break
                element.clear()
            elif name == "row":
                element.clear()
    return problems


# ---------------------------------------------------------------------------------------------
# The table


def _open_first_sheet(data: bytes):
    """The workbook, read-only with cached values, holding only its first worksheet.

    openpyxl's load_workbook reads every sheet without a stored size from end to end at once, to size it (before
    a single row is read: a sheet of 3 million rows would be parsed whole before the row limit could stop it);
    the sheet is sized by reset_dimensions instead, and the other sheets are never opened.
    """
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class Sheet(ReadOnlyWorksheet):
        def _get_size(self) -> None:
            pass

    class Reader(ExcelReader):
        def read_worksheets(self) -> None:
            for sheet, rel in self.parser.find_sheets():
                if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                    worksheet = Sheet(self.wb, sheet.name, rel.target, self.shared_strings)
                    worksheet.sheet_state = sheet.state
                    self.wb._sheets.append(worksheet)
                    return

    reader = Reader(io.BytesIO(data), read_only=True, data_only=True)
    with warnings.catch_warnings():
        # openpyxl warns of what it does not keep (extensions, the names of the sheets not opened): none matters here
        warnings.simplefilter("ignore")
        reader.read()
    return reader.wb


def _read_xlsx(data: bytes, limits: Limits, is_header: Callable[[list[str]], bool] | None) -> _Table:
    with check_archive(data, limits) as archive:
        try:
            workbook = _open_first_sheet(data)
        except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a broken or foreign file
            raise ImportRefused([RowProblem(None, None, _UNREADABLE_XLSX)]) from None
        try:
            if not workbook.worksheets:
                return _Table(rows=[])
            sheet = workbook.worksheets[0]
            table = _table(_xlsx_records(sheet), limits, is_header)
            if table.header is None:
                return table
            try:
                problems = _formulas_without_values(archive, sheet._worksheet_path, table)
            except (ElementTree.ParseError, zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError):
                raise ImportRefused([RowProblem(None, None, _UNREADABLE_XLSX)]) from None
            if problems:
                raise ImportRefused(problems)
            return table
        finally:
            workbook.close()


def read_table(filename: str, data: bytes, limits: Limits | None = None,
               is_header: Callable[[list[str]], bool] | None = None) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header cells and (spreadsheet row number, cells) of each non-blank data row below it.

    The header is the first row, among the first HEADER_SEARCH_ROWS non-blank ones, for which `is_header(cells)`
    is true (the first non-blank row when no predicate is given); none is refused naming the first row and what
    stood there. An unknown extension, an unreadable file or one past `limits` (the default configuration's when
    None) raises ImportRefused. An empty file gives ([], []).
    """
    limits = limits or default_limits()
    suffix = PurePath(filename or "").suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        hint = "；舊版 Excel（.xls）請另存為 .xlsx" if suffix == ".xls" else ""
        raise ImportRefused([RowProblem(None, None, f"只能匯入 .csv 或 .xlsx 檔（收到「{filename}」）{hint}")])
    check_size(len(data), limits)
    if suffix == ".csv":
        table = _table(_csv_records(data), limits, is_header)
    else:
        table = _read_xlsx(data, limits, is_header) if data else _Table(rows=[])
    if table.header is None:
        return [], []
    return table.header, table.rows
