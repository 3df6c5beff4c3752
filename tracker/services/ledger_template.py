"""A blank ledger file for a year (and month): every programme that runs that year, by plan code and name, with
the headings the importer reads, so a filled template imports as it is."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from tracker.domain.labels import KIND_LABELS
from tracker.models import Budget, MonthEnd, Project
from tracker.services import ledger_import, plan_years

KINDS = ("budgets", "month_end")
FORMATS = ("csv", "xlsx")
#: The kind templates are filled for: 資本門 (the capital budget the KPI and the alerts judge).
FIGURE_KIND = "capital"


class TemplateError(ValueError):
    """A template that cannot be made (bad kind, year or month); the message is in Chinese."""


def kind_of(text: str) -> str:
    """budgets, month-end or month_end as the importer's kind."""
    kind = (text or "").strip().lower().replace("-", "_")
    if kind not in KINDS:
        raise TemplateError(f"範本種類須為 budgets（預算）或 month-end（月報），收到「{text}」")
    return kind


def _fields(kind: str) -> list[str]:
    """The template's columns, in the importer's order: the plan code first when the importer reads it."""
    wanted = set(ledger_import._KEY_FIELDS[kind]) | set(ledger_import._AMOUNTS[kind])
    if ledger_import._HEADER_FIELDS.get("計畫編號") not in (None, "project"):
        wanted.add(ledger_import._HEADER_FIELDS["計畫編號"])
    fields = [field for field in ledger_import._COLUMNS if field in wanted]
    code_field = ledger_import._HEADER_FIELDS.get("計畫編號")
    if code_field in fields:
        fields.remove(code_field)
        fields.insert(0, code_field)
    return fields


@dataclass(frozen=True)
class Template:
    """The rows of a template: header (Chinese headings) and one row per programme."""

    kind: str
    year: int
    month: int | None
    header: list[str]
    rows: list[list]

    @property
    def filename_stem(self) -> str:
        return f"{self.year}年度預算範本" if self.kind == "budgets" else f"{self.year}年{self.month}月月報範本"


def build(session: so.Session, kind: str, year: int, month: int | None = None) -> Template:
    """Every programme running in ``year`` (its sub-plans instead, where a sub-plan of it has figures that year),
    pre-filled with the stored amounts where there are some; a month-end template lists those with a capital
    budget for the year, when any has one. A row left blank is not imported (see ledger_import)."""
    if kind == "month_end" and (month is None or not 1 <= month <= 12):
        raise TemplateError("月報範本須指定月份（1 至 12）")
    if kind == "budgets":
        month = None
    entries = plan_years.entries_of_year(session, year)
    if entries:  # the year's plan lists its programmes, numbered and named as that year writes them
        projects = sorted(session.scalars(sa.select(Project).where(Project.id.in_(list(entries)))),
                          key=lambda p: (entries[p.id].seq, p.id))
    else:
        runs = sa.and_(Project.first_year_roc <= year, Project.last_year_roc >= year)
        projects = list(session.scalars(sa.select(Project).where(runs).order_by(Project.seq, Project.id)))
    with_figures = set(session.scalars(sa.select(Budget.project_id).where(
        Budget.year_roc == year, Budget.is_synthetic.is_(False)))) | set(session.scalars(
            sa.select(MonthEnd.project_id).where(MonthEnd.year_roc == year, MonthEnd.is_synthetic.is_(False))))
    children: dict[int, list[Project]] = {}
    for project in projects:
        if project.parent_id is not None:
            children.setdefault(project.parent_id, []).append(project)
    listed: list[Project] = []
    for project in projects:
        if project.parent_id is not None:
            continue
        subs = children.get(project.id, [])
        if any(sub.id in with_figures for sub in subs):
            listed.extend(subs)
        else:
            listed.append(project)
    if kind == "month_end":
        # month-end figures are for what has a budget: list those when any has one (a fresh year lists all)
        budgeted = set(session.scalars(sa.select(Budget.project_id).where(
            Budget.year_roc == year, Budget.kind == FIGURE_KIND, Budget.is_synthetic.is_(False))))
        if budgeted:
            listed = [p for p in listed if p.id in budgeted]
    table = MonthEnd if kind == "month_end" else Budget
    query = sa.select(table).where(table.year_roc == year, table.kind == FIGURE_KIND, table.is_synthetic.is_(False),
                                   table.project_id.in_([p.id for p in listed] or [0]))
    if kind == "month_end":
        query = query.where(MonthEnd.month == month)
    stored = {record.project_id: record for record in session.scalars(query)}
    fields = _fields(kind)
    header = [ledger_import._COLUMNS[field][0] for field in fields]
    rows = []
    for project in listed:
        record = stored.get(project.id)
        shown = entries.get(project.id, project)
        values = {"code": shown.code or "", "project": shown.name, "year": year, "month": month,
                  "kind": KIND_LABELS[FIGURE_KIND]}
        rows.append([values[field] if field in values else
                     (None if record is None else Decimal(getattr(record, field)).normalize())
                     for field in fields])
    return Template(kind=kind, year=year, month=month, header=header, rows=rows)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _cell(value):
    """An amount as a number Excel shows (whole thousands as integers), anything else as it is."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral() else float(value)
    return value


def to_csv(template: Template) -> bytes:
    """UTF-8 with a BOM, as Excel opens it."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(template.header)
    writer.writerows([[_text(value) for value in row] for row in template.rows])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(template: Template) -> bytes:
    """One sheet, header frozen, codes and names as text, amounts with thousands separators."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "預算" if template.kind == "budgets" else "月報"
    sheet.append(template.header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    amount_columns = {i for i, name in enumerate(template.header)
                      if ledger_import._HEADER_FIELDS.get(name) in ledger_import._AMOUNTS[template.kind]}
    for row in template.rows:
        sheet.append([_cell(value) for value in row])
    for index, name in enumerate(template.header, start=1):
        letter = get_column_letter(index)
        field = ledger_import._HEADER_FIELDS.get(name)
        width = 60 if field == "project" else max(10, len(name) * 2 + 2)
        sheet.column_dimensions[letter].width = width
        for cell in sheet[letter][1:]:
            if index - 1 in amount_columns:
                cell.number_format = "#,##0.###"
            elif field in ("code", "project", "kind"):
                cell.number_format = "@"
                if cell.value is not None:
                    cell.value = str(cell.value)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    workbook.close()
    return out.getvalue()


def render(template: Template, fmt: str) -> bytes:
    if fmt == "xlsx":
        return to_xlsx(template)
    if fmt == "csv":
        return to_csv(template)
    raise TemplateError(f"範本格式須為 csv 或 xlsx，收到「{fmt}」")
