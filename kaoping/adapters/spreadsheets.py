"""Spreadsheets as offices send them: CSV (UTF-8 or GBK, with or without BOM) or XLSX,
perhaps with a title row above the header, merged header cells, full-width digits,
trailing spaces, "95%" or "85分". Rows come back as dicts keyed by our column names,
each with the spreadsheet row number people see, for messages.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from kaoping.adapters.uploads import Upload, check_office_zip
from kaoping.domain.errors import InvalidInput
from kaoping.domain.text import decode_text, fold

HEADER_WORDS: dict[str, set[str]] = {
    "unit": {"unit", "单位", "单位名称", "考评对象", "被考评单位"},
    "indicator": {"indicator", "指标", "指标编号", "编号", "指标序号"},
    "lead": {"lead", "牵头考核单位", "牵头单位", "考核单位"},
    "score": {"score", "得分", "分数", "评分", "得分(0-100)"},
    "note": {"note", "说明", "扣分说明", "备注", "评分说明"},
    "respondents": {"respondents", "样本数", "有效样本", "受访人数", "参与人数"},
    "satisfied": {"satisfied", "满意率", "满意度", "满意比例"},
    "rating": {"rating", "评分等级", "满意程度", "满意度评价"},
}


@dataclass
class Row:
    line: int  # row number as shown in the spreadsheet (header is line 1 of a CSV)
    values: dict[str, str]


def _canonical(header: str) -> str | None:
    key = re.sub(r"\s+", "", fold(header)).lower()
    for name, words in HEADER_WORDS.items():
        if key in {w.lower() for w in words}:
            return name
    return None


def _rows_from_matrix(matrix: list[list[str]], *, source: str, first_line: int = 1) -> tuple[list[str], list[Row]]:
    """Find the header row (the first with a 单位/unit column, within the first 10 rows)."""
    for index, raw in enumerate(matrix[:10]):
        names = [_canonical(c) for c in raw]
        if "unit" in names:
            break
    else:
        raise InvalidInput(
            f"文件 {source} 中没有找到表头行：表头应包含“单位”列（以及“得分”等列），例如：单位,指标,牵头考核单位,得分,说明。"
        )
    columns: dict[int, str] = {}
    for col, name in enumerate(names):
        if name is None:
            continue
        if name in columns.values():
            raise InvalidInput(f"文件 {source} 的表头中“{raw[col]}”列重复出现：每种列只能有一列。")
        columns[col] = name
    rows: list[Row] = []
    for offset, raw in enumerate(matrix[index + 1:], start=index + 1):
        values = {name: fold(raw[col]) if col < len(raw) and raw[col] is not None else "" for col, name in columns.items()}
        if not any(values.values()):
            continue
        if _canonical(values["unit"]) == "unit":
            continue  # the second row of a two-row (merged) header
        rows.append(Row(first_line + offset, values))
    return sorted(set(columns.values())), rows


def read_table(upload: Upload) -> tuple[list[str], list[Row]]:
    """The columns found and the non-empty rows of a CSV or XLSX file."""
    return _rows_from_matrix(read_matrix(upload), source=upload.name)


def read_matrix(upload: Upload) -> list[list[str]]:
    """Every row of a CSV (UTF-8 with or without BOM, or GB18030/GBK) or of the first sheet of an
    XLSX file, as the texts people see, row 1 first."""
    if upload.suffix == ".csv":
        try:
            text = decode_text(upload.data)
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"文件 {upload.name} 不是 CSV 文本文件：请在 Excel/WPS 中“另存为” CSV（UTF-8）或 .xlsx。") from exc
        return [row for row in csv.reader(io.StringIO(text))]
    if upload.suffix in (".xlsx", ".xlsm", ".xls"):
        check_office_zip(upload, kind="xlsx")
        import openpyxl

        try:
            workbook = openpyxl.load_workbook(io.BytesIO(upload.data), read_only=False, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for broken files
            raise InvalidInput(f"无法读取 Excel 文件 {upload.name}（{exc.__class__.__name__}）：请用 Excel/WPS 打开后重新保存。") from exc
        sheet = workbook.worksheets[0]
        _refuse_formulas_without_values(upload, sheet)
        # Merged cells (a title across the top, a header spanning two rows) read as the
        # value of their top-left cell everywhere they cover.
        merged_values = {}
        for merged in sheet.merged_cells.ranges:
            top_left = sheet.cell(merged.min_row, merged.min_col)
            for row in range(merged.min_row, merged.max_row + 1):
                for col in range(merged.min_col, merged.max_col + 1):
                    merged_values[(row, col)] = (top_left.value, top_left.number_format)
        matrix = []
        for r, row in enumerate(sheet.iter_rows(), start=1):
            matrix.append([
                _cell_text(*merged_values[(r, c)]) if (r, c) in merged_values else _cell_text(cell.value, cell.number_format)
                for c, cell in enumerate(row, start=1)
            ])
        return matrix
    raise InvalidInput(f"不支持的文件类型 {upload.suffix or '（无扩展名）'}：请提供 .csv 或 .xlsx 文件。")


FORMULA_WITHOUT_VALUE = "公式单元格没有计算结果，请在 Excel/WPS 中保存后重新发送"


def _refuse_formulas_without_values(upload: Upload, values_sheet) -> None:
    """A formula cell whose result was never saved (a file written by a program, not by Excel/WPS)
    reads as empty: refuse it, naming the cells, instead of reading a blank or "None"."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    if not _has_formulas(upload):
        return  # a survey platform's export: no second pass over thousands of rows
    formulas = openpyxl.load_workbook(io.BytesIO(upload.data), read_only=True, data_only=False)
    try:
        missing = []
        for row in formulas.worksheets[0].iter_rows():
            for cell in row:
                if getattr(cell, "data_type", None) == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")):
                    if values_sheet.cell(cell.row, cell.column).value is None:
                        missing.append(f"{get_column_letter(cell.column)}{cell.row}")
    finally:
        formulas.close()
    if missing:
        shown = "、".join(missing[:10]) + (f" 等 {len(missing)} 个" if len(missing) > 10 else "")
        raise InvalidInput(f"文件 {upload.name} 的单元格 {shown}：{FORMULA_WITHOUT_VALUE}。 / Formula cells without a saved value.")


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _has_formulas(upload: Upload) -> bool:
    """Whether any worksheet of the workbook holds a formula cell (an ``<f>`` element)."""
    with zipfile.ZipFile(io.BytesIO(upload.data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(name) as part:
                    tail = b""
                    while chunk := part.read(1 << 20):
                        if _FORMULA_TAG.search(tail + chunk):
                            return True
                        tail = chunk[-16:]
    return False


def _cell_text(value, number_format: str = "General") -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "%" in (number_format or "") and math.isfinite(value):
        # A cell formatted as a percentage shows 95% and stores 0.95: read what people see.
        percent = (Decimal(repr(float(value))) * 100).normalize()
        return f"{percent:f}%"
    if isinstance(value, float):
        if not math.isfinite(value):  # <v>1e400</v>: beyond any number a person types; read as text, refused as a score
            return "（超出范围的数值）"
        # Excel stores 85.5 as a binary float; its shortest repr is what the person typed.
        return repr(value).removesuffix(".0") if value == int(value) else repr(value)
    return str(value)


def parse_score(text: str, *, percent_ok: bool = False) -> Decimal:
    """"８５", " 85 ", "85分", "85.5" → Decimal; "95%" too where a 0–100 score is meant."""
    cleaned = fold(text).replace(" ", "").removesuffix("分")
    if percent_ok and cleaned.endswith("%"):
        cleaned = cleaned[:-1]
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value
