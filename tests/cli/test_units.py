"""`kaoping units …` (kaoping/cli/units.py)."""

from __future__ import annotations

from tests.cli.conftest import refused
from tests.conftest import write


def test_list_a_group(initialized):
    result = initialized("units", "list", "--group", "district")
    assert result.exit_code == 0 and "东河区" in result.output and "市工信局" not in result.output


def test_unknown_group_and_missing_file_are_refused(initialized, tmp_path):
    assert refused(initialized("units", "list", "--group", "nowhere"), "分组“nowhere”无效")
    assert refused(initialized("units", "import", tmp_path / "nope.yaml"), "找不到文件")


def test_import_says_what_changed(initialized, tmp_path):
    path = write(tmp_path / "units.csv", "代码,全称,简称,类别,别名,联络员,联络员邮箱,负责人,负责人邮箱\n"
                 "dsj,包头市大数据中心,市大数据中心,部门,大数据中心,张三,zhangsan@dsj.baotou.example,李四,lisi@dsj.baotou.example\n")
    result = initialized("units", "import", path)
    assert result.exit_code == 0, result.output
    assert "新增 1 个" in result.output and "市大数据中心" in result.output
