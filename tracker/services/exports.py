"""Export files: what the execution table shows, as CSV (UTF-8 with BOM, opens in Excel) or XLSX.

Files an officer can open and pass on safely:
- every text cell is text: a name beginning with =, +, -, @, a tab or a carriage return is written with a leading
  apostrophe in the CSV (Excel's own sign for "this is text") and as an explicit string cell, marked as quoted,
  in the XLSX, so no formula can start in a cell;
- the CSV writes amounts without trailing zeros (823000.000 → 823000; 12.500 → 12.5) and rates with two decimals;
- the XLSX has thousands separators on amounts, two-decimal percents, column widths and a frozen header;
- rows by project carry the plan code (計畫編號) users see, never the internal id.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from tracker.services import execution

#: The formats the execution table can be downloaded in.
FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: The first characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The heading of the plan code column (rows by project).
CODE_HEADING = "計畫編號"
#: XLSX number formats: amounts in 千元 with thousands separators (decimals only where there are any),
#: and rates, already percentages, with two decimals.
WHOLE_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.###"
PERCENT_FORMAT = '0.00"%"'
#: Rows above the data: the note line and the headings (frozen in the XLSX).
HEADER_ROWS = 2


@dataclass(frozen=True)
class ExportFile:
    """A file to download: its name, media type and bytes."""

    name: str
    mimetype: str
    body: bytes


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would read this text as the start of a formula."""
    return text.startswith(FORMULA_STARTS)


def csv_text(text: str) -> str:
    """Text for a CSV cell: with a leading apostrophe when a spreadsheet would read it as a formula."""
    return "'" + text if is_formula_like(text) else text


def plain_amount(value: Decimal) -> str:
    """An amount for the CSV, without trailing zeros or an exponent: 823000.000 → 823000, 12.500 → 12.5."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


@dataclass(frozen=True)
class _Column:
    heading: str
    kind: str  # "code", "key", "amount", "rate" or "text"


def _columns(by: str) -> list[_Column]:
    """The columns of the file: the table's, the plan code first when rows are projects, and the coverage last."""
    columns = [_Column(CODE_HEADING, "code")] if by == "project" else []
    for key, label in execution.COLUMNS:
        kind = "key" if key == "key" else ("rate" if key in execution.RATE_COLUMNS else "amount")
        columns.append(_Column(label, kind))
    return columns + [_Column("數字月份", "text"), _Column("已報／計畫數", "text")]


def _lines(report: execution.ExecutionReport, rows: list[execution.ExecutionRow]) -> list[list]:
    """The values of each row (and the total), in the order of the columns."""
    keys = [key for key, _ in execution.COLUMNS]

    def line(row: execution.ExecutionRow, label: str | None = None) -> list:
        values = execution.row_values(row)
        month = "未報" if row.figures_month is None else f"{row.figures_month}月"
        out = [row.code or ""] if report.by == "project" else []
        out += [label if (k == "key" and label) else values[k] for k in keys]
        return out + [month, f"{row.reported}／{row.projects}"]

    lines = [line(r) for r in rows]
    if report.total is not None:
        lines.append(line(report.total, "合計"))
    return lines


def _display_width(text: str) -> int:
    """How many narrow characters a text takes: Chinese characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _widths(columns: list[_Column], lines: list[list]) -> list[float]:
    """Column widths (in characters) that fit the headings and values, names capped so the sheet stays readable."""
    widths = []
    for i, column in enumerate(columns):
        longest = max([_display_width(column.heading)] + [
            _display_width(v if isinstance(v, str) else f"{v:,.3f}") for v in (line[i] for line in lines)
            if v is not None])
        cap = 60 if column.kind == "key" else 24
        widths.append(float(min(cap, max(8, longest + 2))))
    return widths


def execution_file(report: execution.ExecutionReport, rows: list[execution.ExecutionRow], fmt: str) -> ExportFile:
    """The execution table's rows (and total) with a note line and the headings, as a CSV or XLSX file."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    columns = _columns(report.by)
    lines = _lines(report, rows)
    note = (f"{report.year_roc}年度 {execution.KIND_LABELS[report.kind]} 截至 {report.month or '—'} 月；單位：新臺幣千元"
            + ("；模擬資料（非實際數字）" if report.is_synthetic else ""))
    name = f"execution-{report.year_roc}-{report.month or 0:02d}-{report.by}.{fmt}"
    body = _csv(note, columns, lines) if fmt == "csv" else _xlsx(note, columns, lines)
    return ExportFile(name=name, mimetype=MIMETYPES[fmt], body=body)


def _csv(note: str, columns: list[_Column], lines: list[list]) -> bytes:
    def cell(value, column: _Column) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return csv_text(value)
        if column.kind == "amount":
            return plain_amount(Decimal(value))
        return str(value)  # rates: already rounded to two decimals

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_text(note)])
    writer.writerow([csv_text(c.heading) for c in columns])
    for line in lines:
        writer.writerow([cell(v, c) for v, c in zip(line, columns)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx(note: str, columns: list[_Column], lines: list[list]) -> bytes:
    # only when asked for: most requests never export
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("執行情形")
    bold = Font(bold=True)

    def text(value: str, **style) -> WriteOnlyCell:
        # An explicit string cell: openpyxl would otherwise make 「=…」 a live formula. Marked as quoted too, as
        # Excel marks text typed after an apostrophe, so editing the cell keeps it text.
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        if is_formula_like(value):
            cell.quotePrefix = True
        for key, v in style.items():
            setattr(cell, key, v)
        return cell

    def value_cell(value, column: _Column) -> WriteOnlyCell | None:
        if value is None:
            return None
        if isinstance(value, str):
            return text(value)
        number = Decimal(value)
        cell = WriteOnlyCell(sheet, value=int(number) if number == number.to_integral_value() else float(number))
        if column.kind == "rate":
            cell.number_format = PERCENT_FORMAT
        else:
            cell.number_format = WHOLE_FORMAT if number == number.to_integral_value() else DECIMAL_FORMAT
        return cell

    # Sheet settings come before the rows in write-only mode.
    for i, width in enumerate(_widths(columns, lines), start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    # The note and headings stay in view, and so do the code and name of each row.
    key_column = next(i for i, c in enumerate(columns, start=1) if c.kind == "key")
    sheet.freeze_panes = f"{get_column_letter(key_column + 1)}{HEADER_ROWS + 1}"
    sheet.append([text(note, font=bold)])
    sheet.append([text(c.heading, font=bold, alignment=Alignment(wrap_text=True, vertical="center"))
                  for c in columns])
    for line in lines:
        sheet.append([value_cell(v, c) for v, c in zip(line, columns)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
