"""Import month-end accounting figures (月報) and annual budgets (預算) from CSV or XLSX, all or nothing."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker import config as settings
from tracker.domain import ledger_rules
from tracker.domain.access import Action
from tracker.domain.execution import available_budget
from tracker.domain.labels import KIND_LABELS
from tracker.domain.money import format_amount
from tracker.domain.names import closest, fold
from tracker.domain.roc import is_roc_year
from tracker.models import Budget, MonthEnd, PlanEntry, Project, User
from tracker.services import audit, plan_years
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
    "code": ("計畫編號", "code"),
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
    "correction": ("更正", "correction"),
}
#: Columns a file may leave out: the plan code (the 計畫名稱 cell may hold it) and the correction mark.
OPTIONAL_COLUMNS = ("code", "correction")
_HEADER_FIELDS = {name: field for field, names in _COLUMNS.items() for name in names}
#: A 更正 cell: 是 marks a row that corrects figures imported before (a cumulative figure may then fall).
_CORRECTION_WORDS = {"是": True, "y": True, "yes": True, "1": True, "true": True, "v": True,
                     "": False, "否": False, "n": False, "no": False, "0": False, "false": False}
#: A plan code as typed: 「48」, 「49-3」 (full-width digits and other dashes are normalised first).
_CODE = re.compile(r"^[0-9]{1,6}(?:-[0-9]{1,6})*$")
_DASHES = str.maketrans({dash: "-" for dash in "‐‑‒–—―−﹣"})
#: Thousands separators, only in groups of three: 1,234,567.5.
_GROUPED = re.compile(r"^[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?$")
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


#: The figure tables an import writes, as LedgerImportChange.table_name names them.
FIGURE_TABLES = {"budgets": "budgets", "month_end": "month_end_figures"}


@dataclass
class Change:
    """What one data row does to the stored figures: create a row, replace its amounts, or nothing."""

    #: "budgets" or "month_end_figures"
    table: str
    #: The stored row's id; None when the row does not exist yet (filled in once it is written).
    record_id: int | None
    #: project_id, year_roc, kind (and month for month-end figures).
    key: dict[str, Any]
    #: Amounts stored now ({field: Decimal}), None when the row does not exist.
    before: dict[str, Decimal] | None
    #: Amounts the file gives.
    after: dict[str, Decimal]
    #: The spreadsheet row it comes from.
    row: int = 0
    #: Plan code (Project.code) and name of the programme, for the preview.
    project_code: str | None = None
    project_name: str = ""

    @property
    def action(self) -> str:
        """create, replace or unchanged."""
        if self.before is None:
            return "create"
        return "unchanged" if self.before == self.after else "replace"

    @property
    def key_tuple(self) -> tuple:
        return (self.key["project_id"], self.key["year_roc"], self.key.get("month"), self.key["kind"])


@dataclass
class ImportResult:
    """What an import wrote (or, with dry_run, would write)."""

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
    #: Every row's effect, in file order (unchanged rows included).
    changes: list[Change] = _field(default_factory=list)
    #: Warnings the checks raised (they do not stop the import).
    warnings: list = _field(default_factory=list)
    #: The file says it corrects earlier figures.
    is_correction: bool = False
    #: True when nothing was written.
    dry_run: bool = False
    #: The LedgerImport row recorded for it (None with dry_run).
    import_id: int | None = None


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


def read_table(filename: str, data: bytes, limits=None,
               is_header: Callable[[list[str]], bool] | None = None) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header cells and (spreadsheet row number, cells) of each non-blank data row: see ledger_files.read_table.

    ``limits`` is a ledger_files.Limits (the default configuration's when None); ``is_header`` finds a header
    below a title row (is_header below). The reading itself, bounded and checked, lives in ledger_files.
    """
    # ledger_files raises this module's ImportRefused: imported here, not at the top
    from tracker.services import ledger_files

    return ledger_files.read_table(filename, data, limits, is_header)


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

    def __init__(self, session: so.Session, kind: str, columns: dict[str, int], header: list[str],
                 config: Mapping[str, Any] | None = None):
        self.session = session
        self.kind = kind
        self.columns = columns
        self.header = header
        self.problems: list[RowProblem] = []
        #: Findings that do not stop the import (a skipped month, 執行數 above 分配數), for the preview.
        self.warnings: list[RowProblem] = []
        #: Some row of the file says it corrects figures imported before (the 更正 column).
        self.is_correction = False
        #: Row numbers marked as corrections.
        self.corrections: set[int] = set()
        config = settings.DEFAULTS if config is None else config
        self.over_allocated_pct = Decimal(config.get("LEDGER_EXECUTED_OVER_ALLOCATED_WARN_PCT",
                                                     settings.DEFAULTS["LEDGER_EXECUTED_OVER_ALLOCATED_WARN_PCT"]))
        # Every programme once per file: rows are matched in memory, never with a query per row.
        projects = session.execute(sa.select(Project.id, Project.name, Project.parent_id, Project.code)).all()
        self.names: dict[str, list[int]] = {}
        self.codes: dict[str, list[int]] = {}
        for project_id, name, _, code in projects:
            self.names.setdefault(fold(name), []).append(project_id)
            if code:
                self.codes.setdefault(code, []).append(project_id)
        # A plan code is a year's: 「2」 in 106's plan and 「2」 in 107's may be two programmes. Each year's entries
        # give that year's codes, and the names any year listed a programme by find it too.
        self.entry_codes: dict[tuple[int, str], list[int]] = {}
        self.other_names: dict[int, set[str]] = {}
        for project_id, year_roc, code, name in session.execute(
                sa.select(PlanEntry.project_id, PlanEntry.year_roc, PlanEntry.code, PlanEntry.name)):
            if code:
                self.entry_codes.setdefault((year_roc, code), []).append(project_id)
            same = self.names.setdefault(fold(name), [])
            if project_id not in same:
                same.append(project_id)
            self.other_names.setdefault(project_id, set()).add(fold(name))
        self.entry_years = {year for year, _ in self.entry_codes}
        self.project_names = {project_id: name for project_id, name, _, _ in projects}
        self.project_codes = {project_id: code for project_id, _, _, code in projects}
        self.parent_of = {project_id: parent_id for project_id, _, parent_id, _ in projects}
        self.children_of: dict[int, list[int]] = {}
        for project_id, _, parent_id, _ in projects:
            if parent_id is not None:
                self.children_of.setdefault(parent_id, []).append(project_id)
        self._suggestions: dict[str, str] = {}

    def _problem(self, number: int, field: str | None, reason: str) -> None:
        self.problems.append(RowProblem(number, self.header[self.columns[field]] if field else None, reason))

    def _warning(self, number: int, field: str | None, reason: str) -> None:
        self.warnings.append(RowProblem(number, self.header[self.columns[field]] if field else None, reason))

    def _cell(self, cells: list[str], field: str) -> str:
        index = self.columns[field]
        return cells[index].strip() if index < len(cells) else ""

    def parse(self, number: int, cells: list[str]) -> _Row:
        """One row's cells as values; a refused cell becomes None and a problem."""
        if "correction" in self.columns:
            self._correction(number, self._cell(cells, "correction"))
        year = self._year(number, self._cell(cells, "year"))
        return _Row(
            number=number,
            project_id=self._project(number, self._cell(cells, "project"),
                                     self._cell(cells, "code") if "code" in self.columns else "", year),
            year=year,
            month=self._month(number, self._cell(cells, "month")) if self.kind == "month_end" else None,
            kind=self._kind(number, self._cell(cells, "kind")),
            amounts={field: self._amount(number, field, self._cell(cells, field)) for field in _AMOUNTS[self.kind]},
        )

    def _correction(self, number: int, text: str) -> None:
        marked = _CORRECTION_WORDS.get(_normal(text).lower())
        if marked is None:
            self._problem(number, "correction", f"「更正」欄填「是」表示本列更正先前的數字，否則留空（收到「{text}」）")
        elif marked:
            self.corrections.add(number)
            self.is_correction = True

    def _label(self, project_id: int) -> str:
        """「name（編號 48）」, as a message offers a programme."""
        code = self.project_codes.get(project_id)
        return f"{self.project_names[project_id]}（編號 {code}）" if code else self.project_names[project_id]

    def _by_code(self, number: int, field: str, text: str, year: int | None = None) -> int | None:
        """The programme a plan code names in the row's year's plan (the latest codes when that year has no plan);
        a problem when none or several do."""
        code = _normal(text).translate(_DASHES).replace(" ", "")
        in_year = year is not None and year in self.entry_years
        matches = self.codes.get(code, [])
        if in_year:  # that year's numbering; a programme no plan lists keeps its own code
            matches = self.entry_codes.get((year, code)) or [p for p in matches if p not in self.other_names]
        if not matches:
            where = f"{year} 年度計畫中" if in_year else ""
            self._problem(number, field, f"{where}找不到計畫編號「{text}」（計畫編號即計畫總覽所列的編號，例如 48 或 49-3）")
            return None
        if len(matches) > 1:
            self._problem(number, field, f"有 {len(matches)} 個計畫的編號都是「{text}」："
                                         + "、".join(self._label(p) for p in sorted(matches)))
            return None
        return matches[0]

    def _suggest(self, text: str) -> str:
        """「；您是否要找：name（編號 48）、…」 with up to 3 closest names (for the first names not found only:
        the message shows at most SHOWN_PROBLEMS problems, and each suggestion compares with every name)."""
        key = fold(text)[:200]
        if key not in self._suggestions and len(self._suggestions) >= SHOWN_PROBLEMS:
            return "（請填計畫全名或計畫編號）"
        if key not in self._suggestions:
            ids_by_name: dict[str, int] = {}
            for project_id, name in self.project_names.items():
                ids_by_name.setdefault(name, project_id)
            offered = closest(key, list(ids_by_name), n=3)
            self._suggestions[key] = ("；您是否要找：" + "、".join(self._label(ids_by_name[name]) for name in offered)
                                      if offered else "（請填計畫全名或計畫編號）")
        return self._suggestions[key]

    def _project(self, number: int, text: str, code_text: str = "", year: int | None = None) -> int | None:
        """The programme a row names: by plan code (Project.code) or by its exact name after folding (台/臺,
        full-/half-width, spaces); never by internal id. A separate 計畫編號 cell, when filled, decides, and
        the name beside it must agree."""
        if code_text:
            project_id = self._by_code(number, "code", code_text, year)
            if project_id is not None and text and not _CODE.match(_normal(text).translate(_DASHES)) \
                    and fold(text) != fold(self.project_names[project_id]) \
                    and fold(text) not in self.other_names.get(project_id, ()):
                self._problem(number, "project", f"計畫編號「{code_text}」是「{self.project_names[project_id]}」，"
                                                 f"與計畫名稱「{text}」不符")
                return None
            return project_id
        if not text:
            self._problem(number, "project", "未填計畫（請填計畫全名或計畫編號）")
            return None
        if _CODE.match(_normal(text).translate(_DASHES).replace(" ", "")):
            return self._by_code(number, "project", text, year)
        matches = self.names.get(fold(text))
        if not matches:
            self._problem(number, "project", f"找不到計畫「{text}」{self._suggest(text)}")
            return None
        if len(matches) > 1:
            self._problem(number, "project", f"有 {len(matches)} 個計畫都叫「{text}」，請改填計畫編號："
                                             + "、".join(self._label(p) for p in sorted(matches)))
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
        value = _normal(text)
        if not value:
            return Decimal(0)
        negative = False
        # Accounting tables write a negative amount in parentheses: (1,234).
        if value.startswith("(") and value.endswith(")"):
            value, negative = value[1:-1].strip(), True
        if "," in value:
            # 「1,23」 is no amount: a comma that does not separate thousands is a typing slip, not a digit to drop.
            if not _GROUPED.match(value):
                self._problem(number, field, f"「{name}」的千分位逗號須每三位一個（例如 1,234,567），收到「{text}」")
                return None
            value = value.replace(",", "")
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

    def check_open_years(self, rows: list[_Row]) -> None:
        """A closed year (年度結束) is read-only: its rows are refused, once per year, at its first row."""
        first: dict[int, list[int]] = {}
        for row in rows:
            if row.year is not None:
                first.setdefault(row.year, []).append(row.number)
        closed = plan_years.closed_years(self.session) if first else set()  # one query, however many years
        for year, numbers in sorted(first.items()):
            if year in closed:
                more = f"（本檔共 {len(numbers)} 列屬該年度）" if len(numbers) > 1 else ""
                self._problem(numbers[0], "year", f"{plan_years.closed_message(year)}{more}")

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


    def check_months(self, rows: list[_Row]) -> None:
        """Month-end figures across months (tracker.domain.ledger_rules), the file's rows with the stored ones.

        A cumulative 分配數 or 執行數 below an earlier month's is refused unless its row is marked in 更正;
        a skipped month and 執行數 above 分配數 are warnings. One query whatever the file's size.
        """
        keyed = [row for row in rows if row.key(self.kind) is not None and None not in row.amounts.values()]
        if not keyed:
            return
        stored: dict[tuple[int, int, str], list[ledger_rules.MonthPoint]] = {}
        for project_id, year, kind, month, allocated, paid, payables, savings in self.session.execute(
                sa.select(MonthEnd.project_id, MonthEnd.year_roc, MonthEnd.kind, MonthEnd.month, MonthEnd.allocated,
                          MonthEnd.paid, MonthEnd.payables, MonthEnd.savings)
                .where(MonthEnd.project_id.in_(sorted({row.project_id for row in keyed})),
                       MonthEnd.year_roc.in_(sorted({row.year for row in keyed})), MonthEnd.is_synthetic.is_(False))):
            stored.setdefault((project_id, year, kind), []).append(ledger_rules.MonthPoint(
                month, allocated, ledger_rules.executed(paid, payables, savings)))
        in_file: dict[tuple[int, int, str], list[ledger_rules.MonthPoint]] = {}
        for row in keyed:
            amounts = row.amounts
            in_file.setdefault((row.project_id, row.year, row.kind), []).append(ledger_rules.MonthPoint(
                row.month, amounts["allocated"],
                ledger_rules.executed(amounts["paid"], amounts["payables"], amounts["savings"]),
                row=row.number, is_correction=row.number in self.corrections))
        fields = {"allocated": "allocated", "executed": None, None: None}
        for key, points in in_file.items():
            findings = ledger_rules.check_series(stored.get(key, []), points, self.over_allocated_pct)
            for finding in findings.refusals:
                self._problem(finding.row, fields[finding.field], finding.reason)
            for finding in findings.warnings:
                self._warning(finding.row, fields[finding.field], finding.reason)
        self.warnings.sort(key=lambda p: p.row if p.row is not None else -1)

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


def is_header(cells: list[str]) -> bool:
    """Whether a row reads as a header: at least two of its cells are headings the importer knows (計畫名稱, 年度 …)."""
    return len({_HEADER_FIELDS[word] for word in map(_header_word, cells) if word in _HEADER_FIELDS}) >= 2


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


def _key_dict(kind: str, project_id: int, year: int, month: int | None, figure_kind: str) -> dict[str, Any]:
    key: dict[str, Any] = {"project_id": project_id, "year_roc": year, "kind": figure_kind}
    if kind == "month_end":
        key["month"] = month
    return key


def _plan(session: so.Session, kind: str, rows: list[_Row], lock: bool = False
          ) -> tuple[list[Change], dict[tuple, Any]]:
    """Each row's Change, and the stored records by key (locked FOR UPDATE when ``lock``: about to be written)."""
    table = MonthEnd if kind == "month_end" else Budget
    amounts = _AMOUNTS[kind]
    project_ids = sorted({row.project_id for row in rows})
    query = sa.select(table).where(
        table.project_id.in_(project_ids),
        table.year_roc.in_(sorted({row.year for row in rows})),
        table.is_synthetic.is_(False))
    if lock:
        query = query.with_for_update()
    existing: dict[tuple, Any] = {}
    for record in session.scalars(query):
        key = ((record.project_id, record.year_roc, record.month, record.kind) if kind == "month_end"
               else (record.project_id, record.year_roc, record.kind))
        existing[key] = record
    projects = {project_id: (code, name) for project_id, code, name in session.execute(
        sa.select(Project.id, Project.code, Project.name).where(Project.id.in_(project_ids)))}
    changes = []
    for row in rows:
        record = existing.get(row.key(kind))
        code, name = projects.get(row.project_id, (None, ""))
        changes.append(Change(
            table=FIGURE_TABLES[kind], record_id=None if record is None else record.id,
            key=_key_dict(kind, row.project_id, row.year, row.month, row.kind),
            before=None if record is None else {field: getattr(record, field) for field in amounts},
            after={field: row.amounts[field] for field in amounts},
            row=row.number, project_code=code, project_name=name))
    return changes, existing


def plan_changes(session: so.Session, kind: str, rows: list[_Row]) -> list[Change]:
    """What writing these (valid) rows would do, row by row, without writing anything."""
    return _plan(session, kind, rows)[0]


def _write(session: so.Session, kind: str, changes: list[Change], existing: dict[tuple, Any], who: audit.Who,
           progress: Callable[[int], None] | None) -> None:
    """Apply planned changes: create or replace every row; a created row's Change gets its new record id."""
    table = MonthEnd if kind == "month_end" else Budget
    for start in range(0, len(changes), PROGRESS_EVERY):
        new: list[Change] = []
        for change in changes[start:start + PROGRESS_EVERY]:
            action = change.action
            if action == "create":
                new.append(change)
                continue
            if action == "unchanged":
                continue
            key = change.key
            record = existing[(key["project_id"], key["year_roc"], key["month"], key["kind"]) if kind == "month_end"
                              else (key["project_id"], key["year_roc"], key["kind"])]
            diff = {field: [_plain(change.before[field]), _plain(value)]
                    for field, value in change.after.items() if change.before[field] != value}
            for field in diff:
                setattr(record, field, change.after[field])
            audit.record(session, who, "ledger.replace", "month_end" if kind == "month_end" else "budget",
                         record.id, diff)
        if new:
            # A bulk INSERT: one statement per batch, not one ORM object per row; the new ids come back in order.
            ids = session.scalars(sa.insert(table).returning(table.id, sort_by_parameter_order=True), [
                {**change.key, "is_synthetic": False, **change.after} for change in new]).all()
            for change, record_id in zip(new, ids):
                change.record_id = record_id
        if progress is not None:
            progress(min(start + PROGRESS_EVERY, len(changes)))


def import_ledger(session: so.Session, filename: str, data: bytes, who: audit.Who,
                  progress: Callable[[int], None] | None = None, *, user: User | None = None,
                  dry_run: bool = False, before_write: Callable[[ImportResult], None] | None = None,
                  limits=None, config: Mapping[str, Any] | None = None) -> ImportResult:
    """Validate the whole file, then write it; raise ImportRefused before any write.

    ``config`` is the settings in force (file limits and check thresholds; the defaults without it);
    ``limits`` overrides its file limits.

    A person (``who`` with a user id) must be given as ``user`` and may import only with Action.EDIT_BUDGET,
    else PermissionError; a process without an account (the CLI at the server's console) may.

    The file is a budgets file (原預算數 …) or, when it has a 月份 column, a month-end file (累計分配數 …).
    progress(n) is called with the number of rows written, every 1,000 rows and at the end. The caller commits.

    With ``dry_run`` nothing is written (no figures, no history, no audit): the result says what would change.
    Otherwise the import is recorded in the history (LedgerImport and its changes) in the same transaction.
    ``before_write(result)`` is called with the planned result before anything is written; it may raise.
    """
    if who.user_id is not None and (user is None or user.id != who.user_id):
        raise PermissionError("the person importing must be the one audited")
    check_may(session, who, Action.EDIT_BUDGET)
    if limits is None and config is not None:
        from tracker.services import ledger_files
        limits = ledger_files.limits_from(config)
    header, records = read_table(filename, data, limits, is_header)
    if not header:
        raise ImportRefused([RowProblem(None, None, "檔案是空的")])
    kind, columns, problems = _columns(header)
    if problems:
        raise ImportRefused(problems)
    if not records:
        raise ImportRefused([RowProblem(None, None, "檔案只有標題列，沒有資料")])
    checker = _Checker(session, kind, columns, header, config)
    if kind == "month_end":
        # a month-end row whose amounts are all blank has not been reported (a template row left unfilled):
        # it is left out, with a warning, rather than imported as zeros
        blank = [number for number, cells in records
                 if all(not checker._cell(cells, field) for field in MONTH_END_AMOUNTS)]
        checker.warnings.extend(RowProblem(number, None, "本列金額皆空白，視為未報，未匯入") for number in blank)
        records = [(number, cells) for number, cells in records if number not in set(blank)]
        if not records:
            raise ImportRefused([RowProblem(None, None, "每一列的金額都是空白，沒有可匯入的數字")])
    rows = [checker.parse(number, cells) for number, cells in records]
    checker.check_open_years(rows)
    checker.check_duplicates(rows)
    checker.check_double_counting(rows)
    if kind == "month_end":
        checker.check_allocation(rows)
        checker.check_months(rows)
    else:
        checker.check_budget_floor(rows)
    if checker.problems:
        raise ImportRefused(checker.problems)
    assert all(row.is_valid(kind) for row in rows)  # every refused cell left a problem
    changes, existing = _plan(session, kind, rows, lock=not dry_run)
    latest = max(((row.year, row.month) for row in rows), default=None) if kind == "month_end" else None
    result = ImportResult(
        kind=kind, rows=len(rows), created=sum(c.action == "create" for c in changes),
        replaced=sum(c.action == "replace" for c in changes), unchanged=sum(c.action == "unchanged" for c in changes),
        latest_month=latest, changes=changes, warnings=list(getattr(checker, "warnings", [])),
        is_correction=bool(getattr(checker, "is_correction", False)), dry_run=dry_run)
    if before_write is not None:
        before_write(result)
    if dry_run:
        return result
    from tracker.services import ledger_history  # it imports this module

    entry = ledger_history.start_import(session, who, filename, data, result)
    result.import_id = entry.id
    _write(session, kind, changes, existing, who, progress)
    ledger_history.record_changes(session, entry, changes)
    audit.record(session, who, "ledger.import", "ledger", (filename or "")[:_ENTITY_ID_LENGTH], {
        "kind": result.kind, "rows": result.rows, "created": result.created,
        "replaced": result.replaced, "unchanged": result.unchanged, "import_id": entry.id,
        **({"is_correction": True} if result.is_correction else {}),
    })
    session.flush()
    return result
