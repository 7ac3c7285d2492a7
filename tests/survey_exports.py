"""Survey-platform exports as the platforms write them, for the opinion import tests.

问卷星 (wjx.cn) "按选项文本下载": one row per respondent, its own platform columns first, the
questions as asked ("1、您评价的单位是？"), choices as text, "(跳过)" for a skipped question;
its CSV is GBK by default. 腾讯问卷: 编号, start and end times, 答题时长, then "Q1. …", a
1–5 rating as a number; its CSV is UTF-8 with a BOM. Both also download as .xlsx.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

WJX_HEADERS = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、您评价的单位是？",
               "2、您对该单位数字政府服务的总体满意度", "3、您对该单位数字政府建设有什么意见和建议？"]
TENCENT_HEADERS = ["编号", "开始答题时间", "结束答题时间", "答题时长", "Q1. 您评价的单位是", "Q2. 总体满意度（1-5分）",
                   "Q3. 其他意见（选填）"]

# (unit as the respondent chose it, rating as exported): 东河区 5, 4, 4, 3 → mean 4 → 75.00;
# 达茂旗 (an alias of 达尔罕茂明安联合旗) 5, 5, 4 → 14/3 → 91.67; one 东河区 answer skipped.
ANSWERS = [("东河区", "非常满意"), ("东河区", "满意"), ("达茂旗", "非常满意"), ("东河区", "满意"),
           ("达茂旗", "很满意"), ("东河区", "(跳过)"), ("东河区", "一般"), ("达茂旗", "满意")]
EXPECTED = {"东河区": "75.00", "达尔罕茂明安联合旗": "91.67"}
RATING_OF = {"非常满意": "5", "很满意": "5", "满意": "4", "一般": "3", "(跳过)": ""}


def wjx_rows(answers=ANSWERS) -> list[list]:
    rows = [list(WJX_HEADERS)]
    for n, (unit, rating) in enumerate(answers, start=1):
        rows.append([n, f"2022/6/{10 + n} 10:{n:02d}:25", f"{30 + n}秒", "手机提交", "微信", f"111.121.5.{n}(内蒙古-包头)",
                     unit, rating, "希望进一步提高网上办事效率" if n % 3 == 0 else "(跳过)"])
    return rows


def tencent_rows(answers=ANSWERS) -> list[list]:
    rows = [list(TENCENT_HEADERS)]
    for n, (unit, rating) in enumerate(answers, start=1):
        rows.append([n, f"2022-06-{10 + n} 10:{n:02d}:01", f"2022-06-{10 + n} 10:{n:02d}:40", f"{39}秒", unit,
                     RATING_OF[rating], ""])
    return rows


def write_csv(path: Path, rows: list[list], *, encoding: str) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list], *, sheet: str = "Sheet1") -> Path:
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    workbook.save(path)
    return path
