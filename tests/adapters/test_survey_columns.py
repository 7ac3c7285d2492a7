"""Headers of survey-platform exports recognised by meaning (kaoping/adapters/spreadsheets_columns.py):
no database, the files as 问卷星 and 腾讯问卷 write them."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from kaoping.adapters.spreadsheets_columns import (
    guess_role,
    parse_column_names,
    read_survey,
    recognise,
    stated_scale,
)
from kaoping.adapters.uploads import Upload
from kaoping.domain.errors import InvalidInput
from tests import survey_exports as exports


def mapping(table) -> dict[str, str]:
    return {role: column.letter for role, column in table.roles.items()}


@pytest.mark.parametrize("header, role", [
    ("1、您评价的单位是？", "unit"),  # 评价 and 单位: the head noun (last) decides
    ("2、您对该单位数字政府服务的总体满意度", "rating"),  # 单位 then 满意度
    ("Q1. 您评价的单位是", "unit"),
    ("Q2. 总体满意度（1-5分）", "rating"),
    ("第3题：您所在的旗县区（单选）", "unit"),
    ("4. 您对该部门的评价?", "rating"),
    ("请选择您要评价的对象", "unit"),
    ("3、您对该单位数字政府建设有什么意见和建议？", "note"),
    ("满意率", "satisfied"), ("样本数", "respondents"), ("满意度得分", "score"), ("单位", "unit"),
    ("序号", "noise"), ("提交答卷时间", "noise"), ("所用时间", "noise"), ("来源详情", "noise"), ("来自IP", "noise"),
    ("编号", "noise"), ("开始答题时间", "noise"), ("答题时长", "noise"), ("总分", "noise"), ("用户ID", "noise"),
    ("您的年龄段", None),
])
def test_a_header_is_read_for_its_meaning(header, role):
    assert guess_role(header)[0] == role


def test_scale_stated_in_the_rating_header():
    assert stated_scale("Q2. 总体满意度（1-5分）") == (Decimal(1), Decimal(5))
    assert stated_scale("请打分(0~10)") == (Decimal(0), Decimal(10))
    assert stated_scale("满意度（百分制）") == (Decimal(0), Decimal(100))
    assert stated_scale("2、您对该单位数字政府服务的总体满意度") is None


def test_wjx_gbk_csv_and_tencent_xlsx_as_exported(tmp_path):
    wjx = exports.write_csv(tmp_path / "问卷星.csv", exports.wjx_rows(), encoding="gbk")
    data = wjx.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really GBK, as 问卷星 writes it
    table = read_survey(Upload(wjx.name, data))
    assert mapping(table) == {"unit": "G", "rating": "H"} and table.header_line == 1
    assert [r.values for r in table.rows][:2] == [{"unit": "东河区", "rating": "非常满意"}, {"unit": "东河区", "rating": "满意"}]
    ignored = {c.header: c.why for c in table.columns if c.role is None}
    assert ignored["来自IP"] == "平台字段" and "不计分" in ignored["3、您对该单位数字政府建设有什么意见和建议？"]

    tencent = exports.write_xlsx(tmp_path / "腾讯问卷.xlsx", exports.tencent_rows())
    table = read_survey(Upload(tencent.name, tencent.read_bytes()))
    assert mapping(table) == {"unit": "E", "rating": "F"} and table.rating_scale == (Decimal(1), Decimal(5))
    assert len(table.rows) == len(exports.ANSWERS) and table.rows[0].line == 2


def test_header_row_below_a_title_and_a_blank_row():
    matrix = [["2022年上半年数字政府服务满意度调查", "", ""], ["", "", ""], ["序号", "您评价的单位是", "满意程度"],
              ["1", "东河区", "满意"]]
    table = recognise(matrix, source="x.csv")
    assert table.header_line == 3 and mapping(table) == {"unit": "B", "rating": "C"} and table.rows[0].line == 4


def test_two_candidate_unit_columns_are_refused_with_the_preview():
    header = ["序号", "1、您所在的旗县区", "2、您评价的单位是？", "3、总体满意度"]
    with pytest.raises(InvalidInput) as refused:
        recognise([header, ["1", "东河区", "昆区", "满意"]], source="调查.csv")
    text = str(refused.value)
    assert "有 2 列都像“单位”列：B 列“1、您所在的旗县区”、C 列“2、您评价的单位是？”" in text
    assert "A 列“序号” → 忽略（平台字段）" in text and "D 列“3、总体满意度” → 满意度评分" in text
    assert "--columns unit=B,rating=D" in text  # the example uses this file's letters
    named = recognise([header, ["1", "东河区", "昆区", "满意"]], source="调查.csv", named={"unit": "C"})
    assert mapping(named) == {"unit": "C", "rating": "D"} and named.rows[0].values["unit"] == "昆区"
    assert "已用 --columns 指定 unit 为另一列" in named.columns[1].why


def test_no_unit_column_is_refused_and_named_by_header_text_or_number():
    header = ["编号", "您本次办事的窗口", "总体评价"]
    with pytest.raises(InvalidInput) as refused:
        recognise([header, ["1", "东河区", "5"]], source="q.csv")
    assert "没有找到“单位”列" in str(refused.value) and "B 列“您本次办事的窗口” → 忽略（未识别）" in str(refused.value)
    for written in ("您本次办事的窗口", "2", "b", "办事的窗口"):
        assert mapping(recognise([header, ["1", "东河区", "5"]], source="q.csv", named={"unit": written})) == \
            {"unit": "B", "rating": "C"}
    with pytest.raises(InvalidInput, match="--columns unit=被考核单位：第 1 行的表头中没有这一列"):
        recognise([header, ["1", "东河区", "5"]], source="q.csv", named={"unit": "被考核单位"})


def test_column_names_option():
    assert parse_column_names("unit=G, rating＝2、您对该单位数字政府服务的总体满意度") == {
        "unit": "G", "rating": "2、您对该单位数字政府服务的总体满意度"}
    assert parse_column_names("单位=A，满意度=3") == {"unit": "A", "rating": "3"}
    assert parse_column_names(None) == {}
    with pytest.raises(InvalidInput, match="看不懂"):
        parse_column_names("units=A")
    with pytest.raises(InvalidInput, match="出现了两次"):
        parse_column_names("unit=A,unit=B")


def test_csv_in_every_encoding_offices_use(tmp_path):
    rows = exports.wjx_rows()
    for encoding in ("utf-8", "utf-8-sig", "gbk", "gb18030"):
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        table = read_survey(Upload("a.csv", buffer.getvalue().encode(encoding)))
        assert mapping(table) == {"unit": "G", "rating": "H"}, encoding
        assert table.columns[0].header == "序号"  # no BOM left on the first header
