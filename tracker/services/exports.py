"""Export files: what the execution table shows, as CSV (UTF-8 with BOM, opens in Excel) or XLSX."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from tracker.services import execution

#: The formats the execution table can be downloaded in.
FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ExportFile:
    """A file to download: its name, media type and bytes."""

    name: str
    mimetype: str
    body: bytes


def execution_file(report: execution.ExecutionReport, rows: list[execution.ExecutionRow], fmt: str) -> ExportFile:
    """The execution table's rows (and total) with a note line and the headings, as a CSV or XLSX file."""
    headings = [label for _, label in execution.COLUMNS] + ["數字月份", "已報／計畫數"]
    keys = [key for key, _ in execution.COLUMNS]

    def coverage(row: execution.ExecutionRow) -> list:
        """The month the row's figures are from (未報 when none) and how many of its projects reported the month."""
        month = "未報" if row.figures_month is None else f"{row.figures_month}月"
        return [month, f"{row.reported}／{row.projects}"]

    lines = [[execution.row_values(r)[k] for k in keys] + coverage(r) for r in rows]
    if report.total is not None:
        lines.append([execution.row_values(report.total)[k] if k != "key" else "合計" for k in keys]
                     + coverage(report.total))
    note = (f"{report.year_roc}年度 {execution.KIND_LABELS[report.kind]} 截至 {report.month or '—'} 月；單位：新臺幣千元"
            + ("；模擬資料（非實際數字）" if report.is_synthetic else ""))
    name = f"execution-{report.year_roc}-{report.month or 0:02d}-{report.by}.{fmt}"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([note])
        writer.writerow(headings)
        for line in lines:
            writer.writerow(["" if v is None else v for v in line])
        body = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    elif fmt == "xlsx":
        from openpyxl import Workbook  # only when asked for: most requests never export

        book = Workbook(write_only=True)
        sheet = book.create_sheet("執行情形")
        sheet.append([note])
        sheet.append(headings)
        for line in lines:
            sheet.append([float(v) if v is not None and not isinstance(v, str) else v for v in line])
        out = io.BytesIO()
        book.save(out)
        body = out.getvalue()
    else:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    return ExportFile(name=name, mimetype=MIMETYPES[fmt], body=body)
