"""Writers for report tables: xlsx (XlsxWriter, constant memory) and a zip of UTF-8-with-BOM CSV files."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from core.errors import UserError
from reports.tables import DATE, DATETIME, INT, PERCENT, Table

FORMATS = ("xlsx", "csv")


def output_format(fmt: str | None, out: Path | None, default: str = "xlsx", allowed: Sequence[str] = FORMATS) -> str:
    """The chosen format: --format if given, else the --out suffix, else the default."""
    chosen = (fmt or (out.suffix.lstrip(".").lower() if out is not None and out.suffix else default)).lower()
    if chosen == "zip":
        chosen = "csv"
    if chosen == "markdown":
        chosen = "md"
    if chosen not in allowed:
        raise UserError(f"不支持的格式“{chosen}”：只能是 {'、'.join(allowed)}")
    return chosen


def _check_writable(path: Path) -> None:
    if path.exists() and path.is_dir():
        raise UserError(f"{path} 是一个文件夹，请给出文件名，例如 {path / '统计.xlsx'}")
    if not path.parent.exists():
        raise UserError(f"文件夹 {path.parent} 不存在")


def write_xlsx(tables: Sequence[Table], path: Path, *, title: str = "") -> Path:
    """One sheet per table: bold Chinese headers, frozen header row, set widths, dates formatted, charts."""
    _check_writable(path)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "remove_timezone": True})
    workbook.set_properties({"title": title, "author": "普法助手", "comments": "不含个人身份信息"})
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                  "valign": "vcenter"})
    formats = {
        DATE: workbook.add_format({"num_format": "yyyy-mm-dd"}),
        DATETIME: workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        INT: workbook.add_format({"num_format": "0"}),
        PERCENT: workbook.add_format({"num_format": "0.0%"}),
    }
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    try:
        sheets = []
        for table in tables:  # sheets appear in this order; rows are written stream_first tables first
            sheet = workbook.add_worksheet(table.name[:31])
            for index, column in enumerate(table.columns):
                last = index == len(table.columns) - 1
                sheet.set_column(index, index, column.width, wrap if (last and table.wrap_last) else None)
            sheet.freeze_panes(1, 0)
            sheet.set_row(0, 20)
            for index, column in enumerate(table.columns):
                sheet.write_string(0, index, column.header, header)
            sheets.append((table, sheet))
        for table, sheet in sorted(sheets, key=lambda pair: not pair[0].stream_first):
            row_number = 0
            for row_number, row in enumerate(table.iter_rows(), start=1):
                for index, value in enumerate(row):
                    _write_cell(sheet, row_number, index, value, table, formats, wrap)
            if table.chart is not None and table.chart.first_rows > 0:
                _add_chart(workbook, sheet, table)
            if row_number == 0:
                sheet.write_string(1, 0, "（无）")
    finally:
        try:
            workbook.close()
        except xlsxwriter.exceptions.FileCreateError as exc:
            raise UserError(f"无法写入文件 {path}：{exc.args[0] if exc.args else '权限不足或文件被占用'}") from None
    return path


def _write_cell(sheet: Any, row: int, col: int, value: Any, table: Table, formats: dict[str, Any], wrap: Any) -> None:
    kind = table.columns[col].kind if col < len(table.columns) else "text"
    if value is None:
        return
    if isinstance(value, datetime):
        sheet.write_datetime(row, col, value, formats[DATETIME])
    elif isinstance(value, date):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), formats[DATE])  # noqa: DTZ001
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value, formats.get(kind))
    else:
        last = col == len(table.columns) - 1
        sheet.write_string(row, col, str(value), wrap if (last and table.wrap_last) else None)


def _add_chart(workbook: Any, sheet: Any, table: Table) -> None:
    spec = table.chart
    assert spec is not None
    chart = workbook.add_chart({"type": "column"})
    first, last = 1, spec.first_rows
    for col in spec.value_cols:
        chart.add_series({
            "name": [sheet.name, 0, col],
            "categories": [sheet.name, first, spec.category_col, last, spec.category_col],
            "values": [sheet.name, first, col, last, col],
        })
    chart.set_title({"name": spec.title})
    chart.set_x_axis({"date_axis": False, "num_format": "m-d"})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 760, "height": 360})
    anchor = xl_rowcol_to_cell(1, len(table.columns) + 1)
    sheet.insert_chart(anchor, chart)


def _csv_value(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if kind == PERCENT and isinstance(value, float):
        return f"{value * 100:.1f}%"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_csv_zip(tables: Sequence[Table], path: Path) -> Path:
    """A zip holding one CSV per table, UTF-8 with BOM so Excel on Windows shows the Chinese correctly."""
    _check_writable(path)
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for number, table in enumerate(tables, start=1):
                info = zipfile.ZipInfo(f"{number}-{table.name}.csv", date_time=time.localtime()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w") as raw:
                    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                    writer = csv.writer(text)
                    kinds = [c.kind for c in table.columns]
                    writer.writerow([c.header for c in table.columns])
                    for row in table.iter_rows():
                        writer.writerow([_csv_value(v, kinds[i] if i < len(kinds) else "text")
                                         for i, v in enumerate(row)])
                    text.flush()
                    text.detach()
    except OSError as exc:
        raise UserError(f"无法写入文件 {path}：{exc.strerror or exc}") from None
    return path
