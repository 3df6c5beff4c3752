"""Import month-end accounting figures (月報) and annual budgets (預算) from CSV or XLSX, all or nothing."""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import PurePath
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.access import Action
from tracker.domain.execution import available_budget
from tracker.domain.labels import KIND_LABELS
from tracker.domain.money import format_amount
from tracker.domain.roc import is_roc_year
from tracker.models import Budget, MonthEnd, Project, User
from tracker.services import audit
from tracker.services.accounts import check_may

#: How many problems str(ImportRefused) lists; the exception keeps them all.
SHOWN_PROBLEMS = 50
#: Rows written between two progress reports.
PROGRESS_EVERY = 1000
#: Money is Numeric(18, 3): at most 15 digits before the point and 3 after.
MAX_INTEGER_DIGITS = 15
MAX_DECIMAL_PLACES = 3
#: audit_log.entity_id is VARCHAR(64).
_ENTITY_ID_LENGTH = 64

_KIND_WORDS = {"資本門": "capital", "經常門": "current", "capital": "capital", "current": "current"}

#: field -> (Chinese header, English header); the order is the order of a template file.
_COLUMNS: dict[str, tuple[str, str]] = {
    "project": ("計畫名稱", "project"),
    "year": ("年度", "year"),
    "month": ("月份", "month"),
    "kind": ("經資門", "kind"),
    "original": ("原預算數", "original"),
    "supplementary": ("追加預算數", "supplementary"),
    "carried_over": ("以前年度保留數", "carried_over"),
    "allocated": ("累計分配數", "allocated"),
    "paid": ("累計實支數", "paid"),
    "payables": ("應付未付數", "payables"),
    "savings": ("累計賸餘數", "savings"),
}
_HEADER_FIELDS = {name: field for field, names in _COLUMNS.items() for name in names}
BUDGET_AMOUNTS = ("original", "supplementary", "carried_over")
MONTH_END_AMOUNTS = ("allocated", "paid", "payables", "savings")
_KEY_FIELDS = {"budgets": ("project", "year", "kind"), "month_end": ("project", "year", "month", "kind")}
_AMOUNTS = {"budgets": BUDGET_AMOUNTS, "month_end": MONTH_END_AMOUNTS}

#: A unit written after a header, as official tables do: 「原預算數(千元)」.
_UNIT_SUFFIX = re.compile(r"\([^()]*\)$")
_DIGITS = re.compile(r"^[0-9]+$")
_NUMBER = re.compile(r"^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


@dataclass(frozen=True)
class RowProblem:
    """One reason a file is refused, where a spreadsheet would show it."""

    #: The header is row 1, the first data row row 2; None for a problem with the whole file.
    row: int | None
    #: The column as written in the file's header, or None.
    field: str | None
    #: In Traditional Chinese, for a budget officer.
    reason: str

    def __str__(self) -> str:
        where = "檔案" if self.row is None else f"第 {self.row} 列"
        if self.field:
            where += f"「{self.field}」"
        return f"{where}：{self.reason}"


class ImportRefused(Exception):
    """A ledger file that was not imported; ``problems`` lists every problem found, in row order."""

    problems: list[RowProblem]

    def __init__(self, problems: list[RowProblem]):
        self.problems = sorted(problems, key=lambda p: -1 if p.row is None else p.row)
        shown = "\n".join(f"  - {p}" for p in self.problems[:SHOWN_PROBLEMS])
        more = (f"\n  … 另有 {len(self.problems) - SHOWN_PROBLEMS} 個問題"
                if len(self.problems) > SHOWN_PROBLEMS else "")
        super().__init__(f"匯入檔未通過檢查（共 {len(self.problems)} 個問題），未寫入任何資料：\n{shown}{more}")


@dataclass
class ImportResult:
    """What an import wrote."""

    #: "budgets" or "month_end"
    kind: str
    #: Data rows read.
    rows: int
    created: int
    #: Existing rows whose values changed.
    replaced: int
    #: Existing rows with identical values.
    unchanged: int
    #: The latest (ROC year, month) a month-end file carries, for the scan that follows it.
    latest_month: tuple[int, int] | None = None


@dataclass
class _Row:
    """One data row, parsed; a field is None where its cell was refused."""

    number: int
    project_id: int | None
    year: int | None
    month: int | None
    kind: str | None
    amounts: dict[str, Decimal | None]

    def key(self, file_kind: str) -> tuple | None:
        """The row's key, or None when any part of it was refused."""
        parts = (self.project_id, self.year, self.month, self.kind) if file_kind == "month_end" else (
            self.project_id, self.year, self.kind)
        return None if any(p is None for p in parts) else parts

    def is_valid(self, file_kind: str) -> bool:
        """Whether every cell parsed."""
        return self.key(file_kind) is not None and None not in self.amounts.values()


# ---------------------------------------------------------------------------------------------
# Reading


def _cell_text(value: Any) -> str:
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


def _read_csv(data: bytes) -> list[tuple[int, list[str]]]:
    for encoding in ("utf-8-sig", "cp950"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportRefused([RowProblem(None, None, "無法辨識檔案的文字編碼：請將 CSV 存成 UTF-8 或 Big5")])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        # A spreadsheet shows one row per record, blank lines included, even when a quoted cell holds a line break.
        return [(number, row) for number, row in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise ImportRefused([RowProblem(None, None, f"CSV 格式錯誤（約第 {reader.line_num} 行）：{exc}")]) from None


def _read_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a broken or foreign file
        raise ImportRefused([RowProblem(None, None, "無法讀取 Excel 檔：檔案可能已損壞，或不是 .xlsx 格式")]) from None
    try:
        if not workbook.worksheets:
            return []
        sheet = workbook.worksheets[0]
        # Some writers record a wrong sheet size; read every stored row instead of trusting it.
        sheet.reset_dimensions()
        rows = []
        number = 0
        for cells in sheet.iter_rows():
            # Read-only sheets yield gap rows too; a stored cell still knows its own row.
            number = next((cell.row for cell in cells if getattr(cell, "row", None)), number + 1)
            rows.append((number, [_cell_text(cell.value) for cell in cells]))
        return rows
    except Exception:  # noqa: BLE001
        raise ImportRefused([RowProblem(None, None, "無法讀取 Excel 檔：檔案可能已損壞，或不是 .xlsx 格式")]) from None
    finally:
        workbook.close()


def _is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def read_table(filename: str, data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header cells and (spreadsheet row number, cells) of each non-blank data row.

    The header is the first non-blank row; an unknown extension or an unreadable file raises ImportRefused.
    An empty file gives ([], []).
    """
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".csv":
        records = _read_csv(data)
    elif suffix == ".xlsx":
        records = _read_xlsx(data) if data else []
    else:
        hint = "；舊版 Excel（.xls）請另存為 .xlsx" if suffix == ".xls" else ""
        raise ImportRefused([RowProblem(None, None, f"只能匯入 .csv 或 .xlsx 檔（收到「{filename}」）{hint}")])
    records = [(number, cells) for number, cells in records if not _is_blank(cells)]
    if not records:
        return [], []
    (_, header), rows = records[0], records[1:]
    return [cell.strip() for cell in header], rows


# ---------------------------------------------------------------------------------------------
# Checking


def _normal(text: str) -> str:
    """Full-width digits, commas and letters as ASCII (「１，２３４」 → "1,234"), spaces trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def _plain(value: Decimal) -> str:
    """An amount as the audit log keeps it: 1234567.5."""
    return format(value.normalize(), "f")


class _Checker:
    """Validation of one file's rows against the database; collects every problem."""

    def __init__(self, session: so.Session, kind: str, columns: dict[str, int], header: list[str]):
        self.session = session
        self.kind = kind
        self.columns = columns
        self.header = header
        self.problems: list[RowProblem] = []
        projects = session.execute(sa.select(Project.id, Project.name, Project.parent_id)).all()
        self.names: dict[str, list[int]] = {}
        for project_id, name, _ in projects:
            self.names.setdefault(name, []).append(project_id)
        self.project_names = {project_id: name for project_id, name, _ in projects}
        self.parent_of = {project_id: parent_id for project_id, _, parent_id in projects}
        self.children_of: dict[int, list[int]] = {}
        for project_id, _, parent_id in projects:
            if parent_id is not None:
                self.children_of.setdefault(parent_id, []).append(project_id)

    def _problem(self, number: int, field: str | None, reason: str) -> None:
        self.problems.append(RowProblem(number, self.header[self.columns[field]] if field else None, reason))

    def _cell(self, cells: list[str], field: str) -> str:
        index = self.columns[field]
        return cells[index].strip() if index < len(cells) else ""

    def parse(self, number: int, cells: list[str]) -> _Row:
        """One row's cells as values; a refused cell becomes None and a problem."""
        return _Row(
            number=number,
            project_id=self._project(number, self._cell(cells, "project")),
            year=self._year(number, self._cell(cells, "year")),
            month=self._month(number, self._cell(cells, "month")) if self.kind == "month_end" else None,
            kind=self._kind(number, self._cell(cells, "kind")),
            amounts={field: self._amount(number, field, self._cell(cells, field)) for field in _AMOUNTS[self.kind]},
        )

    def _project(self, number: int, text: str) -> int | None:
        if not text:
            self._problem(number, "project", "未填計畫（請填計畫全名或編號）")
            return None
        matches = self.names.get(text)
        if matches is None and _DIGITS.match(_normal(text)) and len(_normal(text)) <= 18:
            project_id = int(_normal(text))
            if project_id in self.project_names:
                return project_id
        if not matches:
            self._problem(number, "project", f"找不到計畫「{text}」（請用計畫全名或編號）")
            return None
        if len(matches) > 1:
            ids = "、".join(str(i) for i in sorted(matches))
            self._problem(number, "project", f"有 {len(matches)} 個計畫都叫「{text}」，請改填計畫編號（{ids}）")
            return None
        return matches[0]

    def _year(self, number: int, text: str) -> int | None:
        value = _normal(text)
        # at most 3 digits before int(): a 5,000-digit cell would make int() itself refuse
        if _DIGITS.match(value) and len(value) <= 3 and is_roc_year(int(value)):
            return int(value)
        self._problem(number, "year", f"年度須為民國年的整數，例如 106（收到「{text}」）")
        return None

    def _month(self, number: int, text: str) -> int | None:
        value = _normal(text)
        if _DIGITS.match(value) and len(value) <= 2 and 1 <= int(value) <= 12:
            return int(value)
        self._problem(number, "month", f"月份須為 1 至 12（收到「{text}」）")
        return None

    def _kind(self, number: int, text: str) -> str | None:
        kind = _KIND_WORDS.get(_normal(text).lower())
        if kind is None:
            self._problem(number, "kind", f"經資門須為「資本門」或「經常門」（或 capital／current），收到「{text}」")
        return kind

    def _amount(self, number: int, field: str, text: str) -> Decimal | None:
        name = self.header[self.columns[field]]
        value = _normal(text).replace(",", "")
        if not value:
            return Decimal(0)
        negative = False
        # Accounting tables write a negative amount in parentheses: (1,234).
        if value.startswith("(") and value.endswith(")"):
            value, negative = value[1:-1].strip(), True
        match = _NUMBER.match(value)
        if match is None:
            self._problem(number, field, f"「{name}」須為數字（單位：千元），收到「{text}」")
            return None
        amount = Decimal(match.group(2))  # the pattern admits only plain digits: no NaN, no exponent
        if (negative or match.group(1) == "-") and amount != 0:
            self._problem(number, field, f"「{name}」不可為負數（收到「{text}」）")
            return None
        amount = abs(amount)
        if -amount.normalize().as_tuple().exponent > MAX_DECIMAL_PLACES:
            self._problem(number, field, f"「{name}」最多到小數第 {MAX_DECIMAL_PLACES} 位（單位：千元），收到「{text}」")
            return None
        if amount >= Decimal(10) ** MAX_INTEGER_DIGITS:
            self._problem(number, field, f"「{name}」金額過大（單位為千元），收到「{text}」")
            return None
        return amount

    def check_duplicates(self, rows: list[_Row]) -> None:
        """A key given twice: the later row is refused, naming the earlier one."""
        what = "計畫、年度、月份及經資門" if self.kind == "month_end" else "計畫、年度及經資門"
        first: dict[tuple, int] = {}
        for row in rows:
            key = row.key(self.kind)
            if key is None:
                continue
            if key in first:
                self._problem(row.number, None, f"與第 {first[key]} 列重複：同一{what}只能有一列")
            else:
                first[key] = row.number

    def check_double_counting(self, rows: list[_Row]) -> None:
        """A programme and its sub-plans must not both carry figures for one year and kind."""
        table = MonthEnd if self.kind == "month_end" else Budget
        what = "月報" if self.kind == "month_end" else "預算"
        in_file: dict[tuple[int, int, str], int] = {}
        for row in rows:
            if row.key(self.kind) is not None:
                in_file.setdefault((row.project_id, row.year, row.kind), row.number)
        project_ids = {project_id for project_id, _, _ in in_file}
        related = {self.parent_of.get(p) for p in project_ids} | {
            c for p in project_ids for c in self.children_of.get(p, [])}
        related.discard(None)
        in_database: set[tuple[int, int, str]] = set()
        if related:
            years = {year for _, year, _ in in_file}
            in_database = set(self.session.execute(
                sa.select(table.project_id, table.year_roc, table.kind).distinct().where(
                    table.project_id.in_(sorted(related)),
                    table.year_roc.in_(sorted(years)),
                    table.is_synthetic.is_(False))))
        for row in rows:
            if row.key(self.kind) is None:
                continue
            parent = self.parent_of.get(row.project_id)
            others = ([parent] if parent is not None else []) + self.children_of.get(row.project_id, [])
            for other in others:
                where = None
                if (other, row.year, row.kind) in in_file:
                    where = f"本檔第 {in_file[other, row.year, row.kind]} 列"
                elif (other, row.year, row.kind) in in_database:
                    where = "資料庫已有"
                if where is None:
                    continue
                name, other_name = self.project_names[row.project_id], self.project_names[other]
                relation = (f"「{name}」是「{other_name}」的子計畫" if other == parent
                            else f"「{other_name}」是「{name}」的子計畫")
                self._problem(row.number, "project",
                              f"{relation}，兩者不可同時填列 {row.year} 年度{KIND_LABELS[row.kind]}{what}數字，"
                              f"否則彙總時會重複計算（{where}「{other_name}」的數字）")
                break

    def check_allocation(self, rows: list[_Row]) -> None:
        """Cumulative allocation (累計分配數) may not exceed the year's available budget (可支用預算數)."""
        keyed = [row for row in rows if row.key(self.kind) is not None and row.amounts["allocated"] is not None]
        if not keyed:
            return
        budgets = {
            (b.project_id, b.year_roc, b.kind): b.available
            for b in self.session.scalars(sa.select(Budget).where(
                Budget.project_id.in_(sorted({row.project_id for row in keyed})),
                Budget.year_roc.in_(sorted({row.year for row in keyed})),
                Budget.is_synthetic.is_(False)))
        }
        for row in keyed:
            allocated = row.amounts["allocated"]
            available = budgets.get((row.project_id, row.year, row.kind))
            if available is None and allocated > 0:
                self._problem(row.number, "allocated",
                              f"累計分配數 {format_amount(allocated)} 千元超過可支用預算數 0 千元："
                              f"「{self.project_names[row.project_id]}」尚無 {row.year} 年度"
                              f"{KIND_LABELS[row.kind]}預算，請先匯入預算")
            elif available is not None and allocated > available:
                self._problem(row.number, "allocated",
                              f"累計分配數 {format_amount(allocated)} 千元超過可支用預算數 "
                              f"{format_amount(available)} 千元（{row.year} 年度{KIND_LABELS[row.kind]}："
                              f"原預算＋追加預算＋以前年度保留數）")


    def check_budget_floor(self, rows: list[_Row]) -> None:
        """A budget may not drop below what has already been allocated against it (累計分配數)."""
        keyed = [row for row in rows if row.key(self.kind) is not None
                 and all(row.amounts[field] is not None for field in BUDGET_AMOUNTS)]
        if not keyed:
            return
        allocated = {
            (project_id, year, kind): amount
            for project_id, year, kind, amount in self.session.execute(
                sa.select(MonthEnd.project_id, MonthEnd.year_roc, MonthEnd.kind, sa.func.max(MonthEnd.allocated))
                .where(MonthEnd.project_id.in_(sorted({row.project_id for row in keyed})),
                       MonthEnd.year_roc.in_(sorted({row.year for row in keyed})), MonthEnd.is_synthetic.is_(False))
                .group_by(MonthEnd.project_id, MonthEnd.year_roc, MonthEnd.kind))
        }
        for row in keyed:
            already = allocated.get((row.project_id, row.year, row.kind))
            available = available_budget(*(row.amounts[field] for field in BUDGET_AMOUNTS))
            if already is not None and available < already:
                self._problem(row.number, "original",
                              f"可支用預算數 {format_amount(available)} 千元低於已匯入的累計分配數 "
                              f"{format_amount(already)} 千元（{row.year} 年度{KIND_LABELS[row.kind]}），"
                              f"請先更正月報的分配數")


def _header_word(name: str) -> str:
    """A header cell as a lookup word: 「累計分配數（千元）」 → "累計分配數", " Project " → "project"."""
    return _UNIT_SUFFIX.sub("", _normal(name)).strip().lower()


def _columns(header: list[str]) -> tuple[str, dict[str, int], list[RowProblem]]:
    """The file kind, field -> column index, and the header's problems."""
    columns: dict[str, int] = {}
    problems = []
    for index, name in enumerate(header):
        field = _HEADER_FIELDS.get(_header_word(name))
        if field is None:
            continue  # an unknown extra column, such as a remark, is ignored
        if field in columns:
            problems.append(RowProblem(None, name, f"欄位「{name}」出現不只一次（與「{header[columns[field]]}」重複）"))
            continue
        columns[field] = index
    kind = "month_end" if "month" in columns else "budgets"
    for field in (*_KEY_FIELDS[kind], *_AMOUNTS[kind]):
        if field not in columns:
            chinese, english = _COLUMNS[field]
            problems.append(RowProblem(None, chinese, f"缺少欄位「{chinese}」（英文標題可用 {english}）"))
    return kind, columns, problems


# ---------------------------------------------------------------------------------------------
# Writing


def _write(session: so.Session, kind: str, rows: list[_Row], who: audit.Who,
           progress: Callable[[int], None] | None) -> tuple[int, int, int]:
    """Create or replace every row (all valid); return (created, replaced, unchanged)."""
    table = MonthEnd if kind == "month_end" else Budget
    amounts = _AMOUNTS[kind]
    existing: dict[tuple, Any] = {}
    for record in session.scalars(sa.select(table).where(
            table.project_id.in_(sorted({row.project_id for row in rows})),
            table.year_roc.in_(sorted({row.year for row in rows})),
            table.is_synthetic.is_(False))):
        key = ((record.project_id, record.year_roc, record.month, record.kind) if kind == "month_end"
               else (record.project_id, record.year_roc, record.kind))
        existing[key] = record
    created = replaced = unchanged = 0
    for start in range(0, len(rows), PROGRESS_EVERY):
        new = []
        for row in rows[start:start + PROGRESS_EVERY]:
            record = existing.get(row.key(kind))
            if record is None:
                values = {"project_id": row.project_id, "year_roc": row.year, "kind": row.kind,
                          "is_synthetic": False, **row.amounts}
                if kind == "month_end":
                    values["month"] = row.month
                new.append(values)
                continue
            changes = {field: [_plain(getattr(record, field)), _plain(row.amounts[field])]
                       for field in amounts if getattr(record, field) != row.amounts[field]}
            if not changes:
                unchanged += 1
                continue
            for field in changes:
                setattr(record, field, row.amounts[field])
            audit.record(session, who, "ledger.replace", "month_end" if kind == "month_end" else "budget",
                         record.id, changes)
            replaced += 1
        if new:
            # A bulk INSERT: one statement per batch, not one ORM object per row.
            session.execute(sa.insert(table), new)
            created += len(new)
        if progress is not None:
            progress(min(start + PROGRESS_EVERY, len(rows)))
    return created, replaced, unchanged


def import_ledger(session: so.Session, filename: str, data: bytes, who: audit.Who,
                  progress: Callable[[int], None] | None = None, *, user: User | None = None) -> ImportResult:
    """Validate the whole file, then write it; raise ImportRefused before any write.

    A person (``who`` with a user id) must be given as ``user`` and may import only with Action.EDIT_BUDGET,
    else PermissionError; a process without an account (the CLI at the server's console) may.

    The file is a budgets file (原預算數 …) or, when it has a 月份 column, a month-end file (累計分配數 …).
    progress(n) is called with the number of rows written, every 1,000 rows and at the end. The caller commits.
    """
    if who.user_id is not None and (user is None or user.id != who.user_id):
        raise PermissionError("the person importing must be the one audited")
    check_may(session, who, Action.EDIT_BUDGET)
    header, records = read_table(filename, data)
    if not header:
        raise ImportRefused([RowProblem(None, None, "檔案是空的")])
    kind, columns, problems = _columns(header)
    if problems:
        raise ImportRefused(problems)
    if not records:
        raise ImportRefused([RowProblem(None, None, "檔案只有標題列，沒有資料")])
    checker = _Checker(session, kind, columns, header)
    rows = [checker.parse(number, cells) for number, cells in records]
    checker.check_duplicates(rows)
    checker.check_double_counting(rows)
    if kind == "month_end":
        checker.check_allocation(rows)
    else:
        checker.check_budget_floor(rows)
    if checker.problems:
        raise ImportRefused(checker.problems)
    assert all(row.is_valid(kind) for row in rows)  # every refused cell left a problem
    created, replaced, unchanged = _write(session, kind, rows, who, progress)
    latest = max(((row.year, row.month) for row in rows), default=None) if kind == "month_end" else None
    result = ImportResult(kind=kind, rows=len(rows), created=created, replaced=replaced, unchanged=unchanged,
                          latest_month=latest)
    audit.record(session, who, "ledger.import", "ledger", (filename or "")[:_ENTITY_ID_LENGTH], {
        "kind": result.kind, "rows": result.rows, "created": result.created,
        "replaced": result.replaced, "unchanged": result.unchanged,
    })
    session.flush()
    return result
