"""Safe ledger files: the upload limit, XLSX checked before it is parsed, rows and columns bounded, formulas
without a computed value refused, a header found below a title row; a refused file writes nothing."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from conftest import YILAN, csrf_token, token_for
from test_ledger_import import (
    BUDGET_HEADER,
    OFFICER,
    budgets,
    csv_bytes,
    refused,
    run,
    snapshot,
    xlsx_bytes,
)

from tracker import config
from tracker.services import ledger_files
from tracker.services.ledger_files import Limits, limits_from, read_table
from tracker.services.ledger_import import ImportRefused, import_ledger, is_header

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
TITLE = "法務部 106 年 11 月資本門月報"


@pytest.fixture
def budgeted(seeded, session):
    """The plan with a 106 capital budget of 1,000 for YILAN."""
    run(session, "budgets-106.csv", csv_bytes([BUDGET_HEADER, [YILAN, "106", "資本門", "1,000", "0", "0"]]))
    return session


def refusal(filename: str, data: bytes, limits: Limits | None = None, header=is_header) -> str:
    """The one problem read_table refuses a file with, as the page shows it."""
    with pytest.raises(ImportRefused) as caught:
        read_table(filename, data, limits, header)
    assert len(caught.value.problems) == 1, caught.value.problems
    return str(caught.value.problems[0])


def with_part(xlsx: bytes, name: str, write, *, level: int = 6, edit=None) -> bytes:
    """The workbook with one more part, streamed into the zip by write(handle); edit(name, content) rewrites others."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            target.writestr(item.filename, edit(item.filename, content) if edit else content)
        with target.open(name, "w") as handle:
            write(handle)
    return out.getvalue()


def shared_string_workbook(size: int, *, level: int = 1) -> bytes:
    """A budgets XLSX whose A2 is a shared string of `size` repeated characters (a real sharedStrings part)."""
    base = xlsx_bytes([BUDGET_HEADER, ["placeholder", 106, "資本門", 1, 0, 0]])

    def edit(name: str, content: bytes) -> bytes:
        if name == "xl/_rels/workbook.xml.rels":
            return content.replace(b"</Relationships>", (
                b'<Relationship Id="rIdSS" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
                b'officeDocument/2006/relationships/sharedStrings"/></Relationships>'))
        if name == "[Content_Types].xml":
            return content.replace(b"</Types>", (
                b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
        if name == "xl/worksheets/sheet1.xml":
            return content.replace(b'<c r="A2" t="inlineStr"><is><t>placeholder</t></is></c>',
                                   b'<c r="A2" t="s"><v>0</v></c>')
        return content

    def write(handle) -> None:
        handle.write(b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                     b'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>')
        chunk = b"A" * MiB
        for _ in range(size // MiB):
            handle.write(chunk)
        handle.write(b"A" * (size % MiB) + b"</t></si></sst>")

    return with_part(base, "xl/sharedStrings.xml", write, level=level, edit=edit)


def sheet_workbook(header: list, rows_xml) -> bytes:
    """An XLSX whose first sheet is written by hand: the header row, then the <row> elements rows_xml yields."""
    base = xlsx_bytes([["x"]])
    cells = "".join(f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{name}</t></is></c>' for i, name in enumerate(header))
    source = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for item in source.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                target.writestr(item.filename, source.read(item.filename))
        with target.open("xl/worksheets/sheet1.xml", "w") as handle:
            handle.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            handle.write(f'<row r="1">{cells}</row>'.encode())
            for piece in rows_xml:
                handle.write(piece)
            handle.write(b"</sheetData></worksheet>")
    return out.getvalue()


# 1. The decompression bomb: refused by the zip directory, before openpyxl parses anything -----------------------


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """An XLSX of about 3 MB whose shared string inflates to 600 MB."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.xlsx"
    path.write_bytes(shared_string_workbook(600 * MiB))
    return path


# The peak is this process's own high-water mark (VmHWM): ru_maxrss would carry over the parent's (pytest's) peak
# through fork and exec.
_MEASURE = """
import json, re, sys, time
from pathlib import Path
from tracker.services.ledger_files import read_table
from tracker.services.ledger_import import ImportRefused, is_header

def peak_kib():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))

data = Path(sys.argv[1]).read_bytes()
before = peak_kib()
start = time.monotonic()
try:
    read_table("bomb.xlsx", data, None, is_header)
    message = None
except ImportRefused as exc:
    message = str(exc.problems[0])
print(json.dumps({"seconds": time.monotonic() - start, "message": message, "before_kib": before,
                  "peak_kib": peak_kib()}))
"""


def test_a_decompression_bomb_is_refused_within_seconds_with_memory_under_400_mb(bomb):
    with zipfile.ZipFile(bomb) as archive:
        assert archive.getinfo("xl/sharedStrings.xml").file_size > 600 * 1000 * 1000
    assert bomb.stat().st_size < 4 * MiB  # well under the 32 MB upload limit: only the inflated size gives it away
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(bomb)], capture_output=True, text=True, timeout=60,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    assert measured["message"] is not None, "the bomb was read"
    assert "解壓縮後達 600 MB，超過 100 MB 的上限" in measured["message"]
    assert measured["seconds"] < 3, measured
    assert measured["peak_kib"] < 400 * 1024, measured  # the whole process, Python and the file included


def test_the_bomb_is_refused_on_import_and_writes_nothing(budgeted, bomb):
    before = snapshot(budgeted)
    started = time.monotonic()
    problems = refused(budgeted, "bomb.xlsx", bomb.read_bytes())
    assert time.monotonic() - started < 5
    assert [p.row for p in problems] == [None] and "解壓縮後" in problems[0].reason
    assert snapshot(budgeted) == before


def test_the_same_construction_small_is_a_readable_workbook_so_the_check_is_what_refuses_the_big_one():
    header, rows = read_table("small.xlsx", shared_string_workbook(2000), None, is_header)
    assert header == BUDGET_HEADER and rows[0][1][0] == "A" * 2000


def test_a_part_compressed_beyond_the_ratio_is_refused_naming_it():
    data = shared_string_workbook(20 * MiB)  # 20 MB inflated: within the total, but about 200 times compressed
    message = refusal("b.xlsx", data)
    assert "「xl/sharedStrings.xml」壓縮比達" in message and "超過 100 倍的上限" in message
    assert read_table("b.xlsx", data, Limits(max_ratio=100_000), is_header)[0] == BUDGET_HEADER


def test_a_shared_strings_table_longer_than_the_limit_is_refused_before_openpyxl_keeps_it():
    data = with_part(xlsx_bytes([BUDGET_HEADER]), "xl/sharedStrings.xml", lambda handle: handle.write(
        b"<sst>" + b"".join(b"<si><t>%d</t></si>" % n for n in range(5000)) + b"</sst>"))
    assert "共用字串超過 4,999 個的上限" in refusal("s.xlsx", data, Limits(max_shared_strings=4999))
    assert read_table("s.xlsx", data, Limits(max_shared_strings=5000), is_header)[0] == BUDGET_HEADER


def test_a_part_openpyxl_parses_whole_is_refused_above_10_mb():
    def styles(handle) -> None:
        for _ in range(11):
            handle.write(b"<!-- " + b"0123456789abcdef" * (MiB // 16) + b" -->")

    data = with_part(xlsx_bytes([BUDGET_HEADER]), "xl/customStyles.xml", styles)
    assert "「xl/customStyles.xml」解壓縮後達 11 MB，超過 10 MB 的上限" in refusal("s.xlsx", data)


def test_an_xlsx_of_too_many_parts_is_refused():
    data = xlsx_bytes([BUDGET_HEADER, [YILAN, 106, "資本門", 1, 0, 0]])
    for count in range(3):
        data = with_part(data, f"customXml/item{count}.xml", lambda handle: handle.write(b"<a/>"))
    assert "超過 10 個的上限" in refusal("b.xlsx", data, Limits(max_parts=10))
    assert read_table("b.xlsx", data, Limits(max_parts=20), is_header)[0] == BUDGET_HEADER


def test_an_ordinary_workbook_passes_the_archive_check():
    rows = [BUDGET_HEADER] + [[f"計畫{n}", 106, "資本門", 1000, 0, 0] for n in range(5000)]
    header, read = read_table("b.xlsx", xlsx_bytes(rows), None, is_header)
    assert header == BUDGET_HEADER and len(read) == 5000 and read[-1][0] == 5001


# 2. Rows and columns -----------------------------------------------------------------------------------------


def test_three_million_rows_are_refused_quickly_naming_the_limit_and_the_row():
    def rows():
        for start in range(2, 3_000_002, 100_000):
            yield "".join(f'<row r="{n}"><c r="D{n}"><v>0</v></c></row>'
                          for n in range(start, start + 100_000)).encode()

    data = sheet_workbook(BUDGET_HEADER, rows())
    assert len(data) < 32 * MiB
    started = time.monotonic()
    message = refusal("big.xlsx", data, Limits(max_inflated_bytes=1024 * MiB, max_ratio=10_000))
    assert time.monotonic() - started < 10
    assert message.startswith("第 50002 列：資料超過 50,000 列的上限")


def test_a_csv_of_three_million_rows_is_refused_quickly_naming_the_limit():
    data = csv_bytes([BUDGET_HEADER]) + b"x,106,,0,0,0\r\n" * 3_000_000
    started = time.monotonic()
    message = refusal("big.csv", data, Limits(max_bytes=64 * MiB))
    assert time.monotonic() - started < 5
    assert message.startswith("第 50002 列：資料超過 50,000 列的上限")


def test_one_cell_three_million_rows_down_is_refused_without_reading_the_gap():
    data = sheet_workbook(BUDGET_HEADER, [b'<row r="3000000"><c r="A3000000"><v>1</v></c></row>'])
    started = time.monotonic()
    assert "資料超過 50,000 列的上限" in refusal("gap.xlsx", data)
    assert time.monotonic() - started < 5


def test_the_row_limit_is_the_configured_one_and_blank_rows_count(budgeted):
    limits = limits_from(config.from_environment({"TRACKER_LEDGER_MAX_ROWS": "2"}))
    assert limits.max_rows == 2
    first = [YILAN, "106", "資本門", "1", "0", "0"]
    second = ["矯正機關智慧監控系統建置計畫", "106", "經常門", "800", "", ""]
    data = csv_bytes([BUDGET_HEADER, first, [], second])  # the second data row is row 4: 3 rows below the header
    before = snapshot(budgeted)
    with pytest.raises(ImportRefused) as caught:
        import_ledger(budgeted, "b.csv", data, OFFICER, limits=limits)
    budgeted.rollback()
    assert [str(p) for p in caught.value.problems] == [
        "第 4 列：資料超過 2 列的上限（標題列以下），已停止讀取：請分成數個檔案匯入"]
    assert snapshot(budgeted) == before
    assert read_table("b.csv", csv_bytes([BUDGET_HEADER, first, second]), limits, is_header)[1] == [
        (2, first), (3, second[:4])]


def test_a_row_wider_than_the_column_limit_is_refused_naming_it():
    wide = [YILAN, 106, "資本門", 1, 0, 0] + ["備註"] * 45  # 51 columns
    for name, encode in (("w.csv", csv_bytes), ("w.xlsx", xlsx_bytes)):
        assert refusal(name, encode([BUDGET_HEADER, [YILAN, 106, "資本門", 1, 0, 0], wide])) == (
            "第 3 列：超過 50 欄的上限（此列有 51 欄）：請刪除多餘的欄位後再匯入")
    # empty cells after the last value do not count
    read_table("w.csv", csv_bytes([BUDGET_HEADER, [YILAN, 106, "資本門", 1, 0, 0] + [""] * 100]), None, is_header)


# 3. Formulas without a computed value ---------------------------------------------------------------------------


def formula_workbook() -> bytes:
    """A budgets file as a script writes it: the amount is a formula that nobody computed (openpyxl leaves <v/>)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(BUDGET_HEADER)
    sheet.append([YILAN, 106, "資本門", "=500*2", 0, "=0"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rewritten(xlsx: bytes, edit) -> bytes:
    """The workbook with each part passed through edit(name, content)."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, edit(item.filename, source.read(item.filename)))
    return out.getvalue()


def computed(xlsx: bytes, cached: dict[str, str], *, recalculate_on_load: bool = False) -> bytes:
    """The workbook with a cached <v> beside each formula: as Excel saves it after computing (no recalculation
    flag), or, with recalculate_on_load, as XlsxWriter writes an uncomputed formula (0, and the flag kept)."""

    def edit(name: str, content: bytes) -> bytes:
        if name == "xl/worksheets/sheet1.xml":
            for ref, value in cached.items():
                head, start, tail = content.partition(f'<c r="{ref}">'.encode())
                formula, _, rest = tail.partition(b"<v />")
                content = head + start + formula + f"<v>{value}</v>".encode() + rest
        if name == "xl/workbook.xml" and not recalculate_on_load:
            content = content.replace(b' fullCalcOnLoad="1"', b"")
        return content

    return rewritten(xlsx, edit)


def test_a_formula_without_a_computed_value_is_refused_with_its_row_and_column_and_nothing_changes(budgeted):
    session = budgeted
    before = snapshot(session)
    problems = refused(session, "script.xlsx", formula_workbook())
    assert [str(p) for p in problems] == [
        "第 2 列「原預算數」：公式沒有計算結果（請在 Excel 開啟後存檔，或貼上數值）",
        "第 2 列「以前年度保留數」：公式沒有計算結果（請在 Excel 開啟後存檔，或貼上數值）",
    ]
    assert snapshot(session) == before
    assert budgets(session)[0][3] == Decimal(1000)  # not overwritten with 0


def test_a_stale_cached_value_of_a_script_is_refused_too():
    stale = computed(formula_workbook(), {"D2": "0", "F2": "0"}, recalculate_on_load=True)
    assert b'fullCalcOnLoad="1"' in zipfile.ZipFile(io.BytesIO(stale)).read("xl/workbook.xml")
    with pytest.raises(ImportRefused) as caught:
        read_table("x.xlsx", stale, None, is_header)
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "原預算數"), (2, "以前年度保留數")]


def test_formulas_computed_by_excel_import_their_values(budgeted):
    data = computed(formula_workbook(), {"D2": "1000", "F2": "0"})
    assert read_table("excel.xlsx", data, None, is_header)[1] == [(2, [YILAN, "106", "資本門", "1000", "0", "0"])]
    result = run(budgeted, "excel.xlsx", data)
    assert result.rows == 1


# 4. The header below a title row ---------------------------------------------------------------------------------


def test_a_title_row_above_the_header_is_skipped_and_rows_keep_their_numbers(budgeted):
    data = xlsx_bytes([[TITLE], None, ["單位：千元"], BUDGET_HEADER, [YILAN, 106, "資本門", 1200, 0, 0],
                       [YILAN, 106, "經常門", "x", 0, 0]])
    header, rows = read_table("report.xlsx", data, None, is_header)
    assert header == BUDGET_HEADER and [n for n, _ in rows] == [5, 6]
    problems = refused(budgeted, "report.xlsx", data)
    assert [(p.row, p.field) for p in problems] == [(6, "原預算數")]


def test_no_header_in_the_first_rows_names_the_row_read_and_what_stood_there(budgeted):
    data = xlsx_bytes([[TITLE], ["計畫", "金額"], [YILAN, 1000]])
    before = snapshot(budgeted)
    problems = refused(budgeted, "report.xlsx", data)
    assert [str(p) for p in problems] == [
        f"檔案：第 1 列不是標題列（內容：「{TITLE}」）；找不到含「計畫名稱」「年度」等欄位的標題列"]
    assert snapshot(budgeted) == before
    # the header is looked for among the first 20 non-blank rows only
    late = csv_bytes([[f"說明 {n}"] for n in range(20)] + [BUDGET_HEADER, [YILAN, 106, "資本門", 1, 0, 0]])
    assert "第 1 列不是標題列（內容：「說明 0」）" in refusal("late.csv", late)
    assert read_table("ok.csv", csv_bytes([[f"說明 {n}"] for n in range(19)] + [BUDGET_HEADER]), None,
                      is_header)[0] == BUDGET_HEADER


def test_is_header_wants_two_known_headings():
    assert is_header(["計畫名稱", "年度"]) and is_header([" Project ", "累計分配數(千元)"])
    assert not is_header([TITLE]) and not is_header(["計畫名稱", "計畫名稱", "備註"])


# 5. The upload limit ---------------------------------------------------------------------------------------------


def test_an_upload_above_the_limit_gets_413_with_the_limit_in_mb_and_writes_nothing(seeded, make_user, auth,
                                                                                     client, session):
    assert seeded.config["MAX_CONTENT_LENGTH"] == 32 * MiB  # in force by default, not None
    seeded.config["MAX_CONTENT_LENGTH"] = MiB // 4  # below the test client's 500 KB spooling: no temporary file
    make_user("officer", "budget_officer")
    auth.login("officer")
    page = client.get("/ledger/import").get_data(as_text=True)
    data = csv_bytes([BUDGET_HEADER, [YILAN, 106, "資本門", 1, 0, 0]]) + b"\r\n" * (200 * 1024)
    response = client.post("/ledger/import", data={"csrf_token": csrf_token(page), "file": (io.BytesIO(data), "b.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "上傳的檔案太大：上限為 0.25 MB" in html and "<html" in html.lower()
    assert budgets(session) == []
    token = token_for(seeded, "officer")
    api = client.post("/api/v1/projects/1/reports/106-08/attachments", data=b"x" * MiB,
                      content_type="multipart/form-data; boundary=xyz", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 413 and api.is_json
    assert "上限為 0.25 MB" in api.get_json()["error"]
    assert [ledger_files.megabytes(size) for size in (32 * MiB, 3 * MiB // 2, MiB // 4)] == ["32", "1.5", "0.25"]


def test_the_cli_refuses_a_file_above_the_limit_before_reading_it(seeded, runner, session, tmp_path, monkeypatch):
    seeded.config["MAX_CONTENT_LENGTH"] = 1 * MiB
    big = tmp_path / "budgets.csv"
    big.write_bytes(csv_bytes([BUDGET_HEADER, [YILAN, 106, "資本門", 1, 0, 0]]) + b"\r\n" * (2 * MiB))

    def not_read(self):
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_bytes", not_read)
    result = runner.invoke(args=["ledger", "import", str(big)])
    assert result.exit_code == 1, result.output
    assert "檔案太大：上限為 1 MB（此檔 4 MB）" in result.output and "Traceback" not in result.output
    assert budgets(session) == []


def test_the_service_refuses_a_file_above_the_limit_too():
    assert refusal("b.csv", b"x" * 2048, Limits(max_bytes=1024)).startswith("檔案：檔案太大：上限為")


def test_settings_and_their_defaults():
    limits = limits_from(config.DEFAULTS)
    assert limits == Limits(max_bytes=32 * MiB, max_rows=50_000, max_columns=50, max_inflated_bytes=100 * MiB,
                            max_ratio=100, max_parts=1000, max_shared_strings=200_000)
    assert ledger_files.default_limits() == limits
    assert limits_from(config.from_environment({
        "TRACKER_LEDGER_XLSX_MAX_INFLATED_BYTES": "2048", "TRACKER_LEDGER_XLSX_MAX_RATIO": "7",
        "TRACKER_LEDGER_MAX_COLUMNS": "3", "TRACKER_LEDGER_XLSX_MAX_PARTS": "4",
        "TRACKER_LEDGER_XLSX_MAX_SHARED_STRINGS": "5"})) == Limits(
        max_rows=50_000, max_columns=3, max_inflated_bytes=2048, max_ratio=7, max_parts=4, max_shared_strings=5)
    with pytest.raises(config.ConfigError):
        config.from_environment({"TRACKER_LEDGER_MAX_ROWS": "0"})
