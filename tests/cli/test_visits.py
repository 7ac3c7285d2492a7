"""`kaoping visits …`, `kaoping opinion import`, `kaoping thirdparty …` (kaoping/cli/visits.py)."""

from __future__ import annotations

from tests.cli.conftest import refused
from tests.conftest import write


def test_thirdparty_request_queues_the_evaluator_s_message(opened):
    result = opened("thirdparty", "request", "--cycle", "2022H1", "--deadline", "2022-07-10")
    assert result.exit_code == 0, result.output
    assert "已将 1 份第三方评估结果表放入发件箱：新邮件 1 封" in result.output


def test_opinion_import_of_a_summary_sheet(opened, tmp_path):
    path = write(tmp_path / "opinion.csv", "单位,得分\n东河区,90\n")
    result = opened("opinion", "import", path, "--cycle", "2022H1", "--source", "政府网站调查")
    assert result.exit_code == 0, result.output
    assert "政府网站调查" in result.output and "不在此文件中" in result.output


def test_bad_dates_and_a_missing_file_are_refused(opened, tmp_path):
    teams = write(tmp_path / "teams.yaml", "teams: []\n")
    plan = opened("visits", "plan", "--cycle", "2022H1", "--from", "6月20日", "--to", "2022-07-01", "--teams", teams)
    assert refused(plan, "开始日期“6月20日”格式不对")
    assert refused(opened("opinion", "import", tmp_path / "nope.xlsx", "--cycle", "2022H1", "--source", "调查"),
                   "找不到文件")
