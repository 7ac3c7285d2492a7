"""`kaoping responsibilities …` (kaoping/cli/responsibilities.py)."""

from __future__ import annotations

from tests.cli.conftest import refused
from tests.conftest import write


def test_show_the_default_rule(initialized):
    result = initialized("responsibilities", "show", "--year", "2022")
    assert result.exit_code == 0 and "默认规则" in result.output and "项（单位 × 指标）" in result.output


def test_import_for_a_year_without_catalog_is_refused(initialized, tmp_path):
    path = write(tmp_path / "resp.csv", "单位,指标\n东河区,1\n")
    assert refused(initialized("responsibilities", "import", path, "--year", "2031"), "2031 年的考评指标尚未导入")
