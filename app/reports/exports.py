"""Exports of a yearly report: CSV (UTF-8 with BOM, so Excel opens the Chinese) and XLSX."""

from __future__ import annotations

import csv
import io
from typing import Any

from app.core.cells import safe_cell
from app.reports.service import FIGURE_ZH, FIGURES

COLUMNS: tuple[tuple[str, str], ...] = (
    ("code", "部门代码"), ("name", "部门名称"), ("region_name", "行政区划"),
    *((name, FIGURE_ZH[name]) for name in FIGURES[:11]), ("on_time_rate", FIGURE_ZH["on_time_rate"]),
    *((name, FIGURE_ZH[name]) for name in FIGURES[11:]),
)


def rows(report: dict[str, Any]) -> list[list[Any]]:
    """Return the table: one row per department, then the level's totals."""
    out = []
    for dept in report["departments"]:
        base = {"code": dept["code"], "name": dept["name"], "region_name": dept["region_name"], **dept["figures"]}
        out.append([safe_cell(base.get(key, "")) if base.get(key) is not None else "" for key, _ in COLUMNS])
    totals = {"code": "", "name": "合计", "region_name": report["region_name"], **report["totals"]}
    out.append([totals.get(key) if totals.get(key) is not None else "" for key, _ in COLUMNS])
    return out


def filename(report: dict[str, Any], ext: str) -> str:
    """Return an ASCII file name for the download (year and region code)."""
    return f"yearly-report-{report['year']}-{report['region_code']}.{ext}"


def to_csv(report: dict[str, Any]) -> bytes:
    """Write the report's table as CSV, UTF-8 with BOM."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([f"{report['region_name']} {report['year']} 年度政务数据共享评估"])
    writer.writerow([h for _, h in COLUMNS])
    writer.writerows(rows(report))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(report: dict[str, Any], opinions: str | None = None) -> bytes:
    """Write the report as an XLSX workbook: the figures sheet, and the improvement opinions if published."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font, PatternFill

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "年度评估"
    sheet.append([f"{report['region_name']} {report['year']} 年度政务数据共享评估"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([h for _, h in COLUMNS])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for row in rows(report):
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 28
    sheet.freeze_panes = "D3"
    if opinions:
        notes = workbook.create_sheet("改进意见")
        notes.append(["改进意见"])
        for line in opinions.splitlines():
            notes.append([ILLEGAL_CHARACTERS_RE.sub("", safe_cell(line))])
        notes.column_dimensions["A"].width = 100
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()
